-- The bidder workspace lists a bidder's active bids across trades (GET /api/v1/bids/mine).
CREATE INDEX bids_of_bidder ON bids (bidder_id, status, seq);

-- Small envelopes (up to 64 KiB, the common case) are kept here, committed in the same
-- transaction as their bid row, so one WAL flush makes both durable. Larger envelopes are
-- files under the bid directory. Either way the envelope is encrypted to the committee.
CREATE TABLE bid_envelopes (
    bid_id    TEXT PRIMARY KEY REFERENCES bids(id),
    envelope  BLOB NOT NULL
);

-- Sealed bids. The envelope itself is a file under the bid directory; the row says whose
-- it is and when it arrived. Only the blinded commitment goes to the public log.
CREATE TABLE bids (
    id                  TEXT PRIMARY KEY,
    trade_id            TEXT NOT NULL REFERENCES trades(id),
    bidder_id           TEXT NOT NULL REFERENCES identities(id),
    envelope_sha256     TEXT NOT NULL,
    envelope_len        INTEGER NOT NULL,
    storage_path        TEXT NOT NULL,
    salt                BLOB NOT NULL,
    blinded_commitment  TEXT NOT NULL,
    received_at         INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    -- active | replaced | withdrawn
    status              TEXT NOT NULL
);
CREATE INDEX bids_by_bidder ON bids (trade_id, bidder_id, status);

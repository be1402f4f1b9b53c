-- A live sale's sealed reserve price (底价, ADR 0011): an envelope of the sealed-bid
-- protocol from the seller's side, sealed to the trade's opening committee, kept until
-- the committee opens it at the close. It can be replaced until the sale takes its
-- first step, never after.
CREATE TABLE reserve_prices (
    trade_id        TEXT PRIMARY KEY REFERENCES trades(id),
    id              TEXT NOT NULL,
    identity_id     TEXT NOT NULL,
    envelope        BLOB NOT NULL,
    envelope_sha256 TEXT NOT NULL,
    sealed_at       INTEGER NOT NULL,
    seq             INTEGER NOT NULL
);

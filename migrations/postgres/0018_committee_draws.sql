-- A trade's expert draw (ADR 0013): the request, the seed (the root of the log tree that
-- ends with the opening entry, and that tree's size), the pool as drawn from and the
-- result. The pool and the result stay sealed in the log until the result; the salt of
-- their commitment is kept here for the reveal. One draw per trade.
CREATE TABLE committee_draws (
    trade_id    TEXT PRIMARY KEY REFERENCES trades(id),
    request     TEXT NOT NULL,
    seed_size   BIGINT NOT NULL,
    seed        TEXT NOT NULL,
    pool_sha256 TEXT NOT NULL,
    disclosed   TEXT NOT NULL,
    salt        BYTEA NOT NULL,
    drawn_at    BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);

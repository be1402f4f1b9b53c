-- A live sale's own terms (ADR 0010): listing, auction or dynamic bidding. Times are
-- milliseconds since the epoch, as in trades; money is in 分.
CREATE TABLE trade_live_terms (
    trade_id          TEXT PRIMARY KEY REFERENCES trades(id),
    start_price       INTEGER NOT NULL,
    increment         INTEGER NOT NULL,
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER,
    countdown_seconds INTEGER NOT NULL
);

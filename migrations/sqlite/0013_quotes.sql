-- The quoting engine's state (ADR 0010). One row per live sale: its state
-- (domain::auction::Sale as JSON) and its timer, the instant its next period ends
-- (listing end, freeze end, countdown). A timer fires in the write transaction that
-- advances the state past it, so it fires once.
CREATE TABLE live_sales (
    trade_id    TEXT PRIMARY KEY REFERENCES trades(id),
    state       TEXT NOT NULL,
    next_due_at INTEGER,
    seq         INTEGER NOT NULL
);
CREATE INDEX live_sales_due ON live_sales (next_due_at);

-- Accepted quotes, in log order. A retry with the same client quote id is answered with
-- the stored response.
CREATE TABLE quotes (
    id              TEXT PRIMARY KEY,
    trade_id        TEXT NOT NULL REFERENCES trades(id),
    identity_id     TEXT NOT NULL,
    client_quote_id TEXT NOT NULL,
    bidder_number   TEXT NOT NULL,
    amount          INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    response        TEXT NOT NULL,
    UNIQUE (trade_id, identity_id, client_quote_id)
);
CREATE INDEX quotes_trade ON quotes (trade_id, seq);

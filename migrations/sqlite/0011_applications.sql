-- Applications to live sales (竞买申请, ADR 0010): one per organisation and trade.
CREATE TABLE applications (
    id            TEXT PRIMARY KEY,
    trade_id      TEXT NOT NULL REFERENCES trades(id),
    identity_id   TEXT NOT NULL,
    usci          TEXT NOT NULL,
    organization  TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    payer_name    TEXT NOT NULL,
    status        TEXT NOT NULL,
    reason        TEXT,
    applied_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    TEXT,
    UNIQUE (trade_id, usci)
);

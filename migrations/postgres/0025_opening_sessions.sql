-- Which server instance holds a trade's opening session (its one-time opening key lives in
-- that process's memory only, ADR 0005): the others forward custodians' requests to it
-- (ADR 0018). Internal addresses, never published.
CREATE TABLE opening_sessions (
    trade_id TEXT PRIMARY KEY REFERENCES trades (id),
    key_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    instance_url TEXT NOT NULL,
    started_at BIGINT NOT NULL
);

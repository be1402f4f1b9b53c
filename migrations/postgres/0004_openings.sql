-- The opening. A supervisor's extension of a trade's opening window, and the signed
-- opening record, stored as the exact RFC 8785 canonical bytes the platform signed.
-- Reconstructed bid keys and custodians' shares are never stored.
CREATE TABLE opening_windows (
    trade_id   TEXT PRIMARY KEY REFERENCES trades(id),
    ends_at    BIGINT NOT NULL
);

CREATE TABLE opening_records (
    trade_id   TEXT PRIMARY KEY REFERENCES trades(id),
    -- opened | failed
    outcome    TEXT NOT NULL,
    record     BYTEA NOT NULL,
    signature  BYTEA NOT NULL,
    key_id     TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    opened_at  BIGINT NOT NULL
);

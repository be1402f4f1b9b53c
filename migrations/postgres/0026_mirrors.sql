-- Interconnection (issue 8): the platforms this one follows (a region follows its
-- prefectures) and the public log entries mirrored from each, verified by checkpoint
-- signature, consistency proof and re-hashing before they are kept (ADR 0019).
CREATE TABLE mirrors (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    origin TEXT NOT NULL,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    -- JSON array of hex hashes: the frontier of the verified tree
    frontier TEXT NOT NULL,
    -- the newest signed checkpoint verified (note text)
    checkpoint TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    -- why mirroring stopped: the followed log does not verify (NULL while it does)
    halted TEXT,
    halted_at BIGINT
);

CREATE TABLE mirror_entries (
    mirror TEXT NOT NULL REFERENCES mirrors (name),
    idx BIGINT NOT NULL,
    kind TEXT NOT NULL,
    trade_id TEXT,
    entry BYTEA NOT NULL,
    PRIMARY KEY (mirror, idx)
);
CREATE INDEX mirror_entries_kind ON mirror_entries (kind, mirror, idx);
CREATE INDEX mirror_entries_trade ON mirror_entries (mirror, trade_id, idx);

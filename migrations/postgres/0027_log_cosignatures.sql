-- Witnesses (a region's platform) cosign the checkpoints of this log they verified; the
-- newest cosignature of each configured witness is published with its checkpoint
-- (ADR 0019).
CREATE TABLE log_cosignatures (
    witness TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    -- the checkpoint as this platform signed it (note text)
    checkpoint TEXT NOT NULL,
    -- the witness's signature line (C2SP tlog-cosignature v1)
    cosignature TEXT NOT NULL,
    cosigned_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);

-- The envelope suite a trade's opening committee seals with (ADR 0038): 1 (HPKE,
-- AES-256-GCM, SHA-256) or 2 (国密: SM2, SM4-GCM, SM3). Trades created before are suite 1.
ALTER TABLE trades ADD COLUMN suite BIGINT NOT NULL DEFAULT 1;

-- Per-trade HPKE public keys of the opening committee, each signed by its custodian's
-- certificate. Registered once; never replaced (bids are sealed to them).
CREATE TABLE custodian_keys (
    trade_id       TEXT NOT NULL REFERENCES trades(id),
    identity_id    TEXT NOT NULL REFERENCES identities(id),
    public_key     BYTEA NOT NULL,
    key_id         TEXT NOT NULL,
    signature      BYTEA NOT NULL,
    registered_at  BIGINT NOT NULL,
    PRIMARY KEY (trade_id, identity_id)
);

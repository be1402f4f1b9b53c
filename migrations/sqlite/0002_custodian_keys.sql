-- Per-trade HPKE public keys of the opening committee, each signed by its custodian's
-- certificate. Registered once; never replaced (bids are sealed to them).
CREATE TABLE custodian_keys (
    trade_id       TEXT NOT NULL REFERENCES trades(id),
    identity_id    TEXT NOT NULL REFERENCES identities(id),
    public_key     BLOB NOT NULL,
    key_id         TEXT NOT NULL,
    signature      BLOB NOT NULL,
    registered_at  INTEGER NOT NULL,
    PRIMARY KEY (trade_id, identity_id)
);

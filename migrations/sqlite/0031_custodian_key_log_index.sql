-- Each custodian key keeps the log entry that registered it and the certificate its
-- signature verifies with, so a bidder's client can check the key it seals to without
-- trusting the platform (docs/protocol.md, "Custodian keys"). Keys registered before
-- this migration have neither; the certificate then is the custodian's current one.
ALTER TABLE custodian_keys ADD COLUMN seq INTEGER;
ALTER TABLE custodian_keys ADD COLUMN certificate BLOB;

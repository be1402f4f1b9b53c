-- Refund instructions taken by a bank (ADR 0010: pending → sent). A bank claims the
-- pending instructions it is to pay with a signed request naming its own claim id; the
-- claim is recorded once, so a repeat returns the same instructions and takes no more.
CREATE TABLE bank_refund_claims (
    bank_id     TEXT NOT NULL,
    claim_id    TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    refund_ids  TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    PRIMARY KEY (bank_id, claim_id)
);
CREATE INDEX refunds_bank_pending ON refunds (bank_id, status, created_at);

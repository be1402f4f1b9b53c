-- Deposits and refunds of live sales (ADR 0010): bank notifications as received, the
-- bidder number a qualified applicant with a confirmed deposit draws, refund
-- instructions with their state, and each trade's deposit ledger. Money is in 分.
ALTER TABLE applications ADD COLUMN deposit_at BIGINT;
ALTER TABLE applications ADD COLUMN bidder_number TEXT;
CREATE UNIQUE INDEX applications_bidder_number ON applications (trade_id, bidder_number);

-- Every authenticated notification, once: a repeat with the same body is answered from
-- here; the same id with another body is a conflict.
CREATE TABLE bank_notifications (
    bank_id     TEXT NOT NULL,
    bank_txn_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    kind        TEXT NOT NULL,
    trade_id    TEXT NOT NULL REFERENCES trades(id),
    amount      BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    application_id TEXT,
    refund_id   TEXT,
    received_at BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (bank_id, bank_txn_id)
);

-- Money to send back: pending, then sent (the bank took the instruction), then confirmed
-- by the bank's own refund notification.
CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    trade_id       TEXT NOT NULL REFERENCES trades(id),
    application_id TEXT,
    account        TEXT NOT NULL,
    account_name   TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    bank_id        TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    sent_at        BIGINT,
    confirmed_at   BIGINT
);
CREATE INDEX refunds_trade ON refunds (trade_id);
CREATE INDEX refunds_status ON refunds (status);

-- The deposit account of each trade: money in (deposit_received), out (refund_confirmed)
-- and kept (converted_to_payment). What is held is the first less the other two.
CREATE TABLE ledger_entries (
    id             TEXT PRIMARY KEY,
    trade_id       TEXT NOT NULL REFERENCES trades(id),
    application_id TEXT,
    kind           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    account        TEXT NOT NULL,
    bank_id        TEXT,
    bank_txn_id    TEXT,
    refund_id      TEXT,
    at             BIGINT NOT NULL,
    seq            BIGINT NOT NULL
);
CREATE INDEX ledger_entries_trade ON ledger_entries (trade_id);

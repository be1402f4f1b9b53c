-- Risk alerts raised by the rules (src/domain/risk/) and their handling by supervisors.
-- dedup_key (rule, trade, bidders) makes raising idempotent: a rule that finds the same
-- bidders on the same trade again raises nothing new.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    rule         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    region_code  TEXT NOT NULL,
    -- open | assigned | handled | closed
    status       TEXT NOT NULL,
    summary      TEXT NOT NULL,
    finding      TEXT NOT NULL,
    assignee     TEXT REFERENCES identities(id),
    raised_seq   INTEGER NOT NULL,
    trigger_seq  INTEGER NOT NULL,
    raised_at    INTEGER NOT NULL
);
CREATE INDEX alerts_region ON alerts (region_code, raised_seq);

CREATE TABLE alert_history (
    alert_id  TEXT NOT NULL REFERENCES alerts(id),
    seq       INTEGER NOT NULL,
    step      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    note      TEXT NOT NULL,
    assignee  TEXT,
    at        INTEGER NOT NULL,
    PRIMARY KEY (alert_id, seq)
);

-- The last opening the risk rules have evaluated.
CREATE TABLE risk_cursor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);

-- The addresses an identity acted from (risk rules).
CREATE INDEX event_audit_actor ON event_audit (actor);

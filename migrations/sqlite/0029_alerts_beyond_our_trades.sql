-- Alerts about what this platform follows (issue 8, ADR 0019): a followed platform whose
-- log stopped verifying, and risk findings across prefectures. Their `trade_id` names a
-- followed platform's trade as `<platform>/<trade id>`, or the platform alone, so it no
-- longer references a trade of ours.
--
-- SQLite cannot drop a constraint, so the table is made again. alert_history references
-- alerts: with the check deferred to the commit, the rows put back under the same name
-- satisfy it again (the migration runs in one transaction, where foreign keys cannot be
-- switched off but can be deferred).
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE alerts_kept AS SELECT * FROM alerts;
DROP TABLE alerts;
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL UNIQUE,
    rule         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    trade_id     TEXT NOT NULL,
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
INSERT INTO alerts (id, dedup_key, rule, severity, trade_id, region_code, status, summary,
    finding, assignee, raised_seq, trigger_seq, raised_at)
    SELECT id, dedup_key, rule, severity, trade_id, region_code, status, summary, finding,
    assignee, raised_seq, trigger_seq, raised_at FROM alerts_kept;
DROP TABLE alerts_kept;
CREATE INDEX alerts_region ON alerts (region_code, raised_seq);

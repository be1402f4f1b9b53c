-- From the opening to the contract (issue 6, ADR 0014): a tender's evaluation terms, each
-- expert's signed score sheet, the report computed from them and the experts' signatures
-- over it, the result (candidates' publicity, award notice, contract), objections and
-- complaints, and the day each refund is due.
ALTER TABLE trades ADD COLUMN evaluation TEXT;

-- One sheet per expert of the committee: the exact JSON signed (RFC 8785) and the
-- signature by the expert's certificate.
CREATE TABLE evaluation_sheets (
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    expert_id    TEXT NOT NULL REFERENCES identities(id),
    sheet        TEXT NOT NULL,
    signature    BLOB NOT NULL,
    submitted_at INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    PRIMARY KEY (trade_id, expert_id)
);

-- The evaluation report (RFC 8785 JSON) computed once every sheet is in.
CREATE TABLE evaluation_reports (
    trade_id   TEXT PRIMARY KEY REFERENCES trades(id),
    report     TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seq        INTEGER NOT NULL
);

-- Each expert's signature over the report, with its dissent if any (实施条例 第53条).
CREATE TABLE report_signatures (
    trade_id  TEXT NOT NULL REFERENCES trades(id),
    expert_id TEXT NOT NULL REFERENCES identities(id),
    signature BLOB NOT NULL,
    dissent   TEXT,
    signed_at INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (trade_id, expert_id)
);

-- The result of an evaluated trade: the candidates and their publicity, then the award
-- notice, then the contract.
CREATE TABLE trade_results (
    trade_id        TEXT PRIMARY KEY REFERENCES trades(id),
    candidates      TEXT NOT NULL,
    publicity_from  INTEGER NOT NULL,
    publicity_until INTEGER NOT NULL,
    published_seq   INTEGER NOT NULL,
    award           TEXT,
    awarded_at      INTEGER,
    award_seq       INTEGER,
    contract        TEXT,
    contracted_at   INTEGER,
    contract_seq    INTEGER
);

-- Objections (异议) during the publicity, to the trading centre, and their answers.
CREATE TABLE objections (
    id          TEXT PRIMARY KEY,
    trade_id    TEXT NOT NULL REFERENCES trades(id),
    identity_id TEXT NOT NULL REFERENCES identities(id),
    text        TEXT NOT NULL,
    filed_at    INTEGER NOT NULL,
    answer_due  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    answer      TEXT,
    answered_at INTEGER,
    answer_seq  INTEGER
);
CREATE INDEX objections_trade ON objections (trade_id);

-- Complaints (投诉) to the supervisor after an objection's answer, and their rulings.
CREATE TABLE complaints (
    id           TEXT PRIMARY KEY,
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    identity_id  TEXT NOT NULL REFERENCES identities(id),
    objection_id TEXT NOT NULL REFERENCES objections(id),
    text         TEXT NOT NULL,
    filed_at     INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    upheld       INTEGER,
    ruling       TEXT,
    ruled_by     TEXT,
    ruled_at     INTEGER,
    ruling_seq   INTEGER
);
CREATE INDEX complaints_trade ON complaints (trade_id);

-- When a refund is due (bonds: within the rulebook's days of the contract).
ALTER TABLE refunds ADD COLUMN due_at INTEGER;

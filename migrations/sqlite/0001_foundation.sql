-- Foundation: identities, sessions, trades, documents, clarifications, the event log.
-- Times are milliseconds since the Unix epoch (UTC); money is integer minor units.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    usci        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE identities (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id),
    cert_fingerprint TEXT NOT NULL UNIQUE,
    cert_der         BLOB NOT NULL,
    subject          TEXT NOT NULL,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);

CREATE TABLE auth_challenges (
    nonce       TEXT PRIMARY KEY,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    identity_id  TEXT NOT NULL REFERENCES identities(id),
    expires_at   INTEGER NOT NULL
);

CREATE TABLE trades (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    procedure         TEXT NOT NULL,
    title             TEXT NOT NULL,
    principal_name    TEXT NOT NULL,
    principal_usci    TEXT NOT NULL,
    estimated_value   INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    region_code       TEXT NOT NULL,
    bid_deadline      INTEGER NOT NULL,
    bond_amount       INTEGER NOT NULL,
    threshold         INTEGER NOT NULL,
    status            TEXT NOT NULL,
    rulebook_version  TEXT NOT NULL,
    rulebook_sha256   TEXT NOT NULL,
    time_scale        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    published_at      INTEGER
);
CREATE INDEX trades_listing ON trades (status, created_at, id);

CREATE TABLE trade_lots (
    trade_id         TEXT NOT NULL REFERENCES trades(id),
    position         INTEGER NOT NULL,
    lot_id           TEXT NOT NULL,
    title            TEXT NOT NULL,
    estimated_value  INTEGER NOT NULL,
    PRIMARY KEY (trade_id, position)
);

CREATE TABLE trade_custodians (
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    position     INTEGER NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities(id),
    PRIMARY KEY (trade_id, position)
);

CREATE TABLE documents (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    content     BLOB NOT NULL
);

CREATE TABLE trade_documents (
    trade_id    TEXT NOT NULL REFERENCES trades(id),
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES documents(sha256),
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (trade_id, name)
);

CREATE TABLE clarifications (
    id           TEXT PRIMARY KEY,
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    asker_id     TEXT NOT NULL REFERENCES identities(id),
    question     TEXT NOT NULL,
    -- salt of the question's commitment in the clarification.asked entry
    question_salt BLOB NOT NULL,
    asked_at     INTEGER NOT NULL,
    answer       TEXT,
    answered_at  INTEGER
);
CREATE INDEX clarifications_by_trade ON clarifications (trade_id, asked_at);

-- The one ordered log. `seq` is assigned max+1 under the write lock, so it has no gaps
-- and commit order equals sequence order. `entry` holds the exact bytes that are hashed.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    trade_id  TEXT,
    entry     BLOB NOT NULL
);
CREATE INDEX events_by_trade ON events (trade_id, seq);

-- Who, from where (电子招标投标办法 第49条); the entry carries only the commitment.
CREATE TABLE event_audit (
    seq          INTEGER PRIMARY KEY REFERENCES events(seq),
    salt         BLOB NOT NULL,
    actor        TEXT,
    client_addr  TEXT,
    request_id   TEXT
);

-- Confidential data committed to by an entry, revealed later.
CREATE TABLE event_sealed (
    seq   INTEGER NOT NULL REFERENCES events(seq),
    name  TEXT NOT NULL,
    salt  BLOB NOT NULL,
    data  BLOB NOT NULL,
    PRIMARY KEY (seq, name)
);

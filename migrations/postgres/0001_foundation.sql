-- Foundation: identities, sessions, trades, documents, clarifications, the event log.
-- Times are milliseconds since the Unix epoch (UTC); money is integer minor units.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    usci        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE identities (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id),
    cert_fingerprint TEXT NOT NULL UNIQUE,
    cert_der         BYTEA NOT NULL,
    subject          TEXT NOT NULL,
    role             TEXT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE auth_challenges (
    nonce       TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    identity_id  TEXT NOT NULL REFERENCES identities(id),
    expires_at   BIGINT NOT NULL
);

CREATE TABLE trades (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    procedure         TEXT NOT NULL,
    title             TEXT NOT NULL,
    principal_name    TEXT NOT NULL,
    principal_usci    TEXT NOT NULL,
    estimated_value   BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    region_code       TEXT NOT NULL,
    bid_deadline      BIGINT NOT NULL,
    bond_amount       BIGINT NOT NULL,
    threshold         BIGINT NOT NULL,
    status            TEXT NOT NULL,
    rulebook_version  TEXT NOT NULL,
    rulebook_sha256   TEXT NOT NULL,
    time_scale        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    published_at      BIGINT
);
CREATE INDEX trades_listing ON trades (status, created_at, id);

CREATE TABLE trade_lots (
    trade_id         TEXT NOT NULL REFERENCES trades(id),
    position         BIGINT NOT NULL,
    lot_id           TEXT NOT NULL,
    title            TEXT NOT NULL,
    estimated_value  BIGINT NOT NULL,
    PRIMARY KEY (trade_id, position)
);

CREATE TABLE trade_custodians (
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    position     BIGINT NOT NULL,
    identity_id  TEXT NOT NULL REFERENCES identities(id),
    PRIMARY KEY (trade_id, position)
);

CREATE TABLE documents (
    sha256      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    content     BYTEA NOT NULL
);

CREATE TABLE trade_documents (
    trade_id    TEXT NOT NULL REFERENCES trades(id),
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES documents(sha256),
    media_type  TEXT NOT NULL,
    size        BIGINT NOT NULL,
    added_at    BIGINT NOT NULL,
    PRIMARY KEY (trade_id, name)
);

CREATE TABLE clarifications (
    id           TEXT PRIMARY KEY,
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    asker_id     TEXT NOT NULL REFERENCES identities(id),
    question     TEXT NOT NULL,
    -- salt of the question's commitment in the clarification.asked entry
    question_salt BYTEA NOT NULL,
    asked_at     BIGINT NOT NULL,
    answer       TEXT,
    answered_at  BIGINT
);
CREATE INDEX clarifications_by_trade ON clarifications (trade_id, asked_at);

-- The one ordered log. `seq` is assigned max+1 under the write lock, so it has no gaps
-- and commit order equals sequence order. `entry` holds the exact bytes that are hashed.
CREATE TABLE events (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    trade_id  TEXT,
    entry     BYTEA NOT NULL
);
CREATE INDEX events_by_trade ON events (trade_id, seq);

-- Who, from where (电子招标投标办法 第49条); the entry carries only the commitment.
CREATE TABLE event_audit (
    seq          BIGINT PRIMARY KEY REFERENCES events(seq),
    salt         BYTEA NOT NULL,
    actor        TEXT,
    client_addr  TEXT,
    request_id   TEXT
);

-- Confidential data committed to by an entry, revealed later.
CREATE TABLE event_sealed (
    seq   BIGINT NOT NULL REFERENCES events(seq),
    name  TEXT NOT NULL,
    salt  BYTEA NOT NULL,
    data  BYTEA NOT NULL,
    PRIMARY KEY (seq, name)
);

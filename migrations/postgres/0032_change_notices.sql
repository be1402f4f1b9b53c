-- Change notices (变更公告): after the announcement a trade's documents change only by a
-- numbered, public notice, which may add or replace documents and may move the bid
-- deadline. A replaced version stays downloadable: each row keeps what it replaced.
CREATE TABLE change_notices (
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    number       BIGINT NOT NULL,
    notice       TEXT NOT NULL,
    issued_at    BIGINT NOT NULL,
    new_deadline BIGINT,
    PRIMARY KEY (trade_id, number)
);

CREATE TABLE changed_documents (
    trade_id            TEXT NOT NULL,
    number              BIGINT NOT NULL,
    name                TEXT NOT NULL,
    sha256              TEXT NOT NULL REFERENCES documents(sha256),
    media_type          TEXT NOT NULL,
    size                BIGINT NOT NULL,
    -- NULL: the notice adds a document of a new name.
    previous_sha256     TEXT REFERENCES documents(sha256),
    previous_media_type TEXT,
    PRIMARY KEY (trade_id, number, name),
    FOREIGN KEY (trade_id, number) REFERENCES change_notices(trade_id, number)
);

CREATE INDEX changed_documents_previous ON changed_documents (previous_sha256);

-- Who downloaded which document version, first when: private to the bidder, who sees
-- which documents changed since it downloaded them. Never public (招标投标法 第22条).
CREATE TABLE document_downloads (
    bidder_id TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    first_at  BIGINT NOT NULL,
    PRIMARY KEY (bidder_id, sha256)
);

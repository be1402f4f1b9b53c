-- Region-wide search (issue 8, ADR 0019): the search terms (as for local trades, ADR
-- 0015) of each trade announced in a mirrored log, kept in the transaction that keeps
-- its verified `trade.published` entry.
CREATE TABLE mirror_search_terms (
    term TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    mirror TEXT NOT NULL REFERENCES mirrors (name),
    idx BIGINT NOT NULL,
    PRIMARY KEY (term, published_at, mirror, idx)
);

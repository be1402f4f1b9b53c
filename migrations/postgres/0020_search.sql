-- The search index (issue 6, ADR 0015): each published trade's terms (CJK characters
-- and character pairs, Latin and digit words) with its publication instant, so a query
-- walks a term's postings newest first. `search_state` records the term rules the index
-- was built with; a server whose rules differ rebuilds it at start.
CREATE TABLE search_terms (
    term         TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    trade_id     TEXT NOT NULL REFERENCES trades(id),
    PRIMARY KEY (term, published_at, trade_id)
);
CREATE INDEX search_terms_trade ON search_terms (trade_id, term);

CREATE TABLE search_state (
    id      BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);

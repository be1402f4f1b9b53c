-- The log's Merkle tree (RFC 9162 hashing) as its complete, aligned subtrees: node
-- (level, idx) is the hash of leaves [idx * 2^level, (idx + 1) * 2^level), leaf i being
-- the entry with seq = i + 1. Written in the same transaction as the entries, O(log n) new
-- nodes per entry; roots and proofs combine O(log n) of them (src/domain/merkle.rs).
CREATE TABLE log_nodes (
    level  INTEGER NOT NULL,
    idx    INTEGER NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

-- A trade tendered again after its predecessor failed or was terminated (issue 6, ADR
-- 0014): the predecessor's id.
ALTER TABLE trades ADD COLUMN retender_of TEXT REFERENCES trades(id);

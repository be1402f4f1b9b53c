-- Procurement methods beyond the open tender (issue 6): the suppliers an invited
-- procedure invites (JSON list of 统一社会信用代码) or a single source names, and the
-- previous round of a negotiation or consultation.
ALTER TABLE trades ADD COLUMN invited TEXT;
ALTER TABLE trades ADD COLUMN previous_round TEXT REFERENCES trades(id);

-- A supervisor's jurisdiction: the administrative division (行政区划代码) whose trades it
-- supervises, set by the administrator's grant. NULL for every other role.
ALTER TABLE identities ADD COLUMN region_code TEXT;

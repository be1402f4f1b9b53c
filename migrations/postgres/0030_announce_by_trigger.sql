-- Every statement that appends to the log announces the new head on `tradehall_log` when
-- its transaction commits (NOTIFY is delivered at commit, and not at all on rollback).
-- This was a `SELECT pg_notify(...)` the server sent before each commit: one round trip
-- of every write transaction (docs/adr/0018, docs/adr/0024). SQLite has no other
-- instance to tell and no such migration.
CREATE FUNCTION tradehall_announce() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tradehall_log', (SELECT COALESCE(MAX(seq), 0) FROM appended)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_announce AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION tradehall_announce();

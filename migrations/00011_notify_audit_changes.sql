-- +goose Up
-- Each replica caches /audit's counts and pages (internal/audit readCache)
-- and LISTENs on vpcep_audit: any statement that appends or finalises
-- entries notifies it, delivered when its transaction commits, so a
-- replica drops what it cached before serving a page again. A statement
-- trigger rather than a NOTIFY in Go: every writer notifies (a bulk load
-- too, once per statement), and it costs no round trip.
-- +goose StatementBegin
CREATE FUNCTION audit_entries_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vpcep_audit', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_entries_notify AFTER INSERT OR UPDATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_notify();

-- +goose Down
DROP TRIGGER audit_entries_notify ON audit_entries;
DROP FUNCTION audit_entries_notify();

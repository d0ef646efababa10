-- +goose Up
-- At most one change per endpoint may be in flight: the database refuses a
-- second pending entry for an endpoint, whatever happens to the session
-- that held the endpoint's advisory lock (a killed connection, a failover).
-- Begin also checks under the chain lock and says which entry is pending;
-- this index is what makes the rule hold even against a bug.
--
-- Entries already in the table are left out of the index: an earlier
-- version could leave two pending entries for one endpoint (a crash, then
-- another change before the reconciler ran), and the audit log is never
-- edited. Begin's check covers those too.
-- +goose StatementBegin
DO $$
DECLARE
    first_new bigint;
BEGIN
    -- No entry may be added between reading max(id) and building the index
    -- (a replica of the earlier version, still running during an upgrade).
    LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE;
    first_new := (SELECT coalesce(max(id), 0) + 1 FROM audit_entries);
    EXECUTE format(
        'CREATE UNIQUE INDEX audit_entries_one_pending ON audit_entries (endpoint_id) WHERE outcome = ''pending'' AND id >= %s',
        first_new);
END
$$;
-- +goose StatementEnd
COMMENT ON INDEX audit_entries_one_pending IS 'One pending entry per endpoint, for entries written after this index was made.';

-- +goose Down
DROP INDEX audit_entries_one_pending;

-- +goose Up
-- Audit format version 3 records which lint warnings the actor acknowledged
-- when making the change (the entry's actor is who acknowledged them). It is
-- written at the start, so the append-only trigger keeps it unchanged
-- without editing it. Entries of versions 1 and 2 hold NULL: their hashes do
-- not cover it.
ALTER TABLE audit_entries ADD COLUMN acknowledged_warnings text;
COMMENT ON COLUMN audit_entries.acknowledged_warnings IS 'From format version 3: the lint warning codes (policy.Lint) the actor acknowledged, a compact JSON array of strings sorted and without repeats; NULL when none.';

-- +goose Down
-- Dropping the column would leave entries of version 3 unverifiable, so
-- going down is refused once there are any.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM audit_entries WHERE format_version >= 3) THEN
        RAISE EXCEPTION 'audit entries of format version 3 or later exist: migrating below 00008 would make them unverifiable';
    END IF;
END
$$;
-- +goose StatementEnd
ALTER TABLE audit_entries DROP COLUMN acknowledged_warnings;

-- +goose Up
-- Audit format version 4 records changes made outside the console: how a
-- difference was seen (detected_by: refresh, detail, editor, change or
-- baseline), the drift entry an adopt or attribute entry is about
-- (refers_to), and who made a drift per Cloud Trace Service (attribution,
-- a compact JSON array of traces). All three are written at the start, so
-- the append-only trigger keeps them unchanged without editing it. Entries
-- of versions 1 to 3 hold NULL: their hashes do not cover them.
ALTER TABLE audit_entries ADD COLUMN detected_by text;
ALTER TABLE audit_entries ADD COLUMN refers_to bigint;
ALTER TABLE audit_entries ADD COLUMN attribution text;
COMMENT ON COLUMN audit_entries.detected_by IS 'From format version 4: how a drift or baseline was seen (refresh, detail, editor, change, baseline).';
COMMENT ON COLUMN audit_entries.refers_to IS 'From format version 4: the drift entry an adopt or attribute entry is about.';
COMMENT ON COLUMN audit_entries.attribution IS 'From format version 4: the CTS traces of an attribute entry, a compact JSON array (cts.Trace); NULL when none.';
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_refers_to_fkey FOREIGN KEY (refers_to) REFERENCES audit_entries (id);
-- An entry's adopt and attribute entries are found by its id.
CREATE INDEX audit_entries_refers_to ON audit_entries (refers_to) WHERE refers_to IS NOT NULL;
-- The new actions, and the revert of a drift to the version the console
-- knew (restores 'known').
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_action_check;
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_action_check
    CHECK (action IN ('update', 'rollback', 'baseline', 'drift', 'adopt', 'attribute'));
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_restores_check;
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_restores_check CHECK (restores IN ('before', 'after', 'known'));

-- +goose Down
-- Dropping the columns would leave entries of version 4 unverifiable, so
-- going down is refused once there are any.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM audit_entries WHERE format_version >= 4) THEN
        RAISE EXCEPTION 'audit entries of format version 4 or later exist: migrating below 00013 would make them unverifiable';
    END IF;
END
$$;
-- +goose StatementEnd
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_restores_check;
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_restores_check CHECK (restores IN ('before', 'after'));
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_action_check;
ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_action_check CHECK (action IN ('update', 'rollback'));
DROP INDEX audit_entries_refers_to;
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_refers_to_fkey;
ALTER TABLE audit_entries DROP COLUMN attribution;
ALTER TABLE audit_entries DROP COLUMN refers_to;
ALTER TABLE audit_entries DROP COLUMN detected_by;

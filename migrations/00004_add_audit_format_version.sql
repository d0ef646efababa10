-- +goose Up
-- Each audit entry records the format version its hashes were made with
-- (internal/audit/format.go lists the fields of every version), so a field
-- added later never changes what an old entry's hash covers. Every entry
-- written so far is version 1. The default stays 1, so that a binary from
-- before versions, still running during a rolling upgrade, writes entries
-- that verify as what they are.
ALTER TABLE audit_entries ADD COLUMN format_version smallint NOT NULL DEFAULT 1 CHECK (format_version >= 1);
COMMENT ON COLUMN audit_entries.format_version IS 'The audit format version hash and final_hash were computed with: which fields they cover, in which order and encoding. From version 2 on, hash covers format_version itself.';
COMMENT ON COLUMN audit_entries.hash IS 'SHA-256 over the fields written when the entry was created that its format_version covers, prev_hash and id included: ids are drawn under the chain lock, in chain order.';
COMMENT ON COLUMN audit_entries.final_hash IS 'SHA-256 over hash and the fields written when the entry was finalised that its format_version covers.';

-- Finalising may set only the finalise columns. Everything else is
-- compared as a whole row (to_jsonb minus the finalise columns), so a
-- column added later for the start of an entry is kept unchanged without
-- editing this function; only a new finalise column needs adding here.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    finalise_columns CONSTANT text[] := ARRAY['outcome', 'finished_at', 'request_body', 'response_status',
        'response_body', 'request_id', 'error_code', 'error_message', 'readback_matches', 'readback_policy',
        'duration_ms', 'note', 'final_hash'];
    changed text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries are append-only: DELETE of entry % refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.outcome <> 'pending' THEN
        RAISE EXCEPTION 'audit entry % is final: UPDATE refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.outcome = 'pending' OR NEW.finished_at IS NULL OR NEW.final_hash IS NULL THEN
        RAISE EXCEPTION 'audit entry % may only be updated to finalise it', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
    FROM jsonb_each(to_jsonb(NEW) - finalise_columns) n
    JOIN jsonb_each(to_jsonb(OLD) - finalise_columns) o ON o.key = n.key
    WHERE n.value IS DISTINCT FROM o.value;
    IF changed IS NOT NULL THEN
        RAISE EXCEPTION 'audit entry %: finalising may not change what was recorded at the start (%)', OLD.id, changed
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Dropping format_version would leave entries of version 2 and later
-- unverifiable, so going down is refused once there are any.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT FROM audit_entries WHERE format_version <> 1) THEN
        RAISE EXCEPTION 'audit entries of format version 2 or later exist: migrating below 00004 would make them unverifiable';
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit entries are append-only: DELETE of entry % refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.outcome <> 'pending' THEN
        RAISE EXCEPTION 'audit entry % is final: UPDATE refused', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.outcome = 'pending' OR NEW.finished_at IS NULL OR NEW.final_hash IS NULL THEN
        RAISE EXCEPTION 'audit entry % may only be updated to finalise it', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.submission_key, NEW.started_at, NEW.actor, NEW.project_id, NEW.region, NEW.endpoint_id,
        NEW.endpoint_service_name, NEW.action, NEW.reason, NEW.rollback_of, NEW.restores, NEW.policy_before,
        NEW.policy_requested, NEW.prev_hash, NEW.hash)
       IS DISTINCT FROM
       (OLD.id, OLD.submission_key, OLD.started_at, OLD.actor, OLD.project_id, OLD.region, OLD.endpoint_id,
        OLD.endpoint_service_name, OLD.action, OLD.reason, OLD.rollback_of, OLD.restores, OLD.policy_before,
        OLD.policy_requested, OLD.prev_hash, OLD.hash) THEN
        RAISE EXCEPTION 'audit entry %: finalising may not change what was recorded at the start', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

COMMENT ON COLUMN audit_entries.hash IS 'SHA-256 over prev_hash and the fields written when the entry was created, id included: ids are drawn under the chain lock, in chain order.';
COMMENT ON COLUMN audit_entries.final_hash IS 'SHA-256 over hash and the fields written when the entry was finalised.';
ALTER TABLE audit_entries DROP COLUMN format_version;

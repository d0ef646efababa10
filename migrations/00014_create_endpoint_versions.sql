-- +goose Up
-- What the drift detector (internal/drift) knows of each editable
-- endpoint: the fingerprint of the policy last seen live, and the entries
-- that state was derived from. The audit log stays the truth: the detector
-- writes a row in the same transaction as the entry that changes it, and
-- re-derives the state from the log under the endpoint's lock before it
-- records anything, so this table only tells a refresh which endpoints to
-- look at (and the list which are drifted) without reading the log.
CREATE TABLE endpoint_versions (
    endpoint_id text COLLATE "C" PRIMARY KEY,
    -- policy.Fingerprint of the version last seen live; NULL until the
    -- detector has looked (a row the trigger below made).
    fingerprint text,
    -- The newest entry of the endpoint the row was derived through, and
    -- the newest entry of the endpoint in the log (kept by the trigger):
    -- while log_entry_id is the greater, the row is behind the log.
    entry_id bigint,
    log_entry_id bigint,
    -- The last version the console established (baseline, update,
    -- rollback, adopt), and the open drift (NULL: not drifted).
    known_entry_id bigint,
    drift_entry_id bigint,
    checked_at timestamptz NOT NULL DEFAULT now(),
    -- The last failure of detection on this endpoint, shown on it; NULL when none.
    last_error text
);
CREATE INDEX endpoint_versions_drifted ON endpoint_versions (endpoint_id) WHERE drift_entry_id IS NOT NULL;

-- Every entry appended (but an attribute entry, which records no version)
-- marks its endpoint's row as behind the log, in the
-- appending transaction: a change made through the console is never
-- mistaken for a drift, nor a drift missed, even when the replica that
-- made it crashed before telling the detector.
-- +goose StatementBegin
-- The function's search_path is the migration's, so an INSERT made with
-- another (a restore by pg_dump's script empties it) finds the table.
CREATE FUNCTION audit_entries_track_endpoint() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO endpoint_versions (endpoint_id, log_entry_id) VALUES (NEW.endpoint_id, NEW.id)
    ON CONFLICT (endpoint_id) DO UPDATE
        SET log_entry_id = greatest(endpoint_versions.log_entry_id, EXCLUDED.log_entry_id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_entries_track_endpoint AFTER INSERT ON audit_entries
    FOR EACH ROW WHEN (NEW.endpoint_id IS NOT NULL AND NEW.endpoint_id <> '' AND NEW.action <> 'attribute')
    EXECUTE FUNCTION audit_entries_track_endpoint();

-- The list's drift badge and filter come from each replica's read model of
-- the inventory (internal/store): a drift opening or closing tells every
-- replica to load it again, on commit.
-- +goose StatementBegin
CREATE FUNCTION endpoint_versions_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.drift_entry_id IS NOT NULL)
        OR (TG_OP = 'UPDATE' AND OLD.drift_entry_id IS DISTINCT FROM NEW.drift_entry_id) THEN
        PERFORM pg_notify('vpcep_inventory', 'endpoints');
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER endpoint_versions_notify AFTER INSERT OR UPDATE OF drift_entry_id ON endpoint_versions
    FOR EACH ROW EXECUTE FUNCTION endpoint_versions_notify();

-- Asking Cloud Trace Service who made a drift: one row per drift entry
-- while the answer is not recorded. CTS lags by minutes, so a pass that
-- finds nothing leaves the row for a later one, until give_up_at; a failed
-- question keeps its error here (not in the audit log) and is asked again.
CREATE TABLE drift_attributions (
    drift_entry_id bigint PRIMARY KEY,
    endpoint_id text COLLATE "C" NOT NULL,
    window_from timestamptz NOT NULL,
    window_to timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed', 'found', 'none')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    give_up_at timestamptz NOT NULL,
    last_error text,
    attribute_entry_id bigint
);
CREATE INDEX drift_attributions_due ON drift_attributions (next_attempt_at) WHERE state IN ('pending', 'failed');
CREATE INDEX drift_attributions_endpoint ON drift_attributions (endpoint_id);

-- +goose Down
DROP TABLE drift_attributions;
DROP TRIGGER endpoint_versions_notify ON endpoint_versions;
DROP FUNCTION endpoint_versions_notify();
DROP TRIGGER audit_entries_track_endpoint ON audit_entries;
DROP FUNCTION audit_entries_track_endpoint();
DROP TABLE endpoint_versions;

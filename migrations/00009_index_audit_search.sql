-- +goose Up
-- Audit search (internal/audit Filter): actor matches case-insensitively
-- and q is a full-text search over reason and note. Each index ends in id,
-- or is a GIN index the planner combines with the primary key, so the
-- newest-first keyset page stays an index walk at a million entries.
-- endpoint is an id prefix: endpoint_id is COLLATE "C", so LIKE 'prefix%'
-- uses the existing (endpoint_id, id) index.
CREATE INDEX audit_entries_lower_actor_id ON audit_entries (lower(actor), id);
-- The 'simple' configuration: no stemming and no stop words, so ticket
-- numbers, ids and reasons in any language are found as typed. The
-- expression must match Filter's exactly for the planner to use it.
CREATE INDEX audit_entries_search ON audit_entries
    USING gin (to_tsvector('simple'::regconfig, reason || ' ' || coalesce(note, '')));
-- Outcome and action filters combined with actor use lower(actor) now.
CREATE INDEX audit_entries_lower_actor_outcome_id ON audit_entries (lower(actor), outcome, id);

-- +goose Down
DROP INDEX audit_entries_lower_actor_outcome_id;
DROP INDEX audit_entries_search;
DROP INDEX audit_entries_lower_actor_id;

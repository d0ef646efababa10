-- +goose NO TRANSACTION
-- +goose Up
-- Built CONCURRENTLY: at a million entries each index takes seconds, and
-- a plain build would hold every audit append (every change) meanwhile.
-- /audit across several projects (issue 13): a reader limited to some
-- projects, and the project and region filters. Each index ends in id, as
-- the other filters' do, so the newest-first keyset page of one project
-- is an index walk, and a count up to 10,000 an index-only scan (at a
-- million entries, a project holding 1% of them: page 17 ms -> 1 ms, count
-- 340 ms -> 5 ms).
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_entries_project_id_id ON audit_entries (project_id, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_entries_region_id ON audit_entries (region, id);
-- A project lives in one region, so a filter on both matches what the
-- project alone does; without being told, the planner takes the two as
-- independent, expects almost no row and sorts every entry of the project
-- (a rare project in its region: 55 ms instead of 0.5).
CREATE STATISTICS IF NOT EXISTS audit_entries_project_region (dependencies) ON project_id, region FROM audit_entries;
-- The statistics count from the next ANALYZE: now, not at autovacuum's turn.
ANALYZE audit_entries;

-- +goose Down
DROP STATISTICS IF EXISTS audit_entries_project_region;
DROP INDEX CONCURRENTLY IF EXISTS audit_entries_region_id;
DROP INDEX CONCURRENTLY IF EXISTS audit_entries_project_id_id;

-- +goose Up
-- Not a real migration: the column a later audit format version might add,
-- for TestAFieldOfTheNextVersion. It runs after the real migrations.
ALTER TABLE audit_entries ADD COLUMN requested_sha256 text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_entries DROP COLUMN requested_sha256;

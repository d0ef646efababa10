-- +goose Up
-- A token an account makes for itself on /account reads only, whatever the
-- account's role: a leaked script token cannot change a policy.
ALTER TABLE api_tokens ADD COLUMN read_only boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN api_tokens.read_only IS 'The token acts as a viewer, whatever its account''s role.';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN read_only;

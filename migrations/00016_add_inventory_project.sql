-- +goose Up
-- One console serves several projects (each one region's project id), so
-- the inventory and its refresh history belong to a project: each
-- project's store (store.NewProject) reads and writes only its own rows.
-- Rows from before hold '' until the console claims them at start
-- (store.ClaimUnscopedInventory): the one project's in a one-project
-- configuration, deleted and listed again with several. Endpoint ids are
-- unique across projects, so the primary key, the bodies and the drift
-- tables stay keyed by id alone.
ALTER TABLE inventory_endpoints ADD COLUMN project text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE inventory_refreshes ADD COLUMN project text COLLATE "C" NOT NULL DEFAULT '';
COMMENT ON COLUMN inventory_endpoints.project IS 'The project id whose upstream listed the endpoint; '''' for rows from before projects, until claimed.';
COMMENT ON COLUMN inventory_refreshes.project IS 'The project id whose inventory was refreshed; '''' for rows from before projects, until claimed.';

-- Every inventory query is within one project: each index leads with it.
-- The list pages and orders by (service name, id), the read model loads in
-- that order, and the facets walk the distinct VPCs and statuses of a project.
CREATE INDEX inventory_endpoints_project_service_name_id ON inventory_endpoints (project, service_name, id);
CREATE INDEX inventory_endpoints_project_vpc_id ON inventory_endpoints (project, vpc_id);
CREATE INDEX inventory_endpoints_project_status ON inventory_endpoints (project, status);
DROP INDEX inventory_endpoints_service_name_id;
DROP INDEX inventory_endpoints_vpc_id;
DROP INDEX inventory_endpoints_status;

-- A project's newest attempt (and pruning its history), and its newest success.
CREATE INDEX inventory_refreshes_project_id ON inventory_refreshes (project, id DESC);
CREATE INDEX inventory_refreshes_project_succeeded_id ON inventory_refreshes (project, succeeded, id DESC);
DROP INDEX inventory_refreshes_succeeded_id;

-- A drift opening or closing tells only the replicas' read models of the
-- endpoint's project to load again (payload 'endpoints:<project>'); an
-- endpoint in no inventory tells every one ('endpoints'), as before.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION endpoint_versions_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    owner text;
BEGIN
    IF (TG_OP = 'INSERT' AND NEW.drift_entry_id IS NOT NULL)
        OR (TG_OP = 'UPDATE' AND OLD.drift_entry_id IS DISTINCT FROM NEW.drift_entry_id) THEN
        SELECT project INTO owner FROM inventory_endpoints WHERE id = NEW.endpoint_id;
        IF FOUND THEN
            PERFORM pg_notify('vpcep_inventory', 'endpoints:' || owner);
        ELSE
            PERFORM pg_notify('vpcep_inventory', 'endpoints');
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Roles per project: an account's grant in a project (by the project's
-- name, its URL prefix) replaces its own role there; 'none' takes the
-- project away. Admin is console-wide: no grant makes one, and a console
-- admin stays admin everywhere (auth.Account.RoleIn).
CREATE TABLE account_project_roles (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    project    text   NOT NULL,
    role       text   NOT NULL CHECK (role IN ('none', 'viewer', 'editor')),
    PRIMARY KEY (account_id, project)
);
COMMENT ON COLUMN account_project_roles.project IS 'The project''s name (its URL prefix /p/{name}/), not its id; ''*'' is every project the account has no row of its own for (auth.OtherProjects).';

-- +goose Down
DROP TABLE account_project_roles;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION endpoint_versions_notify() RETURNS trigger
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
CREATE INDEX inventory_refreshes_succeeded_id ON inventory_refreshes (succeeded, id DESC);
DROP INDEX inventory_refreshes_project_succeeded_id;
DROP INDEX inventory_refreshes_project_id;
CREATE INDEX inventory_endpoints_status ON inventory_endpoints (status);
CREATE INDEX inventory_endpoints_vpc_id ON inventory_endpoints (vpc_id);
CREATE INDEX inventory_endpoints_service_name_id ON inventory_endpoints (service_name, id);
DROP INDEX inventory_endpoints_project_status;
DROP INDEX inventory_endpoints_project_vpc_id;
DROP INDEX inventory_endpoints_project_service_name_id;
ALTER TABLE inventory_refreshes DROP COLUMN project;
ALTER TABLE inventory_endpoints DROP COLUMN project;

-- +goose Up
-- The endpoint inventory: the upstream's endpoint list as of the last
-- refresh. It lives in Postgres so that several replicas share one copy and
-- the list page pages and filters with indexes instead of calling the
-- upstream on every view.
CREATE TABLE inventory_endpoints (
    id           text PRIMARY KEY,
    service_name text        NOT NULL,
    service_type text        NOT NULL,
    status       text        NOT NULL,
    vpc_id       text        NOT NULL,
    has_policy   boolean     NOT NULL,
    tags         jsonb       NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    body         jsonb       NOT NULL,
    refreshed_at timestamptz NOT NULL
);
COMMENT ON COLUMN inventory_endpoints.body IS 'The endpoint exactly as ListEndpoints returned it.';
COMMENT ON COLUMN inventory_endpoints.updated_at IS 'The upstream''s updated_at, not when this row changed.';
COMMENT ON COLUMN inventory_endpoints.refreshed_at IS 'When the refresh that last wrote this row finished reading the upstream.';

-- The list page sorts by service name then id, and filters on these columns.
CREATE INDEX inventory_endpoints_service_name_id ON inventory_endpoints (service_name, id);
CREATE INDEX inventory_endpoints_vpc_id ON inventory_endpoints (vpc_id);
CREATE INDEX inventory_endpoints_status ON inventory_endpoints (status);

-- One row per inventory refresh attempt, kept short (the newest 1,000).
CREATE TABLE inventory_refreshes (
    id             bigserial PRIMARY KEY,
    trigger        text        NOT NULL CHECK (trigger IN ('startup', 'schedule', 'manual')),
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    succeeded      boolean     NOT NULL,
    endpoint_count integer,
    error          text
);
COMMENT ON COLUMN inventory_refreshes.error IS 'Why the refresh failed, in plain words with the upstream status, code and request id.';
CREATE INDEX inventory_refreshes_succeeded_finished ON inventory_refreshes (succeeded, finished_at DESC);

-- +goose Down
DROP TABLE inventory_refreshes;
DROP TABLE inventory_endpoints;

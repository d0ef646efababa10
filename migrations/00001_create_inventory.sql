-- +goose Up
-- The endpoint inventory: the upstream's endpoint list as of the last
-- refresh. It lives in Postgres so that several replicas share one copy and
-- the list page pages and filters with indexes instead of calling the
-- upstream on every view.
--
-- The columns the list filters, sorts and counts on live in a narrow table;
-- the full endpoint body (about 1 KiB, below the TOAST threshold) lives in
-- its own table, so filtering and counting 10,000 endpoints reads ~1 MiB
-- instead of ~12 MiB, and only the 50 shown bodies are fetched.
--
-- id and service_name sort in the "C" collation: byte order, which is what
-- these ASCII identifiers need and is several times cheaper to compare than
-- a linguistic locale. search_text is what the search box matches with LIKE.
CREATE TABLE inventory_endpoints (
    id           text COLLATE "C" PRIMARY KEY,
    service_name text COLLATE "C" NOT NULL,
    service_type text        NOT NULL,
    status       text        NOT NULL,
    vpc_id       text        NOT NULL,
    has_policy   boolean     NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    refreshed_at timestamptz NOT NULL,
    search_text  text COLLATE "C" NOT NULL GENERATED ALWAYS AS (lower(service_name || ' ' || id)) STORED
);
COMMENT ON COLUMN inventory_endpoints.search_text IS 'Lower-cased service name and id, for case-insensitive substring search.';
COMMENT ON COLUMN inventory_endpoints.updated_at IS 'The upstream''s updated_at, not when this row changed.';
COMMENT ON COLUMN inventory_endpoints.refreshed_at IS 'When the refresh that last changed this row started reading the upstream.';

-- The list page sorts by service name then id, and filters on these columns.
CREATE INDEX inventory_endpoints_service_name_id ON inventory_endpoints (service_name, id);
CREATE INDEX inventory_endpoints_vpc_id ON inventory_endpoints (vpc_id);
CREATE INDEX inventory_endpoints_status ON inventory_endpoints (status);

CREATE TABLE inventory_endpoint_bodies (
    id   text COLLATE "C" PRIMARY KEY REFERENCES inventory_endpoints (id) ON DELETE CASCADE,
    body jsonb NOT NULL
);
COMMENT ON COLUMN inventory_endpoint_bodies.body IS 'The endpoint exactly as ListEndpoints returned it.';

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
CREATE INDEX inventory_refreshes_succeeded_id ON inventory_refreshes (succeeded, id DESC);

-- +goose Down
DROP TABLE inventory_refreshes;
DROP TABLE inventory_endpoint_bodies;
DROP TABLE inventory_endpoints;

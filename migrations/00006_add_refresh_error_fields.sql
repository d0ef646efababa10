-- +goose Up
-- Why a refresh failed, as structured fields rather than only a sentence:
-- the list page and the JSON API show the upstream's status, code, message
-- and request id, and a script can act on the code. error keeps the whole
-- error text, for the history. Rows written before this migration have
-- only error.
ALTER TABLE inventory_refreshes
    ADD COLUMN error_source     text CHECK (error_source IN ('upstream', 'console')),
    ADD COLUMN error_status     integer,
    ADD COLUMN error_code       text,
    ADD COLUMN error_message    text,
    ADD COLUMN error_request_id text;
COMMENT ON COLUMN inventory_refreshes.error IS 'The whole error of a failed refresh, as logged; the error_* columns are its parts.';
COMMENT ON COLUMN inventory_refreshes.error_source IS 'Whose failure a failed refresh was: upstream (an error answer, or no answer) or console (e.g. the list could not be stored).';
COMMENT ON COLUMN inventory_refreshes.error_status IS 'The upstream''s HTTP status of a failed refresh; NULL when no answer arrived or the console itself failed.';
COMMENT ON COLUMN inventory_refreshes.error_code IS 'The upstream''s error code (e.g. APIGW.0301, EndPoint.0001) of a failed refresh.';
COMMENT ON COLUMN inventory_refreshes.error_message IS 'Why a refresh failed, fit to show: the upstream''s message, or a plain description when there was no answer.';
COMMENT ON COLUMN inventory_refreshes.error_request_id IS 'The upstream''s request id (X-Request-Id) of a failed refresh, to quote to its support.';

-- +goose Down
COMMENT ON COLUMN inventory_refreshes.error IS 'Why the refresh failed, in plain words with the upstream status, code and request id.';
ALTER TABLE inventory_refreshes
    DROP COLUMN error_request_id,
    DROP COLUMN error_message,
    DROP COLUMN error_code,
    DROP COLUMN error_status,
    DROP COLUMN error_source;

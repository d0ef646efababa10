-- +goose Up
-- The fingerprint (policy.Fingerprint) of each editable endpoint's policy
-- as the refresh stored it, so that drift detection compares 10,000
-- endpoints with what the console last saw in one query, not by decoding
-- every body again. NULL for endpoints whose policy cannot be edited.
ALTER TABLE inventory_endpoints ADD COLUMN policy_fingerprint text;

-- +goose Down
ALTER TABLE inventory_endpoints DROP COLUMN policy_fingerprint;

-- +goose Up
-- A random key per installation, shared by every replica through the
-- database, for what the console signs or hashes with a key: the CSRF token
-- bound to a session, and the keyed hash that stands for a name no account
-- has at a failed sign-in (a name field may hold a password typed in the
-- wrong box, so the text itself is never kept).
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    secret     bytea       NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE server_secrets IS 'Keys the console makes itself on first use; as secret as the password hashes. Replacing one signs every browser out of its CSRF token and forgets which failed sign-ins were under one unknown name.';

-- Requests with an API token that named no live token, per client address,
-- so token guessing is throttled on every replica alike.
CREATE TABLE token_failures (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    client_ip text        NOT NULL
);
CREATE INDEX token_failures_ip ON token_failures (client_ip, at);

COMMENT ON TABLE login_failures IS 'Sign-in attempts of the last hours not (yet) followed by a success, counted per account and per client address so every replica throttles alike. A row is written before the password is checked, and a success deletes the account''s rows.';
COMMENT ON COLUMN login_failures.account_name IS 'The account''s name, or name-hmac1:<hex> (a keyed hash, see server_secrets) when no account has the name tried.';

-- Names tried at failed sign-ins before this migration were kept as text,
-- and a name field may hold a password: the ones no account has are
-- redacted (the key to hash them does not exist yet).
UPDATE security_events SET actor = 'name-redacted', subject = 'name-redacted'
WHERE kind IN ('sign_in_failed', 'sign_in_throttled') AND actor NOT IN (SELECT name FROM accounts);
DELETE FROM login_failures WHERE account_name NOT IN (SELECT name FROM accounts);

-- +goose Down
COMMENT ON COLUMN login_failures.account_name IS NULL;
COMMENT ON TABLE login_failures IS 'Failed sign-ins of the last hours, counted per account and per client address so every replica throttles alike.';
DROP TABLE token_failures;
DROP TABLE server_secrets;

-- +goose Up
-- Local accounts, their API tokens and sessions, the security event log and
-- the sign-in failure counts that throttle guessing. Everything an attacker
-- could replay (passwords, session tokens, API tokens) is stored only as a
-- hash: argon2id for passwords, SHA-256 for random 256-bit tokens.
CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
COMMENT ON COLUMN accounts.password_hash IS 'argon2id in PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash).';

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
COMMENT ON TABLE sessions IS 'Only identity and sign-in time: created_at is when the account signed in.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the cookie''s token; the token itself is never stored.';
CREATE INDEX sessions_account_id ON sessions (account_id);

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
COMMENT ON COLUMN api_tokens.token_hash IS 'SHA-256 of the token; the token is shown once, at creation.';
CREATE INDEX api_tokens_account_id ON api_tokens (account_id);

CREATE TABLE security_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    kind      text        NOT NULL,
    actor     text        NOT NULL,
    subject   text        NOT NULL DEFAULT '',
    client_ip text        NOT NULL DEFAULT '',
    detail    text        NOT NULL DEFAULT ''
);
COMMENT ON COLUMN security_events.actor IS 'Who acted: an account name, token:<id>, or the name tried at a failed sign-in.';
COMMENT ON COLUMN security_events.subject IS 'What was acted on, e.g. the account created or the path refused.';
CREATE INDEX security_events_at ON security_events (id DESC);

CREATE TABLE login_failures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    account_name text        NOT NULL,
    client_ip    text        NOT NULL
);
COMMENT ON TABLE login_failures IS 'Failed sign-ins of the last hours, counted per account and per client address so every replica throttles alike.';
CREATE INDEX login_failures_account ON login_failures (account_name, at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, at);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE security_events;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE accounts;

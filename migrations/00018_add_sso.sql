-- +goose Up
-- Single sign-on with OpenID Connect. An account made at a first sign-in
-- through the provider is 'oidc' and is found again by the provider's
-- (issuer, subject), never by its name: a local account whose name equals
-- what the provider calls someone is never taken over. Local accounts keep
-- NULL there (UNIQUE lets any number of NULLs through).
ALTER TABLE accounts
    ADD COLUMN source       text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'oidc')),
    ADD COLUMN issuer       text,
    ADD COLUMN subject      text,
    ADD COLUMN display_name text,
    ADD CONSTRAINT accounts_issuer_subject_key UNIQUE (issuer, subject),
    ADD CONSTRAINT accounts_source_identity CHECK (CASE source
        WHEN 'local' THEN issuer IS NULL AND subject IS NULL
        ELSE issuer IS NOT NULL AND subject IS NOT NULL END),
    -- password_hash stays NOT NULL: an account from the provider holds a
    -- marker that is no argon2id hash, so no password can ever match it.
    ADD CONSTRAINT accounts_oidc_no_password CHECK (source = 'local' OR password_hash NOT LIKE '$argon2id$%');
COMMENT ON COLUMN accounts.source IS 'local: signs in with a password; oidc: made at a first single sign-on, signs in only through the provider.';
COMMENT ON COLUMN accounts.issuer IS 'The OpenID provider''s issuer URL (oidc accounts only).';
COMMENT ON COLUMN accounts.subject IS 'The provider''s stable id of the person (the ID token''s sub), unique per issuer.';
COMMENT ON COLUMN accounts.display_name IS 'The name the provider gave at the last sign-in, for audit and the accounts page.';

-- One row per single sign-on attempt, between sending the browser to the
-- provider and its return: deleted when used, so a replayed state is not
-- found. Only the state's hash is kept; the nonce and the PKCE verifier are
-- worthless without the authorization code, which is never stored.
CREATE TABLE sso_states (
    state_hash text PRIMARY KEY,
    nonce      text        NOT NULL,
    verifier   text        NOT NULL,
    next       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
COMMENT ON COLUMN sso_states.state_hash IS 'SHA-256 of the state parameter; the state itself is only in the browser''s round trip.';
COMMENT ON COLUMN sso_states.next IS 'The local path to return to after signing in.';
-- Expired attempts are pruned by age.
CREATE INDEX sso_states_expires_at ON sso_states (expires_at);

-- +goose Down
DROP TABLE sso_states;
ALTER TABLE accounts DROP CONSTRAINT accounts_oidc_no_password;
-- Without the columns an account from the provider would look local: it
-- is kept (audit entries name it) but disabled, with a hash of the
-- argon2id form that is the hash of no password, so sign-in refuses it as
-- it refuses a wrong password.
UPDATE accounts SET disabled = true,
    password_hash = '$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
WHERE source = 'oidc';
DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE source = 'oidc');
ALTER TABLE accounts
    DROP CONSTRAINT accounts_source_identity,
    DROP CONSTRAINT accounts_issuer_subject_key,
    DROP COLUMN display_name,
    DROP COLUMN subject,
    DROP COLUMN issuer,
    DROP COLUMN source;

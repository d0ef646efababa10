package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// Migration 00018 applies to a database holding version 17's schema with
// accounts: they become local accounts, keep their passwords, grants and
// sessions, and sign in as before. Rolling it back keeps an SSO account
// but disabled, with a hash no password matches.
func TestMigration18KeepsAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Empty(t))
	m, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.UpTo(ctx, 17); err != nil {
		t.Fatal(err)
	}
	hash, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO accounts (name, password_hash, role, last_login_at) VALUES ('ada', $1, 'editor', now()), ('bo', $1, 'viewer', NULL)`, []any{hash}},
		{`INSERT INTO account_project_roles (account_id, project, role) SELECT id, 'beijing', 'none' FROM accounts WHERE name = 'ada'`, nil},
		{`INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) SELECT $1, id, now(), now() FROM accounts WHERE name = 'ada'`, []any{hashToken("ada's session")}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}

	s := NewStore(pool)
	all, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Account{
		{Name: "ada", Role: Editor, Source: SourceLocal, Projects: map[string]Role{"beijing": NoAccess}},
		{Name: "bo", Role: Viewer, Source: SourceLocal, Projects: map[string]Role{}},
	}
	if diff := cmp.Diff(want, all, ignoreMade); diff != "" {
		t.Errorf("accounts after 00018 (-want +got):\n%s", diff)
	}
	if a, _, err := s.SignIn(ctx, "ada", pw, "192.0.2.1"); err != nil || a.Source != SourceLocal {
		t.Errorf("password sign-in after 00018: %+v %v", a, err)
	}
	if a, _, err := s.SessionAccount(ctx, "ada's session", SessionConfig{Idle: time.Hour, Absolute: time.Hour}); err != nil || a.Name != "ada" {
		t.Errorf("a session from before 00018: %+v %v", a, err)
	}

	// The schema holds what the code relies on.
	for _, tt := range []struct{ name, sql, constraint string }{
		{"a local account with a provider's identity", `INSERT INTO accounts (name, password_hash, role, issuer, subject) VALUES ('x1', 'h', 'viewer', 'https://i', 's')`, "accounts_source_identity"},
		{"an oidc account without one", `INSERT INTO accounts (name, password_hash, role, source) VALUES ('x2', '!oidc', 'viewer', 'oidc')`, "accounts_source_identity"},
		{"an oidc account with a password hash", `INSERT INTO accounts (name, password_hash, role, source, issuer, subject) VALUES ('x3', '` + hash + `', 'viewer', 'oidc', 'https://i', 's')`, "accounts_oidc_no_password"},
		{"another source", `INSERT INTO accounts (name, password_hash, role, source, issuer, subject) VALUES ('x4', '!', 'viewer', 'ldap', 'https://i', 's')`, "accounts_source_check"},
		{"one identity twice", `INSERT INTO accounts (name, password_hash, role, source, issuer, subject)
			VALUES ('x5', '!', 'viewer', 'oidc', 'https://i', 's'), ('x6', '!', 'viewer', 'oidc', 'https://i', 's')`, "accounts_issuer_subject_key"},
	} {
		_, err := pool.Exec(ctx, tt.sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.ConstraintName != tt.constraint {
			t.Errorf("%s: %v, want a violation of %s", tt.name, err, tt.constraint)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sso_states (state_hash, nonce, verifier, next, expires_at) VALUES ('h', 'n', 'v', '/', now() + interval '10 minutes')`); err != nil {
		t.Errorf("sso_states: %v", err)
	}

	sso, err := s.SignInSSO(ctx, ident("sub-1", "ada", "Ada L."), Admin, map[string]Role{"beijing": Editor})
	if err != nil || sso.Name != "ada-2" {
		t.Fatalf("first single sign-on after 00018: %+v %v", sso, err)
	}
	if _, err := s.StartSession(ctx, sso.ID); err != nil {
		t.Fatal(err)
	}

	// Down, and up again.
	if err := m.Down(ctx); err != nil {
		t.Fatal(err)
	}
	var disabled bool
	var ssoHash string
	var sessions int
	if err := pool.QueryRow(ctx, `SELECT disabled, password_hash, (SELECT count(*) FROM sessions WHERE account_id = $1) FROM accounts WHERE id = $1`, sso.ID).
		Scan(&disabled, &ssoHash, &sessions); err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyPassword("", ssoHash); !disabled || ok || err != nil || sessions != 0 {
		t.Errorf("the SSO account after rolling 00018 back: disabled %v, hash %q (%v, %v), %d sessions", disabled, ssoHash, ok, err, sessions)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if a, _, err := s.SignIn(ctx, "ada", pw, "192.0.2.1"); err != nil {
		t.Errorf("password sign-in after down and up: %+v %v", a, err)
	}
	// Back up, the old SSO account is a disabled local one (no password
	// signs it in): its person gets a new account.
	if former, err := s.AccountByName(ctx, "ada-2"); err != nil || !former.Disabled || former.Source != SourceLocal {
		t.Errorf("the former SSO account after down and up: %+v, %v; want a disabled local account", former, err)
	}
	if _, _, err := s.SignIn(ctx, "ada-2", "", "192.0.2.1"); !errors.Is(err, ErrBadCredential) {
		t.Errorf("password sign-in of the former SSO account: %v", err)
	}
	if a, err := s.SignInSSO(ctx, ident("sub-1", "ada", "Ada L."), Admin, nil); err != nil || a.Name != "ada-3" {
		t.Errorf("single sign-on after down and up: %+v %v", a, err)
	}
}

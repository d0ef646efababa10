package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Role is what an account may do. Each role includes the ones before it.
type Role string

// Roles, weakest first.
const (
	Viewer Role = "viewer" // browse endpoints, read the audit log and exports
	Editor Role = "editor" // also edit policies and roll back
	Admin  Role = "admin"  // also manage accounts and API tokens
)

var roleRank = map[Role]int{Viewer: 1, Editor: 2, Admin: 3}

// OtherProjects is the grant key for every project the account has no
// grant of its own in (a person whose single sign-on groups give only
// some projects has none elsewhere, a project added later included). No
// project name can be it: names are slugs.
const OtherProjects = "*"

// NoAccess is a per-project grant that takes a project away from an
// account (Account.Projects): it allows nothing. It is never an account's
// own role.
const NoAccess Role = "none"

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if roleRank[r] == 0 {
		return "", fmt.Errorf("auth: role must be viewer, editor or admin, not %q", s)
	}
	return r, nil
}

// ParseGrant reads a per-project grant: a role, or "none" (NoAccess).
func ParseGrant(s string) (Role, error) {
	if r := Role(s); r == NoAccess || r == Viewer || r == Editor {
		return r, nil
	}
	return "", fmt.Errorf("auth: a project grant must be none, viewer or editor (admin is console-wide), not %q", s)
}

// GrantWords says a project grant as the security events record it: ""
// is the account's own role again.
func GrantWords(r Role) string {
	if r == "" {
		return "the account's role"
	}
	return string(r)
}

// Rank orders roles: 0 for none (and no role), then viewer, editor, admin.
func (r Role) Rank() int { return roleRank[r] }

// Allows reports whether r includes required.
func (r Role) Allows(required Role) bool { return roleRank[r] >= roleRank[required] && roleRank[r] > 0 }

// Account is an account of the console: local, or made at a first single
// sign-on (Source).
type Account struct {
	ID          int64
	Name        string
	Role        Role
	Disabled    bool
	CreatedAt   time.Time
	LastLoginAt *time.Time
	// Source is SourceLocal or SourceOIDC; Issuer and Subject are the
	// provider's identity of an SSOIdentity account ("" for a local one),
	// DisplayName its name at the provider at the last sign-in ("" when none).
	Source      string
	Issuer      string
	Subject     string
	DisplayName string
	// Projects are the account's per-project grants, by project name; a
	// project not in it gets Role (see RoleIn).
	Projects map[string]Role
}

// RoleIn is what a may do in the project named project: everything for a
// console admin (admin stays global), else the project's grant when there
// is one (NoAccess: nothing), else the account's role.
func (a *Account) RoleIn(project string) Role {
	if a.Role == Admin {
		return Admin
	}
	r, ok := a.Projects[project]
	if !ok {
		r, ok = a.Projects[OtherProjects]
	}
	if ok {
		if r == Admin {
			return Editor // admin is console-wide: a grant never makes one
		}
		return r
	}
	return a.Role
}

// Errors of the account store.
var (
	ErrNotFound      = errors.New("auth: no such account")
	ErrNameTaken     = errors.New("auth: an account with this name exists")
	ErrBadName       = errors.New("auth: an account name is 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	ErrBadCredential = errors.New("auth: wrong name or password")
	ErrDisabled      = errors.New("auth: the account is disabled")
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Store keeps accounts, sessions, tokens, events and sign-in failures.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	gate *passwordGate
	// firstDelay is the wait after the free failures, doubled after each
	// next one; see SetFirstDelay.
	firstDelay time.Duration

	keyMu sync.Mutex             // held while the key is first read
	key   atomic.Pointer[[]byte] // the installation's HMAC key, once read (see secret)

	lastPrune atomic.Int64 // when old failure counts were last dropped, in Unix nanoseconds
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, now: time.Now, gate: newPasswordGate()}
}

// CreateAccount adds an account with a password.
func (s *Store) CreateAccount(ctx context.Context, name, password string, role Role) (*Account, error) {
	if !nameRE.MatchString(name) {
		return nil, ErrBadName
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	a := &Account{Name: name, Role: role, Source: SourceLocal}
	err = s.pool.QueryRow(ctx, `INSERT INTO accounts (name, password_hash, role) VALUES ($1, $2, $3) RETURNING id, created_at`,
		name, hash, role).Scan(&a.ID, &a.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return nil, ErrNameTaken
	}
	if err != nil {
		return nil, fmt.Errorf("auth: create account: %w", err)
	}
	return a, nil
}

// accountColumns are what Account holds of the accounts row a (in this
// order: accountFields), its grants included: read in the same query, so
// the session lookup on every request stays one round trip (one probe of
// account_project_roles' primary key).
const accountColumns = `a.id, a.name, a.role, a.disabled, a.created_at, a.last_login_at,
	a.source, coalesce(a.issuer, ''), coalesce(a.subject, ''), coalesce(a.display_name, ''),
	(SELECT coalesce(json_object_agg(g.project, g.role), '{}') FROM account_project_roles g WHERE g.account_id = a.id)`

// accountFields are where accountColumns are scanned to.
func accountFields(a *Account) []any {
	return []any{&a.ID, &a.Name, &a.Role, &a.Disabled, &a.CreatedAt, &a.LastLoginAt,
		&a.Source, &a.Issuer, &a.Subject, &a.DisplayName, &a.Projects}
}

func scanAccount(row pgx.Row) (*Account, error) {
	var a Account
	err := row.Scan(accountFields(&a)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read account: %w", err)
	}
	return &a, nil
}

// AccountByName returns the account called name.
func (s *Store) AccountByName(ctx context.Context, name string) (*Account, error) {
	return scanAccount(s.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.name = $1`, name))
}

// Accounts lists every account by name.
func (s *Store) Accounts(ctx context.Context) ([]*Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts a ORDER BY a.name`)
	if err != nil {
		return nil, fmt.Errorf("auth: list accounts: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Account, error) { return scanAccount(r) })
}

// accountWithHash reads an account and its password hash; ErrNotFound when
// no account has the name.
func (s *Store) accountWithHash(ctx context.Context, name string) (*Account, string, error) {
	var hash string
	var a Account
	err := s.pool.QueryRow(ctx, `SELECT `+accountColumns+`, a.password_hash FROM accounts a WHERE a.name = $1`, name).
		Scan(append(accountFields(&a), &hash)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("auth: read account: %w", err)
	}
	return &a, hash, nil
}

// checkPassword checks password against a's hash (a nil, or an account
// from single sign-on, which has no password: against a dummy hash, so an
// unknown name or an SSO account takes as long as a wrong password). A
// disabled account gets ErrDisabled only after its password checked out,
// so the error does not reveal which accounts exist. The check waits for a
// slot of the password gate, or fails with ErrBusy.
func (s *Store) checkPassword(ctx context.Context, a *Account, hash, password string) (*Account, error) {
	if len(password) > MaxPasswordLength {
		return nil, ErrBadCredential
	}
	if a == nil || a.Source != SourceLocal {
		if _, err := s.verifyPassword(ctx, password, dummyHash); errors.Is(err, ErrBusy) {
			return nil, err
		}
		if a != nil {
			return nil, errSSOPasswordSignIn
		}
		return nil, ErrBadCredential
	}
	ok, err := s.verifyPassword(ctx, password, hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadCredential
	}
	if a.Disabled {
		return nil, ErrDisabled
	}
	return a, nil
}

// SetPassword changes an account's password and ends its sessions. An
// account from single sign-on has none: ErrSSOAccount.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	err = s.updateAndSignOut(ctx, name, `UPDATE accounts SET password_hash = $2 WHERE name = $1 AND source = 'local' RETURNING id`, hash)
	if errors.Is(err, ErrNotFound) {
		if a, findErr := s.AccountByName(ctx, name); findErr == nil && a.Source != SourceLocal {
			return ErrSSOAccount
		}
	}
	return err
}

// SetRole changes an account's role and ends its sessions at once.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.updateAndSignOut(ctx, name, `UPDATE accounts SET role = $2 WHERE name = $1 RETURNING id`, role)
}

// SetDisabled disables or enables an account; disabling ends its sessions at once.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateAndSignOut(ctx, name, `UPDATE accounts SET disabled = $2 WHERE name = $1 RETURNING id`, disabled)
}

// SetProjectRole sets the account's grant in the project named project
// (NoAccess takes the project away), or removes it when role is "". Its
// sessions stay: the grant applies from its next request, which reads the
// grants with the account.
func (s *Store) SetProjectRole(ctx context.Context, accountName, project string, role Role) error {
	if project == "" {
		return errors.New("auth: a project grant needs a project")
	}
	if role != "" {
		if _, err := ParseGrant(string(role)); err != nil {
			return err
		}
	}
	var err error
	if role == "" {
		err = s.pool.QueryRow(ctx, `
			WITH a AS (SELECT id FROM accounts WHERE name = $1),
			gone AS (DELETE FROM account_project_roles g USING a WHERE g.account_id = a.id AND g.project = $2)
			SELECT id FROM a`, accountName, project).Scan(new(int64))
	} else {
		err = s.pool.QueryRow(ctx, `
			INSERT INTO account_project_roles (account_id, project, role)
			SELECT id, $2, $3 FROM accounts WHERE name = $1
			ON CONFLICT (account_id, project) DO UPDATE SET role = EXCLUDED.role
			RETURNING account_id`, accountName, project, role).Scan(new(int64))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("auth: set project role: %w", err)
	}
	return nil
}

// updateAndSignOut runs an account update and deletes the account's
// sessions in the same transaction.
func (s *Store) updateAndSignOut(ctx context.Context, name, update string, arg any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, update, name, arg).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("auth: update account: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("auth: end sessions: %w", err)
		}
		return nil
	})
}

// newToken returns a random 256-bit token and its SHA-256 hash.
func newToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

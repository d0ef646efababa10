package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/pglock"
)

// Where an account comes from (Account.Source).
const (
	SourceLocal = "local" // made by an admin, signs in with a password
	SourceOIDC  = "oidc"  // made at a first single sign-on, signs in only through the provider
)

// SSOIdentity is who the OpenID provider says signed in, from a verified ID token.
type SSOIdentity struct {
	Issuer        string // the provider's issuer URL
	Subject       string // the ID token's sub: stable per person at the issuer
	PreferredName string // what the account's name is made from at the first sign-in
	DisplayName   string // the person's name, kept up to date at every sign-in
}

// ErrSSOAccount means the account signs in only through the provider: it
// has no password to check or set. A password sign-in of one fails with an
// error that is also ErrBadCredential (errSSOPasswordSignIn), so it is
// refused and counted like a wrong password, and the caller may still tell
// the two apart in its security event.
var ErrSSOAccount = errors.New("auth: the account signs in through single sign-on and has no password")

// ErrBadSSOIdentity means the provider's identity cannot be an account's:
// no issuer or subject, or one too long or not text.
var ErrBadSSOIdentity = errors.New("auth: the identity provider's answer names no usable identity")

var errSSOPasswordSignIn = fmt.Errorf("%w (%w)", ErrBadCredential, ErrSSOAccount)

// noPassword is the password_hash of an account from the provider: not of
// the argon2id form, so VerifyPassword never accepts it (and the schema
// refuses an argon2id hash on such an account).
const noPassword = "!oidc"

// SignInSSO records a sign-in through the provider and returns the account,
// its grants filled: the account with id's (issuer, subject), or a new
// 'oidc' account named after id.PreferredName (see ssoName). Its role and
// per-project grants become role and grants, replacing what it had, since
// the provider's groups are the truth at every sign-in. A disabled account
// is ErrDisabled and nothing is changed. One transaction.
func (s *Store) SignInSSO(ctx context.Context, id SSOIdentity, role Role, grants map[string]Role) (*Account, error) {
	if !identityPart(id.Issuer) || !identityPart(id.Subject) {
		return nil, fmt.Errorf("%w: a single sign-on identity needs an issuer and a subject of 1 to %d bytes of text", ErrBadSSOIdentity, maxIdentityPart)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	projects := make([]string, 0, len(grants))
	roles := make([]string, 0, len(grants))
	for p, r := range grants {
		if p == "" {
			return nil, errors.New("auth: a project grant needs a project")
		}
		if _, err := ParseGrant(string(r)); err != nil {
			return nil, err
		}
		projects, roles = append(projects, p), append(roles, string(r))
	}
	var a *Account
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two first sign-ins of one person at once (a double click, two
		// tabs) must not make two accounts: one at a time per identity.
		if err := pglock.XactLock(ctx, tx, "vpcep-sso-identity:"+hashToken(id.Issuer+"\x00"+id.Subject)); err != nil {
			return fmt.Errorf("auth: lock single sign-on identity: %w", err)
		}
		// FOR UPDATE: an admin disabling the account meanwhile waits for
		// this sign-in, or this one sees it disabled.
		var accountID int64
		var disabled bool
		err := tx.QueryRow(ctx, `SELECT id, disabled FROM accounts WHERE issuer = $1 AND subject = $2 FOR UPDATE`,
			id.Issuer, id.Subject).Scan(&accountID, &disabled)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if accountID, err = createSSOAccount(ctx, tx, id, role); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("auth: find single sign-on account: %w", err)
		case disabled:
			return ErrDisabled
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET role = $2, display_name = $3, last_login_at = $4 WHERE id = $1`,
			accountID, role, displayName(id.DisplayName), s.now()); err != nil {
			return fmt.Errorf("auth: update single sign-on account: %w", err)
		}
		if err := replaceGrants(ctx, tx, accountID, projects, roles); err != nil {
			return err
		}
		a, err = scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1`, accountID))
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// maxIdentityPart bounds an issuer and a subject: OpenID Connect's sub is
// at most 255 characters, and both go in one unique index.
const maxIdentityPart = 1024

// identityPart says whether s can be an issuer or a subject: text Postgres
// can store (valid UTF-8, no NUL), not empty, not too long.
func identityPart(s string) bool {
	return s != "" && len(s) <= maxIdentityPart && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// createSSOAccount inserts the account of a first sign-in under the first
// free name of ssoNames. Its name is never looked up to find the account
// again: a local account (or another person's) holding the name keeps it.
func createSSOAccount(ctx context.Context, tx pgx.Tx, id SSOIdentity, role Role) (int64, error) {
	base := ssoName(id.PreferredName, id.Subject)
	for n := 1; n <= maxNumberedNames+randomNameTries; n++ {
		name := nameWithSuffix(base, n)
		var accountID int64
		// DO NOTHING on a taken name rather than an error, which would end
		// the transaction; the identity itself is locked, so only a name
		// can be taken here.
		err := tx.QueryRow(ctx, `
			INSERT INTO accounts (name, password_hash, role, source, issuer, subject, display_name)
			VALUES ($1, $2, $3, 'oidc', $4, $5, $6)
			ON CONFLICT DO NOTHING RETURNING id`,
			name, noPassword, role, id.Issuer, id.Subject, displayName(id.DisplayName)).Scan(&accountID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("auth: create single sign-on account: %w", err)
		}
		return accountID, nil
	}
	return 0, fmt.Errorf("auth: create single sign-on account: no free name like %q", base)
}

// After base, base-2 ... base-20 a name gets a random suffix: a few tries,
// not a walk through every taken number.
const (
	maxNumberedNames = 20
	randomNameTries  = 5
)

// nameWithSuffix is the n-th name tried for base: base itself, then
// base-2, base-3 ..., then base-<random hex>; base is shortened so that
// the suffix fits the 63 characters of a name.
func nameWithSuffix(base string, n int) string {
	if n == 1 {
		return base
	}
	var suffix string
	if n <= maxNumberedNames {
		suffix = "-" + strconv.Itoa(n)
	} else {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		suffix = "-" + hex.EncodeToString(b)
	}
	if len(base)+len(suffix) > maxNameLength {
		base = strings.TrimRight(base[:maxNameLength-len(suffix)], ".-_")
	}
	return base + suffix
}

const maxNameLength = 63

// ssoName makes an account name (nameRE) of what the provider calls the
// person: lower case, the part before an '@' of an address, each run of
// other characters than letters, digits, '.', '_' and '-' one '-', and no
// punctuation at either end. When nothing is left, of the subject; else "user".
func ssoName(preferred, subject string) string {
	for _, s := range []string{preferred, subject} {
		if at := strings.IndexByte(s, '@'); at > 0 {
			s = s[:at]
		}
		if name := sanitiseName(s); name != "" {
			return name
		}
	}
	return "user"
}

func sanitiseName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			dash = r == '-'
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), ".-_")
	if len(name) > maxNameLength {
		name = strings.TrimRight(name[:maxNameLength], ".-_")
	}
	return name
}

// maxDisplayName bounds what a provider's name claim can put in the
// database, the audit log and every page that names the account.
const maxDisplayName = 200

// displayName is what is stored of a provider's name for the person: at
// most maxDisplayName characters of valid UTF-8 on one line, NULL when empty.
func displayName(s string) *string {
	// No line breaks or other control characters: it is shown in one line.
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > maxDisplayName {
		s = string(r[:maxDisplayName])
	}
	if s == "" {
		return nil
	}
	return &s
}

// EndSSOAccess takes away what the account of (issuer, subject) may do,
// when the provider no longer puts the person in any mapped group: its
// role becomes viewer with no access to any project, and its sessions
// end, so a browser still signed in elsewhere loses it now rather than at
// SESSION_LIFETIME. It returns the account's name; found is false when the
// person never signed in. One transaction.
func (s *Store) EndSSOAccess(ctx context.Context, issuer, subject string) (name string, found bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `UPDATE accounts SET role = 'viewer'
			WHERE source = 'oidc' AND issuer = $1 AND subject = $2 RETURNING id, name`, issuer, subject).Scan(&id, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth: end single sign-on access: %w", err)
		}
		found = true
		if err := replaceGrants(ctx, tx, id, []string{OtherProjects}, []string{string(NoAccess)}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = $1`, id); err != nil {
			return fmt.Errorf("auth: end sessions: %w", err)
		}
		return nil
	})
	return name, found, err
}

// replaceGrants makes an account's per-project grants exactly projects[i]
// -> roles[i], in tx.
func replaceGrants(ctx context.Context, tx pgx.Tx, accountID int64, projects, roles []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM account_project_roles WHERE account_id = $1`, accountID); err != nil {
		return fmt.Errorf("auth: replace project grants: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO account_project_roles (account_id, project, role)
		SELECT $1, p, r FROM unnest($2::text[], $3::text[]) AS g (p, r)`, accountID, projects, roles); err != nil {
		return fmt.Errorf("auth: replace project grants: %w", err)
	}
	return nil
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// TokenPrefix starts every API token, so a leaked one is easy to recognise.
const TokenPrefix = "vpcep_"

// Token is an API token's record (never the token itself).
type Token struct {
	ID          int64
	AccountID   int64
	AccountName string
	Name        string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	LastUsedAt  *time.Time
	ReadOnly    bool // acts as a viewer whatever the account's role
}

// Active reports whether the token can be used at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// ErrBadToken means the bearer token is unknown, revoked or expired.
var ErrBadToken = errors.New("auth: invalid API token")

// CreateToken makes an API token for the account; the returned token is
// shown once and only its hash is kept. expires 0 means no expiry.
func (s *Store) CreateToken(ctx context.Context, accountName, name string, expires time.Duration) (string, *Token, error) {
	return s.createToken(ctx, accountName, name, expires, false)
}

// CreateReadOnlyToken is CreateToken for a token that acts as a viewer.
func (s *Store) CreateReadOnlyToken(ctx context.Context, accountName, name string, expires time.Duration) (string, *Token, error) {
	return s.createToken(ctx, accountName, name, expires, true)
}

func (s *Store) createToken(ctx context.Context, accountName, name string, expires time.Duration, readOnly bool) (string, *Token, error) {
	a, err := s.AccountByName(ctx, accountName)
	if err != nil {
		return "", nil, err
	}
	if a.Source == SourceOIDC {
		// Its role follows the provider's groups at each sign-in; a token
		// would keep acting after the person left the group.
		return "", nil, ErrSSOAccount
	}
	if name == "" || len(name) > 100 {
		return "", nil, errors.New("auth: a token needs a name of at most 100 characters")
	}
	token, hash := newToken(TokenPrefix)
	t := &Token{AccountID: a.ID, AccountName: a.Name, Name: name, ReadOnly: readOnly}
	if expires > 0 {
		at := s.now().Add(expires)
		t.ExpiresAt = &at
	}
	if err := s.pool.QueryRow(ctx, `INSERT INTO api_tokens (account_id, name, token_hash, expires_at, read_only) VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
		a.ID, name, hash, t.ExpiresAt, readOnly).Scan(&t.ID, &t.CreatedAt); err != nil {
		return "", nil, fmt.Errorf("auth: create token: %w", err)
	}
	return token, t, nil
}

// TokenAccount returns the account a bearer token acts for.
func (s *Store) TokenAccount(ctx context.Context, token string) (*Account, *Token, error) {
	r, err := s.readToken(ctx, token, "")
	if err != nil {
		return nil, nil, err
	}
	return r.account, r.token, nil
}

// tokenRead is what one look-up of a bearer token found.
type tokenRead struct {
	account *Account
	token   *Token
	// failures from the client's address in the last hour, and how long
	// until the oldest leaves the hour (CheckToken's throttle)
	failures int
	wait     time.Duration
}

// readToken looks a bearer token up, with the bad tokens counted from
// clientIP, in one round trip: a request with a token costs one query
// (two once a minute, when its last use is written). ErrBadToken when the
// token is unknown, revoked or expired or its account disabled.
func (s *Store) readToken(ctx context.Context, token, clientIP string) (tokenRead, error) {
	var a Account
	var t Token
	var r tokenRead
	var waitSeconds float64
	var touch bool
	err := s.pool.QueryRow(ctx, `
		SELECT t.id, t.account_id, t.name, t.created_at, t.expires_at, t.revoked_at, t.read_only,
			`+accountColumns+`,
			t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute',
			f.n, f.wait
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id,
			LATERAL (
				SELECT count(*) AS n, coalesce(extract(epoch FROM min(at) + interval '1 hour' - clock_timestamp()), 0)::float8 AS wait
				FROM token_failures WHERE client_ip = $2 AND at > now() - interval '1 hour'
			) f
		WHERE t.token_hash = $1`, hashToken(token), clientIP,
	).Scan(slices.Concat([]any{&t.ID, &t.AccountID, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.ReadOnly},
		accountFields(&a), []any{&touch, &r.failures, &waitSeconds})...)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrBadToken
	}
	if err != nil {
		return r, fmt.Errorf("auth: read token: %w", err)
	}
	r.wait = max(time.Duration(waitSeconds*float64(time.Second)), time.Second)
	if !t.Active(s.now()) || a.Disabled {
		return r, ErrBadToken
	}
	t.AccountName = a.Name
	if touch {
		_, _ = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, t.ID)
	}
	r.account, r.token = &a, &t
	return r, nil
}

// Tokens lists tokens, newest first: one account's, or all when accountID is 0.
func (s *Store) Tokens(ctx context.Context, accountID int64) ([]*Token, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT t.id, t.account_id, a.name, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, t.read_only
		FROM api_tokens t JOIN accounts a ON a.id = t.account_id
		WHERE $1 = 0 OR t.account_id = $1 ORDER BY t.id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.AccountID, &t.AccountName, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.ReadOnly)
		return &t, err
	})
}

// RevokeToken revokes a token; ownerID limits it to that account's tokens
// (0: any token, for admins). It returns the token revoked.
func (s *Store) RevokeToken(ctx context.Context, id, ownerID int64) (*Token, error) {
	var t Token
	err := s.pool.QueryRow(ctx, `
		UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND ($2 = 0 OR account_id = $2)
		RETURNING id, account_id, name`, id, ownerID).Scan(&t.ID, &t.AccountID, &t.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: revoke token: %w", err)
	}
	return &t, nil
}

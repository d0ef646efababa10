package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SessionConfig bounds sessions (ASVS 3.3: idle and absolute timeouts).
type SessionConfig struct {
	Idle     time.Duration // ends a session unused this long (default 30 min)
	Absolute time.Duration // ends a session this long after sign-in (default 12 h)
}

// Session is a signed-in browser.
type Session struct {
	AccountID int64
	SignedIn  time.Time
}

// ErrNoSession means the token names no live session.
var ErrNoSession = errors.New("auth: no session")

// StartSession records a new session for account and returns its token,
// which only the cookie holds.
func (s *Store) StartSession(ctx context.Context, accountID int64) (string, error) {
	token, hash := newToken("")
	now := s.now()
	if _, err := s.pool.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)`,
		hash, accountID, now); err != nil {
		return "", fmt.Errorf("auth: start session: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE accounts SET last_login_at = $2 WHERE id = $1`, accountID, now); err != nil {
		return "", fmt.Errorf("auth: record sign-in: %w", err)
	}
	return token, nil
}

// SessionAccount returns the account of the session token, ending the
// session when it is idle or too old, or when the account is disabled.
// Activity is written at most once a minute, not on every request.
func (s *Store) SessionAccount(ctx context.Context, token string, cfg SessionConfig) (*Account, Session, error) {
	if token == "" {
		return nil, Session{}, ErrNoSession
	}
	hash := hashToken(token)
	var sess Session
	var lastSeen time.Time
	var a Account
	err := s.pool.QueryRow(ctx, `
		SELECT s.account_id, s.created_at, s.last_seen_at, `+accountColumns+`
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1`, hash,
	).Scan(append([]any{&sess.AccountID, &sess.SignedIn, &lastSeen}, accountFields(&a)...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, Session{}, ErrNoSession
	}
	if err != nil {
		return nil, Session{}, fmt.Errorf("auth: read session: %w", err)
	}
	now := s.now()
	if a.Disabled || now.Sub(lastSeen) > cfg.Idle || now.Sub(sess.SignedIn) > cfg.Absolute {
		_ = s.EndSession(ctx, token)
		return nil, Session{}, ErrNoSession
	}
	if now.Sub(lastSeen) > time.Minute {
		if _, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`, hash, now); err != nil {
			return nil, Session{}, fmt.Errorf("auth: touch session: %w", err)
		}
	}
	return &a, sess, nil
}

// EndSession deletes the session of token.
func (s *Store) EndSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// SessionCount returns how many sessions an account has (for tests and the admin page).
func (s *Store) SessionCount(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE account_id = $1`, accountID).Scan(&n)
	return n, err
}

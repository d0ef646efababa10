package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// secretName names the installation's HMAC key in server_secrets. Every
// use of the key prefixes its input with its own label (below), so one
// value can never stand for another.
const secretName = "hmac-v1"

// Labels of what the key signs; each carries a format version.
const (
	labelCSRF        = "csrf-v1\x00"
	labelUnknownName = "sign-in-name-v1\x00"
)

// UnknownNamePrefix starts what stands for a sign-in name no account has,
// in security events and the sign-in failure counts.
const UnknownNamePrefix = "name-hmac1:"

// secret returns the installation's HMAC key, making it on first use. All
// replicas read the same row; the first to insert wins.
// Once read, the key is taken without a lock.
func (s *Store) secret(ctx context.Context) ([]byte, error) {
	if key := s.key.Load(); key != nil {
		return *key, nil
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if key := s.key.Load(); key != nil {
		return *key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, secretName, fresh); err != nil {
		return nil, fmt.Errorf("auth: store server secret: %w", err)
	}
	// A separate statement, so that it sees a row another replica committed
	// while the insert above waited for it.
	var key []byte
	if err := s.pool.QueryRow(ctx, `SELECT secret FROM server_secrets WHERE name = $1`, secretName).Scan(&key); err != nil {
		return nil, fmt.Errorf("auth: read server secret: %w", err)
	}
	s.key.Store(&key)
	return key, nil
}

func (s *Store) mac(ctx context.Context, label, value string) ([]byte, error) {
	key, err := s.secret(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	m.Write([]byte(value))
	return m.Sum(nil), nil
}

// UnknownName returns what stands for a sign-in name no account has: a
// keyed hash, so that failures under one mistyped name still count
// together, while the text (which may be a password typed in the wrong
// box) is kept nowhere.
func (s *Store) UnknownName(ctx context.Context, name string) (string, error) {
	sum, err := s.mac(ctx, labelUnknownName, name)
	if err != nil {
		return "", err
	}
	return UnknownNamePrefix + hex.EncodeToString(sum[:16]), nil
}

// CSRFToken returns the CSRF token of a session: a MAC of the session
// token's hash, so it changes with every session, is worth nothing in
// another one, and needs no storage.
func (s *Store) CSRFToken(ctx context.Context, sessionToken string) (string, error) {
	sum, err := s.mac(ctx, labelCSRF, hashToken(sessionToken))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

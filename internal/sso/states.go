package sso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// StateLifetime is how long a sign-in attempt may take at the provider (and
// its browser cookie lives).
const StateLifetime = 10 * time.Minute

// pendingSignIn is one sign-in attempt under way: what Finish needs back
// when the provider sends the browser to the callback with the state.
type pendingSignIn struct {
	Nonce     string // the ID token must carry it
	Verifier  string // PKCE: proves the code is redeemed by who asked for it
	Next      string // where to go once signed in
	ExpiresAt time.Time
}

// errNoState is a state that is unknown, used already or expired.
var errNoState = errors.New("sso: no such sign-in attempt")

// hashState is how a state is kept: whoever reads the table cannot answer
// for a sign-in under way.
func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// pgStates keeps the sign-in attempts under way in the sso_states table,
// by the hash of their state. Take is the one use: it removes the attempt.
type pgStates struct{ pool *pgxpool.Pool }

// Put stores an attempt and drops the expired ones, so that the table
// holds only the attempts of the last minutes.
func (s pgStates) Put(ctx context.Context, stateHash string, p pendingSignIn, now time.Time) error {
	_, err := s.pool.Exec(ctx, `WITH pruned AS (DELETE FROM sso_states WHERE expires_at < $6)
		INSERT INTO sso_states (state_hash, nonce, verifier, next, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		stateHash, p.Nonce, p.Verifier, p.Next, p.ExpiresAt, now)
	if err != nil {
		return fmt.Errorf("sso: store sign-in attempt: %w", err)
	}
	return nil
}

// Take removes the attempt and returns it; errNoState when there is none,
// or it expired. The DELETE makes it one use even under concurrent
// callbacks: only one of them gets the row.
func (s pgStates) Take(ctx context.Context, stateHash string, now time.Time) (pendingSignIn, error) {
	var p pendingSignIn
	err := s.pool.QueryRow(ctx, `DELETE FROM sso_states WHERE state_hash = $1 RETURNING nonce, verifier, next, expires_at`, stateHash).
		Scan(&p.Nonce, &p.Verifier, &p.Next, &p.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return pendingSignIn{}, errNoState
	}
	if err != nil {
		return pendingSignIn{}, fmt.Errorf("sso: take sign-in attempt: %w", err)
	}
	if !now.Before(p.ExpiresAt) {
		return pendingSignIn{}, errNoState
	}
	return p, nil
}

package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of security event.
const (
	EventSignIn        = "sign_in"
	EventSignInFailed  = "sign_in_failed"
	EventSignInLimited = "sign_in_throttled"
	EventSignOut       = "sign_out"
	EventAccountAdded  = "account_created"
	EventDisabled      = "account_disabled"
	EventEnabled       = "account_enabled"
	EventRoleChanged   = "role_changed"
	EventPasswordSet   = "password_changed"
	EventTokenCreated  = "token_created"
	EventTokenRevoked  = "token_revoked"
	EventAccessDenied  = "access_denied"
	// EventTokenRejected is a request with an API token that acts for no
	// one (unknown, revoked or expired); EventTokenLimited one refused
	// unchecked, after too many of those from its address.
	EventTokenRejected = "api_token_rejected"
	EventTokenLimited  = "api_token_throttled"
	// EventPasswordCheckFailed is a wrong current password given to change
	// one's own password: someone holding a session tries to take the account.
	EventPasswordCheckFailed = "password_check_failed"
)

// Event is a security event.
type Event struct {
	ID       int64
	At       time.Time
	Kind     string
	Actor    string
	Subject  string
	ClientIP string
	Detail   string
}

// RecordEvent appends a security event. Details never carry secrets.
func (s *Store) RecordEvent(ctx context.Context, e Event) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO security_events (kind, actor, subject, client_ip, detail) VALUES ($1, $2, $3, $4, $5)`,
		e.Kind, e.Actor, e.Subject, e.ClientIP, e.Detail); err != nil {
		return fmt.Errorf("auth: record security event: %w", err)
	}
	return nil
}

// EventFilter narrows the security events listed; zero fields match all.
type EventFilter struct {
	Kind    string
	Account string    // part of the actor or the subject, in any case
	From    time.Time // at or after
	Before  time.Time // before (the day after the last day wanted)
}

// Events returns up to limit events matching f older than before (0: the
// newest), newest first.
func (s *Store) Events(ctx context.Context, f EventFilter, before int64, limit int) ([]*Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, kind, actor, subject, client_ip, detail FROM security_events
		WHERE ($1 = 0 OR id < $1)
			AND ($3 = '' OR kind = $3)
			AND ($4 = '' OR strpos(lower(actor), lower($4)) > 0 OR strpos(lower(subject), lower($4)) > 0)
			AND ($5::timestamptz IS NULL OR at >= $5)
			AND ($6::timestamptz IS NULL OR at < $6)
		ORDER BY id DESC LIMIT $2`, before, limit, f.Kind, f.Account, nullTime(f.From), nullTime(f.Before))
	if err != nil {
		return nil, fmt.Errorf("auth: list security events: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.At, &e.Kind, &e.Actor, &e.Subject, &e.ClientIP, &e.Detail)
		return &e, err
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

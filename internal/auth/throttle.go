package auth

import (
	"context"
	"fmt"
	"time"
)

// Sign-in throttling (ASVS 6.3 / 2.2.1): failures are counted in Postgres per
// account name and per client address over the last hour, so every replica
// sees the same counts, and neither a new replica nor a new session resets
// them.
const (
	MaxFailuresPerAccount = 100 // per hour
	MaxFailuresPerAddress = 300 // per hour; addresses may be shared behind NAT
	freeFailures          = 3   // before delays start
	maxDelay              = 5 * time.Minute
)

// Throttle says whether a sign-in may be attempted now, and if not, for how
// long to wait. Past freeFailures, each failure doubles the wait after the
// last one (1 s, 2 s, 4 s ... up to 5 min); past the hourly caps, attempts
// wait for the hour to pass.
func (s *Store) Throttle(ctx context.Context, name, clientIP string) (wait time.Duration, err error) {
	var accountFailures, addressFailures int
	var lastAccountFailure *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM login_failures WHERE account_name = $1 AND at > now() - interval '1 hour'),
			(SELECT max(at) FROM login_failures WHERE account_name = $1 AND at > now() - interval '1 hour'),
			(SELECT count(*) FROM login_failures WHERE client_ip = $2 AND at > now() - interval '1 hour')`,
		name, clientIP).Scan(&accountFailures, &lastAccountFailure, &addressFailures)
	if err != nil {
		return 0, fmt.Errorf("auth: read sign-in failures: %w", err)
	}
	if accountFailures >= MaxFailuresPerAccount || addressFailures >= MaxFailuresPerAddress {
		return time.Hour, nil // a conservative bound: the oldest failure leaves the window within the hour
	}
	if accountFailures >= freeFailures && lastAccountFailure != nil {
		delay := time.Second << min(accountFailures-freeFailures, 20)
		delay = min(delay, maxDelay)
		if left := time.Until(lastAccountFailure.Add(delay)); left > 0 {
			return left, nil
		}
	}
	return 0, nil
}

// RecordFailure counts a failed sign-in, and drops counts older than a day.
func (s *Store) RecordFailure(ctx context.Context, name, clientIP string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (account_name, client_ip) VALUES ($1, $2)`, name, clientIP); err != nil {
		return fmt.Errorf("auth: record sign-in failure: %w", err)
	}
	_, _ = s.pool.Exec(ctx, `DELETE FROM login_failures WHERE at < now() - interval '1 day'`)
	return nil
}

// ClearFailures forgets an account's failures after it signs in.
func (s *Store) ClearFailures(ctx context.Context, name string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE account_name = $1`, name)
	return err
}

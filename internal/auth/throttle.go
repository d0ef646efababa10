package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/pglock"
)

// Sign-in throttling (ASVS 6.3 / 2.2.1): attempts are counted in Postgres per
// account name and per client address over the last hour, so every replica
// sees the same counts, and neither a new replica nor a new session resets
// them. An attempt is counted before its password is checked, under a lock
// per account and per address, so parallel guesses cannot all read the
// same count: a success then deletes the account's count.
const (
	MaxFailuresPerAccount = 100 // per hour
	MaxFailuresPerAddress = 300 // per hour; addresses may be shared behind NAT
	freeFailures          = 3   // before delays start
	maxDelay              = 5 * time.Minute
)

// ThrottledError refuses an attempt before anything was checked.
type ThrottledError struct {
	Wait  time.Duration // until the next attempt may be made
	Token bool          // refused for bad API tokens, not failed sign-ins
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many failed attempts; try again in %s", e.Wait.Round(time.Second))
}

// SignIn checks a sign-in by name and password from clientIP, counted and
// throttled. subject is what stands for the name in security events: the
// name itself, or, when no account has it, a keyed hash (see UnknownName).
// The errors: *ThrottledError (nothing checked), ErrBusy (nothing checked,
// nothing counted), ErrBadCredential and ErrDisabled (counted). An account
// from single sign-on never signs in here: ErrBadCredential, counted like
// a wrong password, which is also ErrSSOAccount for the security event.
func (s *Store) SignIn(ctx context.Context, name, password, clientIP string) (a *Account, subject string, err error) {
	var hash string
	err = ErrNotFound // a name no account can have is not looked up: it may hold any bytes
	if nameRE.MatchString(name) {
		a, hash, err = s.accountWithHash(ctx, name)
	}
	subject = name
	if errors.Is(err, ErrNotFound) {
		if subject, err = s.UnknownName(ctx, name); err != nil {
			return nil, "", err
		}
	} else if err != nil {
		return nil, name, err
	}
	attempt, wait, err := s.beginAttempt(ctx, subject, clientIP)
	if err != nil {
		return nil, subject, err
	}
	if wait > 0 {
		return nil, subject, &ThrottledError{Wait: wait}
	}
	a, err = s.checkPassword(ctx, a, hash, password)
	switch {
	case errors.Is(err, ErrBusy):
		// Nothing was checked: this attempt told the caller nothing, so it
		// need not count against the account.
		_, _ = s.pool.Exec(context.WithoutCancel(ctx), `DELETE FROM login_failures WHERE id = $1`, attempt)
		return nil, subject, err
	case err != nil:
		return nil, subject, err // counted already
	}
	if err := s.ClearFailures(ctx, a.Name); err != nil {
		return nil, subject, fmt.Errorf("auth: clear sign-in failures: %w", err)
	}
	return a, subject, nil
}

// beginAttempt counts an attempt under subject from clientIP, unless the
// counts so far say it must wait: then it returns how long, and counts
// nothing. The row stands for a failure until a success clears it.
func (s *Store) beginAttempt(ctx context.Context, subject, clientIP string) (id int64, wait time.Duration, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One attempt at a time per account and per address, on every
		// replica: without the locks, parallel attempts read the same
		// count before any of them is written. Always the account's lock
		// first, then the address's, so two attempts cannot deadlock.
		if err := pglock.XactLock(ctx, tx, "vpcep-sign-in-account:"+subject); err != nil {
			return fmt.Errorf("auth: lock sign-in attempts: %w", err)
		}
		if err := pglock.XactLock(ctx, tx, "vpcep-sign-in-address:"+clientIP); err != nil {
			return fmt.Errorf("auth: lock sign-in attempts: %w", err)
		}
		var err error
		if wait, err = throttleWait(ctx, tx, subject, clientIP, s.delay()); err != nil || wait > 0 {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO login_failures (account_name, client_ip) VALUES ($1, $2) RETURNING id`,
			subject, clientIP).Scan(&id); err != nil {
			return fmt.Errorf("auth: count sign-in attempt: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if wait == 0 {
		s.pruneFailures(ctx)
	}
	return id, wait, nil
}

// SetFirstDelay sets the wait after the free failures (1 s by default),
// doubled after each next failure. Tests set a long one, so that what
// they check does not depend on how fast the machine is.
func (s *Store) SetFirstDelay(d time.Duration) { s.firstDelay = d }

func (s *Store) delay() time.Duration {
	if s.firstDelay > 0 {
		return s.firstDelay
	}
	return time.Second
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// throttleWait says whether a sign-in may be attempted now, and if not, for
// how long to wait. Past freeFailures, each failure doubles the wait after
// the last one (1 s, 2 s, 4 s ... up to 5 min); past the hourly caps,
// attempts wait for the hour to pass.
func throttleWait(ctx context.Context, q querier, name, clientIP string, firstDelay time.Duration) (time.Duration, error) {
	var accountFailures, addressFailures int
	var lastAccountFailure *time.Time
	var now time.Time
	// The database's clock, as the rows' at: replicas' clocks may differ.
	err := q.QueryRow(ctx, `
		SELECT
			(SELECT count(*) FROM login_failures WHERE account_name = $1 AND at > now() - interval '1 hour'),
			(SELECT max(at) FROM login_failures WHERE account_name = $1 AND at > now() - interval '1 hour'),
			(SELECT count(*) FROM login_failures WHERE client_ip = $2 AND at > now() - interval '1 hour'),
			clock_timestamp()`,
		name, clientIP).Scan(&accountFailures, &lastAccountFailure, &addressFailures, &now)
	if err != nil {
		return 0, fmt.Errorf("auth: read sign-in failures: %w", err)
	}
	if accountFailures >= MaxFailuresPerAccount || addressFailures >= MaxFailuresPerAddress {
		return time.Hour, nil // a conservative bound: the oldest failure leaves the window within the hour
	}
	if accountFailures >= freeFailures && lastAccountFailure != nil {
		delay := firstDelay << min(accountFailures-freeFailures, 20)
		delay = min(delay, maxDelay)
		if left := lastAccountFailure.Add(delay).Sub(now); left > 0 {
			return left, nil
		}
	}
	return 0, nil
}

// ClearFailures forgets an account's failures after it signs in.
func (s *Store) ClearFailures(ctx context.Context, name string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE account_name = $1`, name)
	return err
}

// API token guessing: requests whose bearer token names no live token are
// counted per client address; past the cap, tokens from that address are
// not even looked up until the hour has passed.
const MaxTokenFailuresPerAddress = 30 // per hour

// CheckToken is TokenAccount for a request from clientIP, throttled: a
// *ThrottledError when the address sent too many bad tokens in the last
// hour, and ErrBadToken (counted) for a token that acts for no one.
func (s *Store) CheckToken(ctx context.Context, token, clientIP string) (*Account, *Token, error) {
	// A good token is read with its address's failure count in one query;
	// a throttled address is refused whatever the token. A bad token is
	// counted below, under the lock, which recounts (and refuses a
	// throttled address) first.
	r, err := s.readToken(ctx, token, clientIP)
	if err == nil && r.failures >= MaxTokenFailuresPerAddress {
		return nil, nil, &ThrottledError{Wait: r.wait, Token: true}
	}
	a, t := r.account, r.token
	if errors.Is(err, ErrBadToken) {
		// Counted under a lock per address, recounting first: parallel bad
		// tokens cannot all read the same count and pass the cap together.
		var throttled *ThrottledError
		recErr := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := pglock.XactLock(ctx, tx, "vpcep-token-failures:"+clientIP); err != nil {
				return err
			}
			n, wait, err := tokenFailures(ctx, tx, clientIP)
			if err != nil {
				return err
			}
			if n >= MaxTokenFailuresPerAddress {
				throttled = &ThrottledError{Wait: wait, Token: true}
				return nil
			}
			_, err = tx.Exec(ctx, `INSERT INTO token_failures (client_ip) VALUES ($1)`, clientIP)
			return err
		})
		if recErr != nil {
			return nil, nil, fmt.Errorf("auth: record token failure: %w", recErr)
		}
		if throttled != nil {
			return nil, nil, throttled
		}
		s.pruneFailures(ctx)
	}
	return a, t, err
}

// tokenFailures counts the bad tokens from clientIP in the last hour, and
// says how long until the oldest of them leaves the hour (at least 1 s).
func tokenFailures(ctx context.Context, q querier, clientIP string) (n int, wait time.Duration, err error) {
	var waitSeconds float64
	// The database's clock, as the rows' at: replicas' clocks may differ.
	err = q.QueryRow(ctx, `
		SELECT count(*), coalesce(extract(epoch FROM min(at) + interval '1 hour' - clock_timestamp()), 0)::float8
		FROM token_failures WHERE client_ip = $1 AND at > now() - interval '1 hour'`, clientIP).Scan(&n, &waitSeconds)
	if err != nil {
		return 0, 0, fmt.Errorf("auth: read token failures: %w", err)
	}
	return n, max(time.Duration(waitSeconds*float64(time.Second)), time.Second), nil
}

// pruneEvery is how often a Store drops failure counts older than a day.
const pruneEvery = time.Minute

// pruneFailures drops sign-in and token failures older than a day: at most
// once per pruneEvery per Store, not on every attempt.
func (s *Store) pruneFailures(ctx context.Context) {
	now := time.Now().UnixNano()
	last := s.lastPrune.Load()
	if now-last < int64(pruneEvery) || !s.lastPrune.CompareAndSwap(last, now) {
		return
	}
	_, _ = s.pool.Exec(ctx, `DELETE FROM login_failures WHERE at < now() - interval '1 day'`)
	_, _ = s.pool.Exec(ctx, `DELETE FROM token_failures WHERE at < now() - interval '1 day'`)
}

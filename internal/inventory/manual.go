package inventory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Limits on the Refresh button. Every press is a full listing of the
// project upstream (one call per 1,000 endpoints), so a press is limited
// per account, and presses on every replica share one refresh: one that
// is running, or finished moments ago, is reused rather than repeated.
const (
	// ManualRefreshEvery is how often one account may press Refresh.
	ManualRefreshEvery = 10 * time.Second
	// CoalesceWithin is how recent a finished refresh (any trigger, any
	// replica, succeeded or failed) is reused instead of listing again.
	CoalesceWithin = 5 * time.Second
)

// Outcomes of a manual refresh.
type Manual string

// The outcomes of RefreshManual.
const (
	Refreshed Manual = "refreshed" // this press listed the upstream
	Reused    Manual = "reused"    // a refresh finished within CoalesceWithin: it stands
	Running   Manual = "running"   // another refresh (here or on another replica) is under way
)

// ThrottledError refuses a press that came sooner than ManualRefreshEvery
// after the same account's last one.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("inventory: refreshed moments ago; try again in %s", e.RetryAfter.Round(time.Second))
}

// pressLimiter remembers each account's last press, on this replica.
type pressLimiter struct {
	every time.Duration // set before any press; not guarded by mu
	mu    sync.Mutex
	last  map[string]time.Time
}

// take records a press by account at now, or says how long until the next
// one is allowed.
func (l *pressLimiter) take(account string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.every <= 0 {
		return 0
	}
	if t, ok := l.last[account]; ok && now.Sub(t) < l.every {
		return l.every - now.Sub(t)
	}
	if len(l.last) > 10000 {
		for k, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, k)
			}
		}
	}
	l.last[account] = now
	return 0
}

// SetManualLimits replaces ManualRefreshEvery and CoalesceWithin for this
// Refresher; zero turns a limit off (for tests that press in quick
// succession to watch each upstream change). Call it before Run and before
// any press: the limits are plain fields, read without a lock.
func (r *Refresher) SetManualLimits(every, coalesce time.Duration) {
	r.presses.every = every
	r.coalesce = coalesce
}

// RefreshManual is a press of Refresh by account: at most one per
// ManualRefreshEvery per account (*ThrottledError otherwise), and no new
// listing when a refresh is running (Running) or finished within
// CoalesceWithin on any replica (Reused).
func (r *Refresher) RefreshManual(ctx context.Context, account string) (Manual, error) {
	if wait := r.presses.take(account, time.Now()); wait > 0 {
		return "", &ThrottledError{RetryAfter: wait}
	}
	err := r.refresh(ctx, TriggerManual, r.coalesce)
	switch {
	case errors.Is(err, errRecent):
		return Reused, nil
	case errors.Is(err, ErrBusy):
		return Running, nil
	case err != nil:
		return "", err
	}
	return Refreshed, nil
}

// errRecent says a refresh finished within the coalescing window.
var errRecent = errors.New("inventory: refreshed moments ago")

// recent reports whether the newest refresh finished within window.
func (r *Refresher) recent(ctx context.Context, window time.Duration) (bool, error) {
	if window <= 0 {
		return false, nil
	}
	return r.store.RefreshedWithin(ctx, window)
}

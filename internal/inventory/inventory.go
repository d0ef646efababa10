// Package inventory keeps the Postgres copy of the upstream's endpoint list
// fresh: at start, on a timer and on demand. The list page reads the copy,
// so it stays fast however many endpoints the project has.
package inventory

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Triggers of a refresh, as recorded.
const (
	TriggerStartup  = "startup"
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// ErrBusy means another refresh (here or on another replica) is running.
var ErrBusy = errors.New("inventory: a refresh is already running")

// Lister is the upstream call a refresh needs: the list, one page at a time
// (vpcep.Client.EndpointPages), so that a refresh holds one page of it in
// memory, not the whole list.
type Lister interface {
	EndpointPages(opts vpcep.ListOptions) func(ctx context.Context) ([]vpcep.Endpoint, error)
}

// Refresher refreshes the inventory.
type Refresher struct {
	upstream Lister
	store    *store.Store
	interval time.Duration
	logger   *slog.Logger

	atStart bool // Run refreshes at once whatever the stored inventory (RefreshAtStart)

	// detect compares the refreshed inventory with the versions the
	// console knows (internal/drift); nil: no detection.
	detect func(ctx context.Context, listedSince time.Time) error

	presses  pressLimiter  // manual presses per account (RefreshManual)
	coalesce time.Duration // a refresh this recent is reused by a press; set before any press
	limit    *Limit        // shared with other projects' refreshers; nil: no bound
}

// NewRefresher returns a Refresher that refreshes every interval when Run.
func NewRefresher(upstream Lister, st *store.Store, interval time.Duration, logger *slog.Logger) *Refresher {
	return &Refresher{upstream: upstream, store: st, interval: interval, logger: logger,
		presses: pressLimiter{every: ManualRefreshEvery, last: map[string]time.Time{}}, coalesce: CoalesceWithin}
}

// RefreshAtStart makes Run refresh at once even when the stored inventory
// is recent: for an upstream that may not be the one the inventory was read
// from (the demo's simulator is new at every start). Call it before Run.
func (r *Refresher) RefreshAtStart() { r.atStart = true }

// SetDriftDetector makes each successful refresh compare the stored
// inventory with the versions the console knows, by calling detect (drift
// detection) with when the listing began on the database's clock (zero
// when that could not be read); call it before Run. Its failure is
// logged, never the refresh's.
func (r *Refresher) SetDriftDetector(detect func(ctx context.Context, listedSince time.Time) error) {
	r.detect = detect
}

// Interval is the time between scheduled refreshes.
func (r *Refresher) Interval() time.Duration { return r.interval }

// Refresh reads every endpoint from the upstream and replaces the inventory.
// The attempt is recorded, failed or not. Only one replica refreshes a
// project at a time (a Postgres advisory lock); a concurrent call gets
// ErrBusy. With a Limit (SetLimit), it first waits for a slot, or for ctx.
func (r *Refresher) Refresh(ctx context.Context, trigger string) error {
	return r.refresh(ctx, trigger, 0)
}

// refresh is Refresh, reusing (errRecent) a refresh that finished within
// coalesce, checked once the lock is held, so that one another replica
// finished moments ago is seen. Taking the lock is no dearer than checking
// first: a single try, never a wait.
//
// A slot of the shared Limit is taken before the lock, and given back once
// the listing is stored: a refresh waiting for its turn holds no pooled
// connection (the lock holds one, and 20 projects waiting would hold the
// whole pool), and is queued, not busy.
func (r *Refresher) refresh(ctx context.Context, trigger string, coalesce time.Duration) error {
	releaseSlot, err := r.limit.acquire(ctx)
	if err != nil {
		return err
	}
	defer releaseSlot()
	release, ok, err := r.store.TryRefreshLock(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBusy
	}
	defer release()
	if recent, err := r.recent(ctx, coalesce); err != nil {
		return err
	} else if recent {
		return errRecent
	}

	var listedSince time.Time
	if r.detect != nil {
		// On the database's clock, which stamps audit entries: a change
		// that finished before it is in the list.
		if listedSince, err = r.store.Now(ctx); err != nil {
			listedSince = time.Time{}
		}
	}
	started := time.Now().UTC()
	count, err := r.store.ReplaceInventoryFrom(ctx, r.upstream.EndpointPages(vpcep.ListOptions{}), started)
	releaseSlot() // read and stored: the next project's refresh may start
	rec := store.Refresh{Trigger: trigger, StartedAt: started, FinishedAt: time.Now().UTC(), Succeeded: err == nil, EndpointCount: count}
	if err != nil {
		rec.Error, rec.Failure = err.Error(), failure(err)
	}
	if err != nil && ctx.Err() != nil && trigger != TriggerManual {
		// The console is stopping: the upstream did not fail, so nothing
		// is recorded that would show the inventory as failing.
		r.logger.Info("inventory refresh cut short by shutdown", "trigger", trigger)
		return err
	}
	// Record on a fresh context: a refresh cut short by a cancelled request
	// is still an attempt worth showing.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if recErr := r.store.RecordRefresh(recordCtx, rec); recErr != nil {
		r.logger.Error("record inventory refresh", "error", recErr)
	}
	if err != nil {
		r.logger.Warn("inventory refresh failed", "trigger", trigger, "error", err)
		return err
	}
	r.logger.Info("inventory refreshed", "trigger", trigger, "endpoints", count,
		"duration_ms", rec.FinishedAt.Sub(started).Milliseconds())
	if r.detect != nil {
		// Still under the refresh lock: one replica compares at a time,
		// and what it compares is the inventory it just stored.
		if err := r.detect(ctx, listedSince); err != nil {
			r.logger.Warn("drift detection after the refresh failed; retried on the next", "error", err)
		}
	}
	return nil
}

// FirstRefreshIn is how long a starting console waits before its first
// refresh, given the stored refresh state st: until an interval has passed
// since the newest refresh when that one succeeded (as if the console had
// not restarted), and not at all when there is no inventory yet or the
// newest refresh failed.
func (r *Refresher) FirstRefreshIn(st store.RefreshState, now time.Time) time.Duration {
	if st.Last == nil || !st.Last.Succeeded {
		return 0
	}
	return max(0, st.Last.FinishedAt.Add(r.interval).Sub(now))
}

// failure is what the pages and the API show of a failed refresh: the
// upstream's answer, or, when the console itself failed (storing the list),
// a plain sentence; the detail is in the log.
func failure(err error) *store.RefreshFailure {
	var ue *vpcep.Error
	if errors.As(err, &ue) {
		return &store.RefreshFailure{Source: store.FailureUpstream, Status: ue.Status, Code: ue.Code, Message: ue.Message, RequestID: ue.RequestID}
	}
	if store.Unavailable(err) {
		return &store.RefreshFailure{Source: store.FailureConsole, Message: "the console's database was unavailable while the list was stored"}
	}
	return &store.RefreshFailure{Source: store.FailureConsole, Message: "the console could not store the endpoint list (its log has the details)"}
}

// Run refreshes at start, then every interval until ctx ends. A scheduled
// refresh is skipped when another replica refreshed recently. The refresh
// at start waits for its turn (FirstRefreshIn) when the stored inventory is
// recent, so that a restart neither lists the upstream again nor competes
// with its own start for the CPU; the stored inventory is served meanwhile.
func (r *Refresher) Run(ctx context.Context) {
	trigger, wait := TriggerStartup, time.Duration(0)
	if st, err := r.store.RefreshState(ctx); err == nil && !r.atStart {
		wait = r.FirstRefreshIn(st, time.Now())
	}
	if wait > 0 {
		r.logger.Info("the stored inventory is recent: its next refresh is on schedule", "in", wait.Round(time.Second))
		trigger = TriggerSchedule
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	if err := r.Refresh(ctx, trigger); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
		r.logger.Warn("first inventory refresh failed; will retry on schedule", "trigger", trigger, "error", err)
	}
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		st, err := r.store.RefreshState(ctx)
		if err == nil && st.Last != nil && st.Last.Succeeded && time.Since(st.Last.FinishedAt) < r.interval/2 {
			continue
		}
		_ = r.Refresh(ctx, TriggerSchedule)
	}
}

package change

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Reconciler settles entries left pending by a crash or a lost answer, by
// reading the endpoint's live policy.
type Reconciler struct {
	upstream Upstream
	log      *audit.Log
	pool     *pgxpool.Pool
	minAge   time.Duration
	logger   *slog.Logger
	observer Observer
	drift    DriftRecorder
	project  string // settles only this project's entries; "" all
}

// SetProject has r settle only the entries of the project with this id
// ("": every project's): each project's upstream answers for its own
// endpoints only, and would call another's gone. Call before Run.
func (r *Reconciler) SetProject(projectID string) { r.project = projectID }

// ByReconciler is the detected_by of a drift the Reconciler finds while
// settling an entry.
const ByReconciler = "reconciler"

// NewReconciler returns a Reconciler that settles entries pending for longer
// than minAge (longer than a change may take, so none in flight is touched).
func NewReconciler(upstream Upstream, log *audit.Log, pool *pgxpool.Pool, minAge time.Duration, logger *slog.Logger) *Reconciler {
	return &Reconciler{upstream: upstream, log: log, pool: pool, minAge: minAge, logger: logger}
}

// SetObserver has o told of every entry the Reconciler settles.
func (r *Reconciler) SetObserver(o Observer) { r.observer = o }

// SetDrift has d record a change made outside the console that the live
// endpoint shows once an entry is settled: while the entry was pending,
// detection could not decide.
func (r *Reconciler) SetDrift(d DriftRecorder) { r.drift = d }

// Run settles at once, then every interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) {
	for {
		if n, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("reconcile pending audit entries", "error", err)
		} else if n > 0 {
			r.logger.Info("settled pending audit entries", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Once settles every old pending entry it can and returns how many.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	entries, err := r.log.PendingIn(ctx, r.project, r.minAge)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, e := range entries {
		ok, err := r.settleOne(ctx, e)
		if err != nil {
			r.logger.Warn("cannot settle audit entry yet", "entry", e.ID, "error", err)
			continue
		}
		if ok {
			settled++
		}
	}
	return settled, nil
}

func (r *Reconciler) settleOne(ctx context.Context, e *audit.Entry) (bool, error) {
	lock, ok, err := pglock.TryLock(ctx, r.pool, endpointLock(e.EndpointID))
	if err != nil || !ok {
		return false, err // busy: a change to this endpoint is running; next round
	}
	defer lock.Release()

	live, err := r.upstream.GetEndpoint(ctx, e.EndpointID)
	if err != nil && !errors.Is(err, vpcep.ErrNotFound) {
		return false, err
	}
	if err := settlePending(ctx, r.log, r.observer, e, live, "the reconciler"); err != nil {
		return false, err
	}
	if r.drift != nil && live != nil {
		// Still under the endpoint's lock, read under it. On failure the
		// next look (a refresh, a page, the next change) records it.
		if err := r.drift.ObserveLocked(ctx, live, ByReconciler); err != nil {
			r.logger.Warn("drift detection after settling an entry", "entry", e.ID, "endpoint", e.EndpointID, "error", err)
		}
	}
	return true, nil
}

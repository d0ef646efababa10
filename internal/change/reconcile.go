package change

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
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
}

// NewReconciler returns a Reconciler that settles entries pending for longer
// than minAge (longer than a change may take, so none in flight is touched).
func NewReconciler(upstream Upstream, log *audit.Log, pool *pgxpool.Pool, minAge time.Duration, logger *slog.Logger) *Reconciler {
	return &Reconciler{upstream: upstream, log: log, pool: pool, minAge: minAge, logger: logger}
}

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
	entries, err := r.log.Pending(ctx, time.Now().Add(-r.minAge))
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
	release, ok, err := pglock.TryLock(ctx, r.pool, endpointLock(e.EndpointID))
	if err != nil || !ok {
		return false, err // busy: a change to this endpoint is running; next round
	}
	defer release()

	f := audit.Final{FinishedAt: time.Now()}
	live, err := r.upstream.GetEndpoint(ctx, e.EndpointID)
	switch {
	case errors.Is(err, vpcep.ErrNotFound):
		f.Outcome, f.Note = audit.OutcomeUnknown, "Settled by the reconciler: the endpoint no longer exists."
	case err != nil:
		return false, err
	default:
		current := policy.CanonicalJSON(live.PolicyStatement)
		requested := canonicalStored(e.PolicyRequested)
		matches := current == requested
		f.ReadbackMatches, f.ReadbackPolicy = &matches, policy.JSON(live.PolicyStatement)
		f.Outcome, f.Note = judgeLive(current, canonicalStored(e.PolicyBefore), requested, "Settled by the reconciler: the live policy is")
	}
	f.Duration = f.FinishedAt.Sub(e.StartedAt)
	if err := r.log.Finalise(ctx, e, f); err != nil {
		return false, err
	}
	return true, nil
}

// canonicalStored is the canonical form of a policy as the log stores it,
// or "null" when it was not known.
func canonicalStored(raw []byte) string {
	p, err := policy.FromJSON(raw)
	if err != nil {
		return "null"
	}
	return policy.CanonicalJSON(p)
}

package change_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// sessionDiesAfterCommit is the drift detector, except that the lock's
// session dies right after the finalise's transaction committed, before
// any answer of it comes back; and it notes any observation made while
// the endpoint's lock was free (taken from another pool).
type sessionDiesAfterCommit struct {
	*drift.Detector
	other           *pgxpool.Pool
	observedUnheld  atomic.Bool
	observedInBatch atomic.Int32
}

func (d *sessionDiesAfterCommit) QueueChangeState(b *pgx.Batch, ep *vpcep.Endpoint, e *audit.Entry) (bool, func()) {
	settled, committed := d.Detector.QueueChangeState(b, ep, e)
	d.observedInBatch.Add(1)
	b.Queue(`COMMIT`)
	b.Queue(`SELECT pg_terminate_backend(pg_backend_pid())`)
	return settled, committed
}

func (d *sessionDiesAfterCommit) ObserveLocked(ctx context.Context, ep *vpcep.Endpoint, how string) error {
	if l, free, err := pglock.TryLock(ctx, d.other, change.EndpointLock(ep.ID)); err == nil && free {
		l.Release()
		d.observedUnheld.Store(true)
	}
	return d.Detector.ObserveLocked(ctx, ep, how)
}

// A change whose lock's session dies after its finalise committed, the
// answer lost: the finalise through the pool finds the entry final with
// the same hash, the change is reported applied, and nothing is observed
// without the lock (another change may come meanwhile, and its version
// would pass for a drift).
func TestFinaliseCommittedAsTheLockSessionDied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := &sessionDiesAfterCommit{
		Detector: drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "cn-north-4", Upstream: f.client}, discard()),
		other:    testdb.Pool(t, f.pool.Config().ConnString()),
	}
	applier := f.applierWith(change.Config{Deadline: 10 * time.Second, Drift: d})
	res, err := applier.Apply(ctx, f.update(readOnly("died"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if d.observedInBatch.Load() != 1 {
		t.Fatalf("the state was queued %d times, want once: the test did not kill the session it meant to", d.observedInBatch.Load())
	}
	stored, err := f.log.Get(ctx, res.Entry.ID)
	if err != nil || stored.Outcome != audit.OutcomeSucceeded || stored.FinalHash != res.Entry.FinalHash {
		t.Fatalf("stored %+v, %v; want the entry as the change reported it", stored, err)
	}
	if d.observedUnheld.Load() {
		t.Error("the endpoint was observed while its lock was free")
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
	// The endpoint is free for the next change, which goes through.
	if res, err := applier.Apply(ctx, f.update(readOnly("next"), "")); err != nil || res.Outcome != change.Applied {
		t.Fatalf("the next change = %+v, %v", res, err)
	}
}

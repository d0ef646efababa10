package change_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// probedDetector is the drift detector, noting any observation made while
// the endpoint's lock was free (taken from another pool); with
// killAfterCommit, the lock's session dies right after the finalise's
// transaction committed, before any answer of it comes back.
type probedDetector struct {
	*drift.Detector
	other           *pgxpool.Pool
	killAfterCommit bool
	observedUnheld  atomic.Bool
	stateQueued     atomic.Int32
}

func (d *probedDetector) QueueChangeState(b *pgx.Batch, ep *vpcep.Endpoint, e *audit.Entry) (bool, func()) {
	settled, committed := d.Detector.QueueChangeState(b, ep, e)
	d.stateQueued.Add(1)
	if d.killAfterCommit {
		b.Queue(`COMMIT`)
		b.Queue(`SELECT pg_terminate_backend(pg_backend_pid())`)
	}
	return settled, committed
}

func (d *probedDetector) ObserveLocked(ctx context.Context, ep *vpcep.Endpoint, how string) error {
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
	d := &probedDetector{
		Detector:        drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "cn-north-4", Upstream: f.client}, discard()),
		other:           testdb.Pool(t, f.pool.Config().ConnString()),
		killAfterCommit: true,
	}
	applier := f.applierWith(change.Config{Deadline: 10 * time.Second, Drift: d})
	res, err := applier.Apply(ctx, f.update(readOnly("died"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if d.stateQueued.Load() != 1 {
		t.Fatalf("the state was queued %d times, want once: the test did not kill the session it meant to", d.stateQueued.Load())
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

// settledDuringReadBack is the upstream, except that while a change reads
// the endpoint back after its PUT, the change's pending entry is settled
// by someone else (a reconciler that took it for abandoned).
type settledDuringReadBack struct {
	change.Upstream
	log  *audit.Log
	sent bool
}

func (u *settledDuringReadBack) UpdatePolicy(ctx context.Context, id string, s []vpcep.PolicyStatement) (*vpcep.Endpoint, error) {
	u.sent = true
	return u.Upstream.UpdatePolicy(ctx, id, s)
}

func (u *settledDuringReadBack) GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error) {
	if u.sent {
		u.sent = false
		pending, err := u.log.Pending(ctx, 0)
		if err != nil || len(pending) != 1 {
			return nil, fmt.Errorf("the test's pending entries: %v, %v", pending, err)
		}
		if err := u.log.Finalise(ctx, pending[0], audit.Final{Outcome: audit.OutcomeSucceeded, Note: "Settled by the reconciler (the test)."}); err != nil {
			return nil, err
		}
	}
	return u.Upstream.GetEndpoint(ctx, id)
}

// A change whose entry was settled by someone else before its finalise
// answers what is recorded, records nothing of its own, and, its lock given
// back with the finalise's batch, observes nothing after it.
func TestAChangeSettledMeanwhileAnswersWhatIsRecorded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := &probedDetector{
		Detector: drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "cn-north-4", Upstream: f.client}, discard()),
		other:    testdb.Pool(t, f.pool.Config().ConnString()),
	}
	upstream := &settledDuringReadBack{Upstream: f.client, log: f.log}
	applier := change.NewApplier(upstream, f.log, f.pool, change.Config{ProjectID: "p1", Region: "cn-north-4", Deadline: 10 * time.Second, Drift: d}, discard())
	res, err := applier.Apply(ctx, f.update(readOnly("settled"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	stored, err := f.log.Get(ctx, res.Entry.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, res.Entry, cmp.AllowUnexported(audit.Entry{})); diff != "" {
		t.Errorf("the answer's entry is not the one recorded (-stored +answered):\n%s", diff)
	}
	if d.observedUnheld.Load() {
		t.Error("the endpoint was observed while its lock was free")
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

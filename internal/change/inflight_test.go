package change_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// killEndpointLock ends the database session that holds the endpoint's
// advisory lock, as a network blip or a failover would, and says whether
// there was one.
func killEndpointLock(t *testing.T, pool *pgxpool.Pool, endpointID string) bool {
	t.Helper()
	var killed bool
	err := pool.QueryRow(context.Background(), `
		SELECT coalesce(bool_or(pg_terminate_backend(pid, 5000)), false) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND (classid::bigint << 32) | objid::bigint = hashtextextended('vpcep-endpoint:' || $1, 0)`, endpointID).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	return killed
}

// waitFor polls cond until it holds, failing t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A change whose lock session dies while its PUT is in flight keeps the
// endpoint: a second change made against the same version is refused by
// the database (the first is still pending), never applied on top.
func TestLostLockCannotLetASecondChangeThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	base := policy.Fingerprint(f.livePolicy(t))
	hold := f.sim.HoldNext(vpcepsim.RouteUpdatePolicy)
	var a *change.Result
	var aErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a, aErr = f.applier.Apply(ctx, f.update(readOnly("change-a"), base)) }()
	held(t, hold) // A's PUT is at the upstream, held there
	if !killEndpointLock(t, f.pool, f.gateway.ID) {
		t.Fatal("no session held the endpoint's lock during the PUT")
	}

	_, bErr := f.applier.Apply(ctx, f.update(readOnly("change-b"), base))
	var pe *change.PendingError
	if !errors.As(bErr, &pe) {
		t.Fatalf("change B while A is in flight = %v, want a PendingError", bErr)
	}
	hold.Apply()
	hold.Answer()
	wg.Wait()
	if aErr != nil || a.Outcome != change.Applied {
		t.Fatalf("change A = %+v, %v", a, aErr)
	}
	if pe.Entry.ID != a.Entry.ID {
		t.Errorf("B was refused naming #%d, A is #%d", pe.Entry.ID, a.Entry.ID)
	}
	if f.puts() != 1 || !policy.Equal(f.livePolicy(t), readOnly("change-a")) {
		t.Fatalf("%d PUTs; live %s", f.puts(), policy.JSON(f.livePolicy(t)))
	}
	assertOneEntryPerPut(t, f)
}

// A change that lost its lock before sending sends nothing and says so.
func TestLostLockBeforeSendingSendsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.sim.SetLatency(time.Second) // the live read before the change
	var res *change.Result
	var err error
	done := make(chan struct{})
	go func() { defer close(done); res, err = f.applier.Apply(ctx, f.update(readOnly("x"), "")) }()
	waitFor(t, "the endpoint's lock", func() bool { return killEndpointLock(t, f.pool, f.gateway.ID) })
	<-done
	if err != nil || res.Outcome != change.LockLost || res.Entry.Outcome != audit.OutcomeFailed ||
		!strings.Contains(res.Entry.Note, "nothing was sent") || res.Entry.RequestBody != "" {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if f.puts() != 0 {
		t.Fatalf("%d PUTs after the lock was lost", f.puts())
	}
}

// A pending entry left by a crash is settled before the next change: while
// it may still be in flight the next change is refused; once it is older
// than any change may take, the next change settles it from the live
// policy, then goes ahead.
func TestPendingChangeIsSettledBeforeTheNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	original := f.livePolicy(t)
	// A crash after the PUT, before the finalise.
	crashed, err := f.log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p1", Region: "r", EndpointID: f.gateway.ID,
		EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "r", PolicyBefore: policy.JSON(original),
		PolicyRequested: policy.JSON(readOnly("crashed"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.UpdatePolicy(ctx, f.gateway.ID, readOnly("crashed")); err != nil {
		t.Fatal(err)
	}
	puts := f.puts()

	_, err = f.applier.Apply(ctx, f.update(readOnly("next"), ""))
	var pe *change.PendingError
	if !errors.As(err, &pe) || pe.Entry.ID != crashed.ID || f.puts() != puts {
		t.Fatalf("Apply over a young pending entry = %v (%d PUTs)", err, f.puts()-puts)
	}

	quick := f.applierWith(change.Config{Deadline: time.Second, SettleMargin: 100 * time.Millisecond})
	time.Sleep(quick.SettleAfter() + 100*time.Millisecond) // past its settle age
	res, err := quick.Apply(ctx, f.update(readOnly("next"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply after the settle age = %+v, %v", res, err)
	}
	got, _ := f.log.Get(ctx, crashed.ID)
	if got.Outcome != audit.OutcomeSucceeded || !strings.Contains(got.Note, "next change") {
		t.Fatalf("the crashed entry was settled as %s: %q", got.Outcome, got.Note)
	}
	if string(res.Entry.PolicyBefore) != policy.JSON(readOnly("crashed")) {
		t.Errorf("the next change started from %s", res.Entry.PolicyBefore)
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// A finalise that fails is retried: the upstream's answer is kept, not
// replaced later by what the reconciler can tell from the live policy.
func TestFinaliseIsRetriedAndKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.pool.Exec(ctx, `
		CREATE SEQUENCE finalise_attempts;
		CREATE FUNCTION refuse_first_updates() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			-- As a database restarting would: the error is one that passes.
			IF nextval('finalise_attempts') <= 3 THEN
				RAISE EXCEPTION 'the database is shutting down (the test)' USING ERRCODE = 'admin_shutdown';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_first_updates BEFORE UPDATE ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_first_updates();`); err != nil {
		t.Fatal(err)
	}
	res, err := f.applier.Apply(ctx, f.update(readOnly("kept"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	var attempts int
	if err := f.pool.QueryRow(ctx, `SELECT last_value FROM finalise_attempts`).Scan(&attempts); err != nil || attempts < 4 {
		t.Fatalf("%d finalise attempts (%v): the refusals were never met", attempts, err)
	}
	got, err := f.log.Get(ctx, res.Entry.ID)
	if err != nil || got.Outcome != audit.OutcomeSucceeded || got.ResponseStatus == nil || *got.ResponseStatus != 200 ||
		got.RequestID == "" || got.RequestBody == "" || got.FinalHash != res.Entry.FinalHash {
		t.Fatalf("stored entry %+v, %v", got, err)
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// readbackDiffers is the upstream, except that the read-back after a PUT
// shows another policy: someone changed it in between.
type readbackDiffers struct {
	change.Upstream
	sent bool
}

func (u *readbackDiffers) UpdatePolicy(ctx context.Context, id string, s []vpcep.PolicyStatement) (*vpcep.Endpoint, error) {
	u.sent = true
	return u.Upstream.UpdatePolicy(ctx, id, s)
}

func (u *readbackDiffers) GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error) {
	ep, err := u.Upstream.GetEndpoint(ctx, id)
	if err == nil && u.sent {
		ep.PolicyStatement = readOnly("someone-else")
	}
	return ep, err
}

// An accepted change whose read-back differs is never a plain success.
func TestReadbackThatDiffersIsNotASuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	applier := change.NewApplier(&readbackDiffers{Upstream: f.client}, f.log, f.pool,
		change.Config{ProjectID: "p1", Region: "r"}, discard())
	res, err := applier.Apply(ctx, f.update(readOnly("mine"), ""))
	if err != nil || res.Outcome != change.Unknown || res.Entry.Outcome != audit.OutcomeUnknown ||
		*res.Entry.ReadbackMatches || !strings.Contains(res.Entry.Note, "differs") {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
}

// dropFirstPut is the upstream, except that the first PUT is lost on the
// way: the connection drops before the upstream sees it.
type dropFirstPut struct {
	change.Upstream
	f       *fixture
	dropped bool
}

func (u *dropFirstPut) UpdatePolicy(ctx context.Context, id string, s []vpcep.PolicyStatement) (*vpcep.Endpoint, error) {
	if !u.dropped {
		u.dropped = true
		u.f.sim.DropNext(1)
	}
	return u.Upstream.UpdatePolicy(ctx, id, s)
}

// A PUT that got no answer and did not take effect is sent once more, under
// the lock, after reading the live policy; one entry records both.
func TestUnansweredPutIsSentAgainWhenNotApplied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	applier := change.NewApplier(&dropFirstPut{Upstream: f.client, f: f}, f.log, f.pool,
		change.Config{ProjectID: "p1", Region: "r"}, discard())
	res, err := applier.Apply(ctx, f.update(readOnly("again"), ""))
	if err != nil || res.Outcome != change.Applied || !strings.Contains(res.Entry.Note, "Sent twice") {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if f.puts() != 2 { // the dropped one reached the simulator, which dropped it unapplied
		t.Fatalf("%d PUTs", f.puts())
	}
	if !policy.Equal(f.livePolicy(t), readOnly("again")) {
		t.Fatal("the change did not take effect")
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// dbAdmin is a pool on the fixture's database that the campaign's killer
// uses; its own connections are spared.
func dbAdmin(t *testing.T, f *fixture) *pgxpool.Pool {
	t.Helper()
	cfg := f.pool.Config().ConnConfig.ConnString()
	p, err := pgxpool.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Once the console starts shutting down no change starts, also not one
// already waiting for the endpoint's lock; nothing is recorded or sent.
func TestClosedApplierTakesNoNewChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	applier := f.applierWith(change.Config{LockWait: time.Minute})
	held, ok, err := pglock.TryLock(ctx, f.pool, "vpcep-endpoint:"+f.gateway.ID)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	waiting := make(chan error, 1)
	go func() { _, err := applier.Apply(ctx, f.update(readOnly("waiting"), "")); waiting <- err }()
	// It waits for the lock: a second session has polled for it.
	waitFor(t, "the change to wait for the lock", func() bool {
		var n int
		_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'SELECT pg_try_advisory_lock(%'`).Scan(&n)
		return n >= 2
	})
	applier.Close()
	select {
	case err := <-waiting:
		if !errors.Is(err, change.ErrShuttingDown) {
			t.Fatalf("the waiting change = %v, want ErrShuttingDown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a change waiting for the lock did not stop at Close")
	}
	held.Release()
	if _, err := applier.Apply(ctx, f.update(readOnly("after"), "")); !errors.Is(err, change.ErrShuttingDown) {
		t.Fatalf("a change after Close = %v, want ErrShuttingDown", err)
	}
	if p, err := f.log.List(ctx, audit.Filter{}, "", 10); err != nil || len(p.Entries) != 0 || f.puts() != 0 {
		t.Fatalf("%d entries, %d PUTs, %v", len(p.Entries), f.puts(), err)
	}
}

// dropThenLoseLock is the upstream, except that the first PUT is lost on
// the way (no answer, not applied) and the console's lock session is then
// killed before it could send again.
type dropThenLoseLock struct {
	*dropFirstPut
	t      *testing.T
	killed bool
}

func (u *dropThenLoseLock) GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error) {
	ep, err := u.Upstream.GetEndpoint(ctx, id)
	if u.dropped && !u.killed { // the read-back after the lost PUT
		u.killed = killEndpointLock(u.t, u.f.pool, id)
	}
	return ep, err
}

// A PUT went out and the lock was lost before a second could: the entry
// records the PUT that was sent, never "nothing was sent".
func TestLockLostBeforeAResendRecordsTheFirstPut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	before := f.livePolicy(t)
	u := &dropThenLoseLock{dropFirstPut: &dropFirstPut{Upstream: f.client, f: f}, t: t}
	applier := change.NewApplier(u, f.log, f.pool, change.Config{ProjectID: "p1", Region: "r"}, discard())
	res, err := applier.Apply(ctx, f.update(readOnly("lost"), ""))
	if err != nil || !u.killed {
		t.Fatalf("Apply = %+v, %v (lock killed: %v)", res, err, u.killed)
	}
	e := res.Entry
	if res.Outcome != change.Failed || e.Outcome != audit.OutcomeFailed || e.RequestBody == "" ||
		strings.Contains(e.Note, "nothing was sent") || !strings.Contains(e.Note, "not sent again") {
		t.Fatalf("outcome %s, entry %s, request body %q, note %q", res.Outcome, e.Outcome, e.RequestBody, e.Note)
	}
	if f.puts() != 1 || !policy.Equal(f.livePolicy(t), before) {
		t.Fatalf("%d PUTs; live %s", f.puts(), policy.JSON(f.livePolicy(t)))
	}
}

// Settling an entry left pending weighs the nearest evidence first (what
// the next change found live), and never calls applied a change that could
// not have been sent.
func TestSettlingWeighsTheEvidence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p0, p1 := f.livePolicy(t), readOnly("p1")
	begin := func(before string, requested policy.Policy) *audit.Entry {
		e, err := f.log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p1", Region: "r", EndpointID: f.gateway.ID,
			EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "r", PolicyBefore: before,
			PolicyRequested: policy.JSON(requested)})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// A change whose live read failed is never sent, whatever is live now.
	unread := begin("null", p0)
	if _, err := f.reconciler.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.log.Get(ctx, unread.ID); got.Outcome != audit.OutcomeFailed || !strings.Contains(got.Note, "nothing was sent") {
		t.Errorf("a change that could not read the live policy: %s %q", got.Outcome, got.Note)
	}

	// E1 asked P0 -> P1 and crashed; E2 (as an earlier version could
	// record) found P1 and put P0 back. The live P0 alone would say E1
	// failed; E2 proves it applied.
	e1 := begin(policy.JSON(p0), p1)
	var e2 int64
	if err := f.pool.QueryRow(ctx, `INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id,
			endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash, hash,
			outcome, finished_at, final_hash)
		VALUES (now(), 'bob', 'p1', 'r', $1, 'obs', 'update', 'put back', $2, $3, '', '', 'succeeded', now(), '')
		RETURNING id`, f.gateway.ID, policy.JSON(p1), policy.JSON(p0)).Scan(&e2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reconciler.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.log.Get(ctx, e1.ID); got.Outcome != audit.OutcomeSucceeded || !strings.Contains(got.Note, "next change") {
		t.Errorf("E1 settled as %s: %q", got.Outcome, got.Note)
	}
}

// held waits for the held call to arrive at the simulator, failing t after
// 20 s rather than hanging the test binary.
func held(t *testing.T, h *vpcepsim.Hold) {
	t.Helper()
	select {
	case <-h.Arrived():
	case <-time.After(20 * time.Second):
		t.Fatal("the held call never reached the simulator")
	}
}

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
	f.sim.SetLatency(time.Second)
	var a *change.Result
	var aErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a, aErr = f.applier.Apply(ctx, f.update(readOnly("change-a"), base)) }()
	waitFor(t, "change A's PUT", func() bool { return f.puts() == 1 })
	if !killEndpointLock(t, f.pool, f.gateway.ID) {
		t.Fatal("no session held the endpoint's lock during the PUT")
	}

	_, bErr := f.applier.Apply(ctx, f.update(readOnly("change-b"), base))
	var pe *change.PendingError
	if !errors.As(bErr, &pe) {
		t.Fatalf("change B while A is in flight = %v, want a PendingError", bErr)
	}
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

	quick := f.applierWith(change.Config{Deadline: 100 * time.Millisecond, SettleMargin: 100 * time.Millisecond})
	time.Sleep(250 * time.Millisecond) // past its settle age
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
			IF nextval('finalise_attempts') <= 3 THEN RAISE EXCEPTION 'finalise refused by the test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_first_updates BEFORE UPDATE ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_first_updates();`); err != nil {
		t.Fatal(err)
	}
	res, err := f.applier.Apply(ctx, f.update(readOnly("kept"), ""))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
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
	time.Sleep(100 * time.Millisecond) // it waits for the lock
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

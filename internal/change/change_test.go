package change_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

type fixture struct {
	sim        *simtest.Upstream
	client     *vpcep.Client
	pool       *pgxpool.Pool
	log        *audit.Log
	applier    *change.Applier
	reconciler *change.Reconciler
	gateway    *vpcepsim.Endpoint // an editable endpoint with a policy
}

// newFixture gives t the simulator, a database of its own and the applier.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	sim := simtest.Start(t, simtest.Options{})
	client := sim.Client(t, func(c *vpcep.Config) { c.Timeout = 2 * time.Second })
	pool := testdb.Pool(t, testdb.Migrated(t))
	log := audit.New(pool)
	logger := discard()
	return &fixture{
		sim: sim, client: client, pool: pool, log: log,
		applier:    change.NewApplier(client, log, pool, change.Config{ProjectID: "p1", Region: "cn-north-4", Deadline: 10 * time.Second, LockWait: 20 * time.Second}, logger),
		reconciler: change.NewReconciler(client, log, pool, 0, logger),
		gateway:    sim.Gateway(t, 2),
	}
}

// applierWith is an applier like the fixture's, configured by cfg.
func (f *fixture) applierWith(cfg change.Config) *change.Applier {
	cfg.ProjectID, cfg.Region = "p1", "cn-north-4"
	return change.NewApplier(f.client, f.log, f.pool, cfg, discard())
}

func (f *fixture) livePolicy(t *testing.T) policy.Policy { return f.sim.Live(t, f.gateway.ID) }

func (f *fixture) puts() int { return f.sim.Puts() }

func readOnly(bucket string) policy.Policy {
	return policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:" + bucket + "/*"}}}
}

func (f *fixture) update(p policy.Policy, fingerprint string) change.Request {
	return change.Request{Actor: "alice", EndpointID: f.gateway.ID, Policy: p, Reason: "narrow access", Fingerprint: fingerprint, Action: audit.ActionUpdate}
}

func TestEditThenRollBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	original := f.livePolicy(t)

	res, err := f.applier.Apply(ctx, f.update(readOnly("logs-prod"), policy.Fingerprint(original)))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	e := res.Entry
	if e.Outcome != audit.OutcomeSucceeded || !*e.ReadbackMatches || *e.ResponseStatus != 200 || e.RequestID == "" ||
		string(e.PolicyBefore) != policy.JSON(original) || string(e.PolicyRequested) != policy.JSON(readOnly("logs-prod")) ||
		!strings.Contains(e.RequestBody, `"policy_statement"`) || e.EndpointServiceName != f.gateway.Service.Name {
		t.Fatalf("update entry: %+v", e)
	}
	if !policy.Equal(f.livePolicy(t), readOnly("logs-prod")) {
		t.Fatal("live policy not updated")
	}

	var before policy.Policy
	if errs := parseCanonical(e.PolicyBefore, &before); errs != nil {
		t.Fatal(errs)
	}
	rb, err := f.applier.Apply(ctx, change.Request{Actor: "bob", EndpointID: f.gateway.ID, Policy: before,
		Reason: fmt.Sprintf("Rollback of #%d", e.ID), Fingerprint: policy.Fingerprint(readOnly("logs-prod")),
		Action: audit.ActionRollback, RollbackOf: &e.ID, Restores: audit.RestoresBefore})
	if err != nil || rb.Outcome != change.Applied {
		t.Fatalf("rollback Apply = %+v, %v", rb, err)
	}
	if rb.Entry.Outcome != audit.OutcomeSucceeded || *rb.Entry.RollbackOf != e.ID || rb.Entry.Action != audit.ActionRollback {
		t.Fatalf("rollback entry: %+v", rb.Entry)
	}
	if !policy.Equal(f.livePolicy(t), original) {
		t.Fatal("rollback did not restore the original policy")
	}
	linked, err := f.log.RolledBackBy(ctx, e.ID)
	if err != nil || len(linked) != 1 || linked[0].ID != rb.Entry.ID {
		t.Fatalf("RolledBackBy = %v, %v", linked, err)
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() || r.Checked != 2 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func parseCanonical(raw []byte, into *policy.Policy) error {
	p, errs := policy.ParseStatements(raw)
	if len(errs) > 0 {
		return errs
	}
	*into = p
	return nil
}

func TestUpstreamErrorIsRecordedAsFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	original := f.livePolicy(t)
	f.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})

	res, err := f.applier.Apply(ctx, f.update(readOnly("x"), ""))
	if err != nil || res.Outcome != change.Failed || res.UpstreamError() == nil || res.UpstreamError().Status != 500 {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	e := res.Entry
	if e.Outcome != audit.OutcomeFailed || *e.ResponseStatus != 500 || e.ErrorCode != "EndPoint.0001" || e.RequestID == "" ||
		e.ErrorMessage != "System error. Please retry." || e.RequestBody == "" || *e.ReadbackMatches {
		t.Fatalf("entry %+v", e)
	}
	if !policy.Equal(f.livePolicy(t), original) {
		t.Fatal("the live policy changed")
	}
}

func TestLostAnswerIsSettledByReadBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.sim.LoseAnswerNext(vpcepsim.RouteUpdatePolicy, 1) // applied, answer lost
	res, err := f.applier.Apply(ctx, f.update(readOnly("logs-prod"), ""))
	// The read-back proves the change took: it is applied, and the lost
	// answer is kept as the upstream's failure.
	if err != nil || res.Outcome != change.Applied || res.Upstream == nil {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	e := res.Entry
	if e.Outcome != audit.OutcomeSucceeded || e.ResponseStatus != nil || !strings.Contains(e.Note, "did not answer") || !*e.ReadbackMatches {
		t.Fatalf("entry %+v", e)
	}
}

func TestReconcilerSettlesPendingEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	originalPolicy := f.livePolicy(t)
	original := policy.JSON(originalPolicy)
	begin := func(requested policy.Policy) *audit.Entry {
		e, err := f.log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p1", Region: "r", EndpointID: f.gateway.ID,
			EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "r", PolicyBefore: original,
			PolicyRequested: policy.JSON(requested)})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// A crash after the PUT: the upstream holds the requested policy.
	applied := begin(readOnly("a"))
	if _, err := f.client.UpdatePolicy(ctx, f.gateway.ID, readOnly("a")); err != nil {
		t.Fatal(err)
	}
	if n, err := f.reconciler.Once(ctx); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	// A crash before the PUT of a change recorded against the original.
	notApplied := begin(readOnly("b"))
	if n, err := f.reconciler.Once(ctx); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	got1, _ := f.log.Get(ctx, applied.ID)
	got2, _ := f.log.Get(ctx, notApplied.ID)
	// The live policy is readOnly("a"): the first entry's requested one, and
	// for the second neither its before nor its requested.
	if got1.Outcome != audit.OutcomeSucceeded || !strings.HasPrefix(got1.Note, "Settled by the reconciler") {
		t.Errorf("applied entry: %s %q", got1.Outcome, got1.Note)
	}
	if got2.Outcome != audit.OutcomeUnknown {
		t.Errorf("second entry: %s %q", got2.Outcome, got2.Note)
	}
	// Put the original back: a pending entry from it reads as not applied.
	if _, err := f.client.UpdatePolicy(ctx, f.gateway.ID, originalPolicy); err != nil {
		t.Fatal(err)
	}
	third := begin(readOnly("c"))
	if _, err := f.reconciler.Once(ctx); err != nil {
		t.Fatal(err)
	}
	got3, _ := f.log.Get(ctx, third.ID)
	if got3.Outcome != audit.OutcomeFailed {
		t.Errorf("third entry: %s %q", got3.Outcome, got3.Note)
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func TestNothingIsSentWhenTheAuditLogFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("table refuses the entry", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.pool.Exec(ctx, `ALTER TABLE audit_entries ADD CONSTRAINT no_more CHECK (id < 0) NOT VALID`); err != nil {
			t.Fatal(err)
		}
		_, err := f.applier.Apply(ctx, f.update(readOnly("x"), ""))
		if !errors.Is(err, change.ErrAuditUnavailable) || !strings.Contains(err.Error(), "nothing was sent") {
			t.Fatalf("Apply = %v", err)
		}
		if f.puts() != 0 {
			t.Fatal("a PUT was sent without an audit entry")
		}
	})
	t.Run("database unreachable", func(t *testing.T) {
		f := newFixture(t)
		f.pool.Close()
		if _, err := f.applier.Apply(ctx, f.update(readOnly("x"), "")); err == nil {
			t.Fatal("Apply succeeded without a database")
		}
		if f.puts() != 0 {
			t.Fatal("a PUT was sent without an audit entry")
		}
	})
}

func TestConflictSendsNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	base := policy.Fingerprint(f.livePolicy(t))
	// Someone else changes the policy after the editor opened.
	if _, err := f.client.UpdatePolicy(ctx, f.gateway.ID, readOnly("theirs")); err != nil {
		t.Fatal(err)
	}
	putsBefore := f.puts()
	res, err := f.applier.Apply(ctx, f.update(readOnly("mine"), base))
	if err != nil || res.Outcome != change.Conflict || !policy.Equal(res.Endpoint.PolicyStatement, readOnly("theirs")) {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if f.puts() != putsBefore {
		t.Fatal("a conflicting change was sent")
	}
	if res.Entry.Outcome != audit.OutcomeFailed || !strings.HasPrefix(res.Entry.Note, "Conflict") || res.Entry.RequestBody != "" {
		t.Fatalf("entry %+v", res.Entry)
	}
}

func TestNoChangeSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	live := f.livePolicy(t)
	reordered := policy.Policy{live[1], live[0]}
	res, err := f.applier.Apply(context.Background(), f.update(reordered, ""))
	if err != nil || res.Outcome != change.Unchanged || res.Entry.Outcome != audit.OutcomeSucceeded || f.puts() != 0 {
		t.Fatalf("Apply = %+v, %v, %d PUTs", res, err, f.puts())
	}
}

func TestInvalidAndNotEditable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	_, err := f.applier.Apply(ctx, f.update(policy.Policy{{Effect: "Permit", Action: []string{"a"}, Resource: []string{"*"}}}, ""))
	var ie *change.InvalidError
	if !errors.As(err, &ie) || ie.Errors.For("policy_statement[0].Effect") == "" {
		t.Fatalf("invalid: %v", err)
	}
	req := f.update(readOnly("x"), "")
	req.Reason = " "
	if _, err := f.applier.Apply(ctx, req); !errors.As(err, &ie) || ie.Errors.For("reason") == "" {
		t.Fatalf("no reason: %v", err)
	}
	notEditable := 0
	for _, ep := range f.sim.Endpoints() {
		if ep.Service.Type == "interface" || (ep.Service.Type == "gateway" && ep.Service.PolicyKind == "") {
			notEditable++
			req := f.update(readOnly("x"), "")
			req.EndpointID = ep.ID
			var ne *change.NotEditableError
			if _, err := f.applier.Apply(ctx, req); !errors.As(err, &ne) {
				t.Fatalf("%s endpoint %s: %v", ep.Service.Type, ep.ID, err)
			}
		}
	}
	if notEditable == 0 {
		t.Fatal("the simulator has no endpoint that cannot be edited: nothing was tried")
	}
	if f.puts() != 0 {
		t.Fatal("something was sent")
	}
	p, err := f.log.List(ctx, audit.Filter{}, "", 10)
	if err != nil || len(p.Entries) != 0 {
		t.Fatalf("entries for rejected input: %d, %v", len(p.Entries), err)
	}
}

func TestRepeatedSubmissionMakesOneChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	req := f.update(readOnly("once"), "")
	req.SubmissionKey = "form-key-1"
	var wg sync.WaitGroup
	results := make([]*change.Result, 3)
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = f.applier.Apply(ctx, req) }()
	}
	wg.Wait()
	ok, dup := 0, 0
	var first int64
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		switch results[i].Outcome {
		case change.Applied:
			ok++
			first = results[i].Entry.ID
		case change.Duplicate:
			dup++
		default:
			t.Fatalf("outcome %s", results[i].Outcome)
		}
	}
	for _, r := range results {
		if r.Entry.ID != first {
			t.Errorf("a duplicate names entry #%d, the change is #%d", r.Entry.ID, first)
		}
	}
	if ok != 1 || dup != 2 || f.puts() != 1 {
		t.Fatalf("%d applied, %d duplicates, %d PUTs", ok, dup, f.puts())
	}
}

// Twenty admins submit at once against the same starting policy: one change
// wins, the others are conflicts, and every PUT has exactly one entry.
func TestConcurrentSubmitsLoseNoUpdate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	base := policy.Fingerprint(f.livePolicy(t))
	var wg sync.WaitGroup
	results := make([]*change.Result, 20)
	errs := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.applier.Apply(ctx, f.update(readOnly(fmt.Sprintf("bucket-%d", i)), base))
		}()
	}
	wg.Wait()
	won, conflicts := 0, 0
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("Apply: %v", errs[i])
		}
		switch res.Outcome {
		case change.Applied:
			won++
		case change.Conflict:
			conflicts++
		default:
			t.Fatalf("Apply: outcome %s", res.Outcome)
		}
	}
	if won != 1 || conflicts != 19 || f.puts() != 1 {
		t.Fatalf("%d won, %d conflicts, %d PUTs", won, conflicts, f.puts())
	}
	assertOneEntryPerPut(t, f)
}

// Without fingerprints the submits apply one after another; each entry's
// policy_before is what the previous one left: no update is lost.
func TestConcurrentSubmitsSerialise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := f.applier.Apply(ctx, f.update(readOnly(fmt.Sprintf("bucket-%d", i)), "")); err != nil || res.Outcome != change.Applied {
				t.Errorf("Apply = %+v, %v", res, err)
			}
		}()
	}
	wg.Wait()
	if f.puts() != 20 {
		t.Fatalf("%d PUTs", f.puts())
	}
	assertOneEntryPerPut(t, f)
	p, err := f.log.List(ctx, audit.Filter{}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	entries := p.Entries
	for i := len(entries) - 2; i >= 0; i-- { // oldest first
		if string(entries[i].PolicyBefore) != string(entries[i+1].PolicyRequested) {
			t.Fatalf("entry #%d started from %s, but #%d had left %s", entries[i].ID, entries[i].PolicyBefore, entries[i+1].ID, entries[i+1].PolicyRequested)
		}
	}
	if policy.JSON(f.livePolicy(t)) != string(entries[0].PolicyRequested) {
		t.Fatal("the live policy is not the newest entry's")
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func assertOneEntryPerPut(t *testing.T, f *fixture) {
	t.Helper()
	sent := map[string]int{}
	for _, r := range f.sim.Requests() {
		if r.Method == "PUT" {
			sent[string(r.Body)]++
		}
	}
	recorded := map[string]int{}
	err := f.log.Each(context.Background(), audit.Filter{}, func(e *audit.Entry) error {
		if e.Outcome == audit.OutcomePending {
			t.Errorf("entry #%d still pending", e.ID)
		}
		if e.RequestBody != "" {
			recorded[e.RequestBody]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for body, n := range sent {
		if recorded[body] != n {
			t.Errorf("PUT %s sent %d times, recorded %d times", body, n, recorded[body])
		}
	}
	if len(recorded) != len(sent) {
		t.Errorf("%d recorded bodies, %d sent", len(recorded), len(sent))
	}
}

// A browser that goes away mid-change does not leave it unrecorded.
func TestDisconnectDoesNotCutTheChangeShort(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sim.SetLatency(300 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var res *change.Result
	go func() {
		var err error
		res, err = f.applier.Apply(ctx, f.update(readOnly("logs-prod"), ""))
		errc <- err
	}()
	// Wait until the PUT is in flight, then close the "browser".
	for deadline := time.Now().Add(10 * time.Second); f.puts() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the PUT was never sent")
		}
	}
	cancel()
	if err := <-errc; err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if res.Entry.Outcome != audit.OutcomeSucceeded || !*res.Entry.ReadbackMatches {
		t.Fatalf("entry %+v", res.Entry)
	}
}

// A finalise that fails leaves the entry pending and says so: the change was
// sent, and the Reconciler settles it later.
func TestFailedFinaliseIsUnsettled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.pool.Exec(ctx, `
		CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'finalise refused by the test'; END $$;
		CREATE TRIGGER refuse_update BEFORE UPDATE ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_update();`); err != nil {
		t.Fatal(err)
	}
	// A short deadline: finalise retries until it, then gives up.
	applier := f.applierWith(change.Config{Deadline: time.Second})
	res, err := applier.Apply(ctx, f.update(readOnly("logs-prod"), ""))
	if err != nil || res.Outcome != change.Unsettled || res.Entry.Outcome != audit.OutcomePending || f.puts() != 1 {
		t.Fatalf("Apply = %+v, %v, %d PUTs", res, err, f.puts())
	}
	if got, err := f.log.Get(ctx, res.Entry.ID); err != nil || got.Outcome != audit.OutcomePending {
		t.Fatalf("stored entry: %+v, %v", got, err)
	}
	if _, err := f.pool.Exec(ctx, `DROP TRIGGER refuse_update ON audit_entries`); err != nil {
		t.Fatal(err)
	}
	if n, err := f.reconciler.Once(ctx); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	if got, _ := f.log.Get(ctx, res.Entry.ID); got.Outcome != audit.OutcomeSucceeded {
		t.Fatalf("settled as %s", got.Outcome)
	}
}

// The endpoint list shows an applied change at once.
type recordingInventory struct{ put []*vpcep.Endpoint }

func (r *recordingInventory) PutInventoryEndpoint(_ context.Context, ep *vpcep.Endpoint) error {
	r.put = append(r.put, ep)
	return nil
}

func TestAppliedChangeUpdatesTheInventory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	inv := &recordingInventory{}
	applier := change.NewApplier(f.client, f.log, f.pool, change.Config{ProjectID: "p1", Region: "r", Inventory: inv},
		discard())
	if res, err := applier.Apply(ctx, f.update(readOnly("inv"), "")); err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if len(inv.put) != 1 || !policy.Equal(inv.put[0].PolicyStatement, readOnly("inv")) {
		t.Fatalf("inventory got %d endpoints", len(inv.put))
	}
	// Nothing sent, nothing to put.
	if res, err := applier.Apply(ctx, f.update(readOnly("inv"), "")); err != nil || res.Outcome != change.Unchanged || len(inv.put) != 1 {
		t.Fatalf("Apply = %+v, %v; %d puts", res, err, len(inv.put))
	}
}

// Whatever a change ends in, the endpoint's lock is free when Apply
// returns, with or without the drift detector (whose state write may carry
// the unlock), and no pooled session still holds an advisory lock.
func TestTheLockIsFreeWhenApplyReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	other := testdb.Pool(t, f.pool.Config().ConnString())
	detector := drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "cn-north-4", Upstream: f.client}, discard())
	for _, withDrift := range []bool{false, true} {
		cfg := change.Config{Deadline: 10 * time.Second}
		if withDrift {
			cfg.Drift = detector
		}
		applier := f.applierWith(cfg)
		for _, tt := range []struct {
			name    string
			req     func() change.Request
			fault   bool
			outcome change.Outcome
		}{
			{"applied", func() change.Request { return f.update(readOnly(fmt.Sprint("a", withDrift)), "") }, false, change.Applied},
			{"unchanged", func() change.Request { return f.update(f.livePolicy(t), "") }, false, change.Unchanged},
			{"conflict", func() change.Request { return f.update(readOnly("c"), policy.Fingerprint(readOnly("not live"))) }, false, change.Conflict},
			{"failed", func() change.Request { return f.update(readOnly("f"), "") }, true, change.Failed},
		} {
			if tt.fault {
				f.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error."})
			}
			res, err := applier.Apply(ctx, tt.req())
			f.sim.ClearFaults()
			if err != nil || res.Outcome != tt.outcome {
				t.Fatalf("drift %v, %s: Apply = %+v, %v", withDrift, tt.name, res, err)
			}
			l, ok, err := pglock.TryLock(ctx, other, change.EndpointLock(f.gateway.ID))
			if err != nil || !ok {
				t.Fatalf("drift %v, %s: the endpoint's lock is still held after Apply (%v)", withDrift, tt.name, err)
			}
			l.Release()
			var held int
			if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held); err != nil || held != 0 {
				t.Fatalf("drift %v, %s: %d advisory locks held after Apply (%v)", withDrift, tt.name, held, err)
			}
		}
	}
}

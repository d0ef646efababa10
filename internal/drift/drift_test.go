package drift_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

// fixtureProject is the project id of the fixture's console: the key of its
// inventory rows (store.NewProject) and of its entries, one key for both
// as the app wires each project. "" is the one-project store's (store.New).
const fixtureProject = ""

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// replica is one console's parts over a pool of its own.
type replica struct {
	pool      *pgxpool.Pool
	log       *audit.Log
	store     *store.Store
	detector  *drift.Detector
	refresher *inventory.Refresher
	applier   *change.Applier
}

type fixture struct {
	t       *testing.T
	sim     *simtest.Upstream
	client  *vpcep.Client
	url     string
	gateway *vpcepsim.Endpoint
	*replica
}

func newFixture(t *testing.T, src cts.Source) *fixture {
	t.Helper()
	sim := simtest.Start(t, simtest.Options{})
	f := &fixture{t: t, sim: sim, client: sim.Client(t, nil), url: testdb.Migrated(t), gateway: sim.Gateway(t, 2)}
	f.replica = f.newReplica(src)
	return f
}

// newReplica wires a console's drift parts on a pool of its own, as another
// replica of the same console.
func (f *fixture) newReplica(src cts.Source) *replica {
	pool := testdb.Pool(f.t, f.url)
	r := &replica{pool: pool, log: audit.New(pool), store: store.NewProject(pool, fixtureProject)}
	r.detector = drift.New(pool, r.log, drift.Config{ProjectID: fixtureProject, Region: "cn-north-4", Upstream: f.client, CTS: src,
		AttributeRetry: time.Microsecond}, discard())
	r.refresher = inventory.NewRefresher(f.client, r.store, time.Hour, discard())
	r.refresher.SetDriftDetector(func(ctx context.Context, since time.Time) error {
		_, err := r.detector.DetectInventory(ctx, since)
		return err
	})
	r.applier = change.NewApplier(f.client, r.log, pool, change.Config{ProjectID: fixtureProject, Region: "cn-north-4",
		Deadline: 10 * time.Second, LockWait: 10 * time.Second, Drift: r.detector}, discard())
	return r
}

func (r *replica) refresh(t *testing.T) {
	t.Helper()
	if err := r.refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

// outOfBand changes the endpoint's policy in the simulator, as the Huawei
// Cloud console or Terraform would.
func (f *fixture) outOfBand(id string, p policy.Policy) {
	ep, ok := f.sim.Endpoint(id)
	if !ok {
		f.t.Fatalf("no endpoint %s", id)
	}
	ep.Statements = nil
	for _, s := range p {
		ep.Statements = append(ep.Statements, vpcepsim.Statement{Effect: s.Effect, Action: s.Action, Resource: s.Resource, Condition: s.Condition, Sid: s.Sid})
	}
	f.sim.PutEndpoint(ep)
}

func (f *fixture) live(id string) *vpcep.Endpoint {
	f.t.Helper()
	ep, err := f.client.GetEndpoint(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ep
}

func readOnly(bucket string) policy.Policy {
	return policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:" + bucket + "/*"}}}
}

// entries are the endpoint's entries of action, oldest first ("" for all).
func (f *fixture) entries(endpointID, action string) []*audit.Entry {
	f.t.Helper()
	var out []*audit.Entry
	err := f.log.Each(context.Background(), audit.Filter{EndpointID: endpointID, Action: action}, func(e *audit.Entry) error {
		out = append([]*audit.Entry{e}, out...)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) verify() {
	f.t.Helper()
	if r, err := f.log.Verify(context.Background()); err != nil || !r.OK() {
		f.t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// editable counts the editable endpoints (change.Editable), read live.
func (f *fixture) editable() int {
	n := 0
	for _, ep := range f.sim.Endpoints() {
		if ok, _ := change.Editable(f.live(ep.ID)); ok {
			n++
		}
	}
	return n
}

func TestBaselineOnFirstSightAndNoneForEndpointsWithHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	// A change made by an earlier version, before detection existed.
	plain := change.NewApplier(f.client, f.log, f.pool, change.Config{ProjectID: fixtureProject, Region: "cn-north-4"}, discard())
	res, err := plain.Apply(ctx, change.Request{Actor: "alice", EndpointID: f.gateway.ID, Policy: readOnly("early"),
		Reason: "before drift detection", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}

	f.refresh(t)
	baselines := f.entries("", audit.ActionBaseline)
	if want := f.editable() - 1; len(baselines) != want {
		t.Fatalf("%d baselines, want %d (every editable endpoint but the one with history)", len(baselines), want)
	}
	for _, e := range baselines {
		if e.EndpointID == f.gateway.ID {
			t.Errorf("baseline #%d for the endpoint with history", e.ID)
		}
		if e.Actor != drift.ActorConsole || e.Outcome != audit.OutcomeSucceeded || string(e.PolicyBefore) != string(e.PolicyRequested) ||
			e.DetectedBy != drift.ByBaseline || e.FormatVersion != audit.CurrentFormatVersion {
			t.Errorf("baseline %+v", e)
		}
		live := policy.JSON(f.sim.Live(t, e.EndpointID))
		if string(e.PolicyRequested) != live {
			t.Errorf("baseline #%d records %s, live is %s", e.ID, e.PolicyRequested, live)
		}
	}
	// Nothing new on the next refresh, nor on a live read.
	f.refresh(t)
	if st, err := f.detector.Observe(ctx, f.live(f.gateway.ID), drift.ByDetail); err != nil || st.Drifted || st.Recorded != nil || st.KnownEntryID != res.Entry.ID {
		t.Fatalf("Observe = %+v, %v; want not drifted, known #%d", st, err, res.Entry.ID)
	}
	if n := len(f.entries("", "")); n != len(baselines)+1 {
		t.Errorf("%d entries after a second refresh, want %d", n, len(baselines)+1)
	}
	f.verify()
}

func TestOutOfBandChangeRecordedOnceAcrossThreeReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	replicas := []*replica{f.replica, f.newReplica(nil), f.newReplica(nil)}
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)

	f.outOfBand(f.gateway.ID, readOnly("terraform"))
	live := f.live(f.gateway.ID)
	// Each replica refreshes (one at a time holds the refresh lock), compares
	// the inventory and reads the endpoint live, all at once, twice over.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 2 {
		for _, r := range replicas {
			wg.Add(3)
			go func() {
				defer wg.Done()
				if err := r.refresher.Refresh(ctx, inventory.TriggerManual); err != nil && !errors.Is(err, inventory.ErrBusy) {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := r.detector.DetectInventory(ctx, time.Time{}); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := r.detector.Observe(ctx, live, drift.ByDetail); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A pass after them all, in case every one found the lock busy.
	if _, err := f.detector.DetectInventory(ctx, time.Time{}); err != nil {
		t.Fatal(err)
	}
	drifts := f.entries(f.gateway.ID, audit.ActionDrift)
	if len(drifts) != 1 {
		t.Fatalf("%d drift entries, want 1: %+v", len(drifts), drifts)
	}
	d := drifts[0]
	if d.Actor != drift.ActorExternal || d.Outcome != audit.OutcomeSucceeded || string(d.PolicyBefore) != policy.JSON(known) ||
		string(d.PolicyRequested) != policy.JSON(readOnly("terraform")) || !strings.Contains(d.Note, "CTS not enabled") {
		t.Errorf("drift entry %+v", d)
	}
	for _, r := range replicas {
		st, err := r.detector.Status(ctx, f.gateway.ID)
		if err != nil || !st.Drifted || st.Drift.ID != d.ID || string(st.Known) != policy.JSON(known) || st.AttributionState != drift.AttributionDisabled {
			t.Errorf("Status = %+v, %v", st, err)
		}
	}
	// The list's read model and filter know it.
	page, err := f.store.ListInventory(ctx, store.InventoryFilter{Drifted: true, PerPage: 50})
	if err != nil || page.Total != 1 || page.Endpoints[0].ID != f.gateway.ID {
		t.Errorf("drifted filter = %+v, %v", page, err)
	}
	if ds, err := f.store.Drifts(ctx); err != nil || len(ds) != 1 || ds[f.gateway.ID] != d.ID {
		t.Errorf("Drifts = %v, %v", ds, err)
	}
	f.verify()
}

// The state row is written in the transaction of the entry; and were it
// lost or behind (a crash of an older writer, a restore), the log decides:
// no second drift, no baseline for an endpoint with history.
func TestStateIsRederivedFromTheLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	var baselineState int64
	if err := f.pool.QueryRow(ctx, `SELECT entry_id FROM endpoint_versions WHERE endpoint_id = $1`, f.gateway.ID).Scan(&baselineState); err != nil {
		t.Fatal(err)
	}
	f.outOfBand(f.gateway.ID, readOnly("cli"))
	f.refresh(t)
	drifts := f.entries(f.gateway.ID, audit.ActionDrift)
	if len(drifts) != 1 {
		t.Fatalf("%d drifts, want 1", len(drifts))
	}
	var entryID, driftID int64
	var fp string
	if err := f.pool.QueryRow(ctx, `SELECT entry_id, drift_entry_id, fingerprint FROM endpoint_versions WHERE endpoint_id = $1`,
		f.gateway.ID).Scan(&entryID, &driftID, &fp); err != nil {
		t.Fatal(err)
	}
	if entryID != drifts[0].ID || driftID != drifts[0].ID || fp != policy.Fingerprint(readOnly("cli")) {
		t.Fatalf("state: entry %d, drift %d, fingerprint %s; want the drift #%d", entryID, driftID, fp, drifts[0].ID)
	}
	for _, tamper := range []string{
		// As if the state write had been lost after the entry.
		`UPDATE endpoint_versions SET fingerprint = (SELECT policy_fingerprint FROM inventory_endpoints WHERE id = $1) || 'old',
			entry_id = ` + strconv.FormatInt(baselineState, 10) + `, drift_entry_id = NULL WHERE endpoint_id = $1`,
		// As if there had never been one.
		`DELETE FROM endpoint_versions WHERE endpoint_id = $1`,
	} {
		if _, err := f.pool.Exec(ctx, tamper, f.gateway.ID); err != nil {
			t.Fatal(err)
		}
		f.refresh(t)
		if _, err := f.detector.Observe(ctx, f.live(f.gateway.ID), drift.ByEditor); err != nil {
			t.Fatal(err)
		}
		if n := len(f.entries(f.gateway.ID, "")); n != 2 {
			t.Fatalf("%d entries after %q, want the baseline and the one drift", n, tamper)
		}
		if st, err := f.detector.Status(ctx, f.gateway.ID); err != nil || !st.Drifted || st.Drift.ID != drifts[0].ID {
			t.Fatalf("Status = %+v, %v", st, err)
		}
	}
	// A transaction that fails after the entry leaves neither: the entry
	// is appended in the caller's transaction.
	tx, err := f.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Append(ctx, tx, []audit.Complete{{Start: audit.Start{Actor: "x", EndpointID: f.gateway.ID, Action: audit.ActionDrift,
		PolicyBefore: "[]", PolicyRequested: "[]"}, Final: audit.Final{Outcome: audit.OutcomeSucceeded}}}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	if n := len(f.entries(f.gateway.ID, "")); n != 2 {
		t.Fatalf("%d entries after a rolled back append, want 2", n)
	}
	f.verify()
}

func TestAdoptKeepsTheDriftedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	f.outOfBand(f.gateway.ID, readOnly("console"))
	st, err := f.detector.Observe(ctx, f.live(f.gateway.ID), drift.ByDetail)
	if err != nil || !st.Drifted || st.Recorded == nil || st.Recorded.DetectedBy != drift.ByDetail {
		t.Fatalf("Observe = %+v, %v", st, err)
	}
	d := st.Drift

	var invalid *drift.InvalidError
	if _, err := f.detector.Adopt(ctx, "carol", d.ID, "  "); !errors.As(err, &invalid) || invalid.Field != "reason" {
		t.Fatalf("Adopt without a reason = %v", err)
	}
	baseline := f.entries(f.gateway.ID, audit.ActionBaseline)[0]
	if _, err := f.detector.Adopt(ctx, "carol", baseline.ID, "why"); !errors.Is(err, drift.ErrNotDrift) {
		t.Fatalf("Adopt of a baseline = %v", err)
	}
	// The live policy moved again: the new drift is recorded, and adopting
	// the old one is refused.
	f.outOfBand(f.gateway.ID, readOnly("terraform"))
	var moved *drift.MovedError
	if _, err := f.detector.Adopt(ctx, "carol", d.ID, "looks right"); !errors.As(err, &moved) || moved.Drift == nil {
		t.Fatalf("Adopt after another change = %v", err)
	}
	second := moved.Drift
	if string(second.PolicyBefore) != policy.JSON(readOnly("console")) || string(second.PolicyRequested) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("second drift %+v", second)
	}
	var notOpen *drift.NotOpenError
	if _, err := f.detector.Adopt(ctx, "carol", d.ID, "looks right"); !errors.As(err, &notOpen) || notOpen.Current.Drift.ID != second.ID {
		t.Fatalf("Adopt of the superseded drift = %v", err)
	}
	if st, _ := f.detector.Status(ctx, f.gateway.ID); string(st.Known) != policy.JSON(known) {
		t.Fatalf("known after two drifts = %s, want %s", st.Known, policy.JSON(known))
	}

	adopted, err := f.detector.Adopt(ctx, "carol", second.ID, "Terraform is the source of truth now")
	if err != nil {
		t.Fatal(err)
	}
	if adopted.Action != audit.ActionAdopt || adopted.Actor != "carol" || *adopted.RefersTo != second.ID ||
		string(adopted.PolicyBefore) != policy.JSON(known) || string(adopted.PolicyRequested) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("adopt entry %+v", adopted)
	}
	st, err = f.detector.Status(ctx, f.gateway.ID)
	if err != nil || st.Drifted || st.KnownEntryID != adopted.ID {
		t.Fatalf("Status after adopt = %+v, %v", st, err)
	}
	if !policy.Equal(f.sim.Live(t, f.gateway.ID), readOnly("terraform")) {
		t.Fatal("adopting changed the live policy")
	}
	if _, err := f.detector.Adopt(ctx, "carol", second.ID, "again"); !errors.As(err, &notOpen) {
		t.Fatalf("a second Adopt = %v", err)
	}
	f.refresh(t)
	actions := []string{}
	for _, e := range f.entries(f.gateway.ID, "") {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "baseline drift drift adopt" {
		t.Fatalf("history %s", got)
	}
	if ds, _ := f.store.Drifts(ctx); len(ds) != 0 {
		t.Fatalf("still drifted: %v", ds)
	}
	f.verify()
}

func TestRevertRestoresTheKnownVersionThroughTheChangePath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	f.outOfBand(f.gateway.ID, readOnly("one"))
	f.refresh(t)
	f.outOfBand(f.gateway.ID, readOnly("two"))
	f.refresh(t)
	drifts := f.entries(f.gateway.ID, audit.ActionDrift)
	if len(drifts) != 2 {
		t.Fatalf("%d drifts, want 2", len(drifts))
	}
	var notOpen *drift.NotOpenError
	if _, err := f.detector.PlanRevert(ctx, drifts[0].ID); !errors.As(err, &notOpen) {
		t.Fatalf("PlanRevert of the superseded drift = %v", err)
	}
	rb, err := f.detector.PlanRevert(ctx, drifts[1].ID)
	if err != nil || rb.Restores != audit.RestoresKnown || !policy.Equal(rb.Target, known) {
		t.Fatalf("PlanRevert = %+v, %v", rb, err)
	}
	res, err := f.applier.Apply(ctx, rb.Request("dave", "", policy.Fingerprint(readOnly("two")), "revert-1"))
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	e := res.Entry
	if e.Action != audit.ActionRollback || *e.RollbackOf != drifts[1].ID || e.Restores != audit.RestoresKnown ||
		string(e.PolicyBefore) != policy.JSON(readOnly("two")) || !strings.Contains(e.Reason, "Revert of #") {
		t.Fatalf("revert entry %+v", e)
	}
	if !policy.Equal(f.sim.Live(t, f.gateway.ID), known) {
		t.Fatal("the revert did not restore the known version")
	}
	st, err := f.detector.Status(ctx, f.gateway.ID)
	if err != nil || st.Drifted || st.KnownEntryID != e.ID {
		t.Fatalf("Status after revert = %+v, %v", st, err)
	}
	if ds, _ := f.store.Drifts(ctx); len(ds) != 0 {
		t.Fatalf("still drifted: %v", ds)
	}
	f.refresh(t)
	if n := len(f.entries(f.gateway.ID, "")); n != 4 {
		t.Fatalf("%d entries, want baseline, 2 drifts, the revert", n)
	}
	// Rolling back what makes no sense is refused with a reason.
	for _, tc := range []struct {
		e        *audit.Entry
		restores string
	}{{f.entries(f.gateway.ID, audit.ActionBaseline)[0], audit.RestoresBefore}, {e, audit.RestoresKnown}} {
		var nr *change.NotRestorableError
		if _, err := change.PlanRollback(tc.e, tc.restores); !errors.As(err, &nr) {
			t.Errorf("PlanRollback(%s, %s) = %v", tc.e.Action, tc.restores, err)
		}
	}
	f.verify()
}

func TestDriftFoundByAChangeIsRecordedBeforeTheConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	shown := f.sim.Live(t, f.gateway.ID) // what the editor showed
	f.outOfBand(f.gateway.ID, readOnly("script"))

	res, err := f.applier.Apply(ctx, change.Request{Actor: "erin", EndpointID: f.gateway.ID, Policy: readOnly("mine"),
		Reason: "narrow", Fingerprint: policy.Fingerprint(shown), Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Conflict {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	drifts := f.entries(f.gateway.ID, audit.ActionDrift)
	if len(drifts) != 1 || drifts[0].ID > res.Entry.ID || drifts[0].DetectedBy != drift.ByChange ||
		string(drifts[0].PolicyRequested) != policy.JSON(readOnly("script")) {
		t.Fatalf("drifts %+v, change #%d", drifts, res.Entry.ID)
	}
	if st, _ := f.detector.Status(ctx, f.gateway.ID); !st.Drifted {
		t.Fatal("not drifted after the conflict")
	}
	// A change made against the drifted version supersedes the drift.
	res, err = f.applier.Apply(ctx, change.Request{Actor: "erin", EndpointID: f.gateway.ID, Policy: readOnly("mine"),
		Reason: "narrow", Fingerprint: policy.Fingerprint(readOnly("script")), Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if st, _ := f.detector.Status(ctx, f.gateway.ID); st.Drifted || st.KnownEntryID != res.Entry.ID {
		t.Fatalf("Status = %+v", st)
	}
	f.refresh(t)
	if n := len(f.entries(f.gateway.ID, audit.ActionDrift)); n != 1 {
		t.Fatalf("%d drifts after the change, want 1", n)
	}
	f.verify()
}

// fakeCTS answers PolicyTraces from a script, one answer per question.
type fakeCTS struct {
	mu      sync.Mutex
	answers []func(endpointID string, from, to time.Time) ([]cts.Trace, error)
	asked   int
}

func (c *fakeCTS) PolicyTraces(_ context.Context, endpointID string, from, to time.Time) ([]cts.Trace, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked++
	if len(c.answers) == 0 {
		return nil, nil
	}
	answer := c.answers[0]
	c.answers = c.answers[1:]
	return answer(endpointID, from, to)
}

func found(user string) func(string, time.Time, time.Time) ([]cts.Trace, error) {
	return func(id string, from, to time.Time) ([]cts.Trace, error) {
		return []cts.Trace{{TraceID: "t-" + user, TraceName: cts.TraceModifyPolicy, ResourceID: id, User: user,
			SourceIP: "192.0.2.7", Time: from.Add(to.Sub(from) / 2), RequestID: "req-" + user}}, nil
	}
}

func nothing(string, time.Time, time.Time) ([]cts.Trace, error) { return nil, nil }

func failing(string, time.Time, time.Time) ([]cts.Trace, error) {
	return nil, errors.New("CTS.0001: service unavailable")
}

func TestAttributionFromCTS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &fakeCTS{}
	f := newFixture(t, src)
	f.refresh(t)
	pass := func(want int) {
		t.Helper()
		n, err := f.detector.AttributePass(ctx)
		if err != nil || n != want {
			t.Fatalf("AttributePass = %d, %v; want %d", n, err, want)
		}
	}

	// Not yet in CTS, then failing, then found: one attribute entry.
	src.answers = append(src.answers, nothing, failing, found("alice"))
	f.outOfBand(f.gateway.ID, readOnly("alice"))
	f.refresh(t)
	d := f.entries(f.gateway.ID, audit.ActionDrift)[0]
	if !strings.Contains(d.Note, "asked of Cloud Trace Service") {
		t.Errorf("drift note %q", d.Note)
	}
	pass(1)
	if st, _ := f.detector.Status(ctx, f.gateway.ID); st.AttributionState != drift.AttributionPending {
		t.Fatalf("after nothing: %+v", st)
	}
	pass(1)
	st, _ := f.detector.Status(ctx, f.gateway.ID)
	if st.AttributionState != drift.AttributionFailed || !strings.Contains(st.LastError, "service unavailable") {
		t.Fatalf("after a failure: %+v", st)
	}
	pass(1)
	st, _ = f.detector.Status(ctx, f.gateway.ID)
	if st.AttributionState != drift.AttributionFound || len(st.Attribution) != 1 || st.Attribution[0].User != "alice" || st.LastError != "" {
		t.Fatalf("after found: %+v", st)
	}
	attrs := f.entries(f.gateway.ID, audit.ActionAttribute)
	if len(attrs) != 1 || attrs[0].Actor != drift.ActorCTS || *attrs[0].RefersTo != d.ID || attrs[0].Attribution[0].RequestID != "req-alice" {
		t.Fatalf("attribute entries %+v", attrs)
	}
	if refs, err := f.log.ReferringTo(ctx, d.ID); err != nil || len(refs) != 1 {
		t.Fatalf("ReferringTo = %v, %v", refs, err)
	}
	pass(0) // nothing left to ask
	// The attribute entry is no version: nothing new is detected.
	f.refresh(t)
	if n := len(f.entries(f.gateway.ID, audit.ActionDrift)); n != 1 {
		t.Fatalf("%d drifts", n)
	}

	// Three replicas answering at once about the next drift record one
	// attribute entry.
	f.outOfBand(f.gateway.ID, readOnly("bob"))
	f.refresh(t)
	src.mu.Lock()
	src.answers = []func(string, time.Time, time.Time) ([]cts.Trace, error){found("bob"), found("bob"), found("bob")}
	src.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range []*replica{f.replica, f.newReplica(src), f.newReplica(src)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.detector.AttributePass(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(f.entries(f.gateway.ID, audit.ActionAttribute)); n != 2 {
		t.Fatalf("%d attribute entries, want 2 (one per drift)", n)
	}
	f.verify()
}

func TestAttributionGivesUpAfterItsWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := &fakeCTS{}
	f := newFixture(t, src)
	f.detector = drift.New(f.pool, f.log, drift.Config{Upstream: f.client, CTS: src, AttributeFor: time.Microsecond}, discard())
	f.refresh(t)
	f.outOfBand(f.gateway.ID, readOnly("ghost"))
	if _, err := f.detector.Observe(ctx, f.live(f.gateway.ID), drift.ByDetail); err != nil {
		t.Fatal(err)
	}
	if n, err := f.detector.AttributePass(ctx); err != nil || n != 1 {
		t.Fatalf("AttributePass = %d, %v", n, err)
	}
	st, _ := f.detector.Status(ctx, f.gateway.ID)
	attrs := f.entries(f.gateway.ID, audit.ActionAttribute)
	if st.AttributionState != drift.AttributionNone || len(attrs) != 1 || len(attrs[0].Attribution) != 0 || !strings.Contains(attrs[0].Note, "no record") {
		t.Fatalf("status %+v, entries %+v", st, attrs)
	}
	f.verify()
}

// A change made through the console while the list was being read leaves
// the stored inventory behind the log: it is no drift. The endpoint is
// read again under its lock rather than judged by the list.
func TestAChangeDuringTheListingIsNoDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	listedSince, err := f.store.Now(ctx) // the listing begins: the inventory holds the version before
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.applier.Apply(ctx, change.Request{Actor: "gina", EndpointID: f.gateway.ID, Policy: readOnly("during"),
		Reason: "while listing", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	sum, err := f.detector.DetectInventory(ctx, listedSince)
	if err != nil || sum.Drifts != 0 || sum.Compared != 1 {
		t.Fatalf("DetectInventory = %+v, %v", sum, err)
	}
	if n := len(f.entries(f.gateway.ID, audit.ActionDrift)); n != 0 {
		t.Fatalf("%d drifts recorded for a change made through the console", n)
	}
	// The same listing, judged after an outside change, does record one.
	f.outOfBand(f.gateway.ID, readOnly("outside"))
	f.refresh(t)
	if n := len(f.entries(f.gateway.ID, audit.ActionDrift)); n != 1 {
		t.Fatalf("%d drifts after an outside change, want 1", n)
	}
	f.verify()
}

// Database sessions die again and again (a replica's crash, as far as the
// database can tell) while three replicas check an endpoint changed outside
// the console, change after change: each change is recorded once, and the
// chain verifies. The entry and the endpoint's state are one transaction,
// so a session that dies leaves both or neither.
func TestKilledSessionsRecordEachChangeOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	replicas := []*replica{f.replica, f.newReplica(nil), f.newReplica(nil)}
	f.refresh(t)
	admin := testdb.Pool(t, f.url)
	rounds := simtest.SoakRuns(5)
	for round := range rounds {
		f.outOfBand(f.gateway.ID, readOnly("round-"+strconv.Itoa(round)))
		stop := make(chan struct{})
		var killer sync.WaitGroup
		killer.Add(1)
		go func() {
			defer killer.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(15 * time.Millisecond):
				}
				_, _ = admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid()`)
			}
		}()
		var wg sync.WaitGroup
		for _, r := range replicas {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = r.detector.Observe(ctx, f.live(f.gateway.ID), drift.ByDetail) // errors expected: sessions die
				}()
			}
		}
		wg.Wait()
		close(stop)
		killer.Wait()
		// Calm again: one more look records what none managed to.
		waitChecked(t, f.detector, f.live(f.gateway.ID))
		if n := len(f.entries(f.gateway.ID, audit.ActionDrift)); n != round+1 {
			t.Fatalf("round %d: %d drift entries, want %d", round, n, round+1)
		}
	}
	f.verify()
}

// waitChecked observes ep until a check was made (a pooled connection the
// killer ended may fail the first tries).
func waitChecked(t *testing.T, d *drift.Detector, ep *vpcep.Endpoint) {
	t.Helper()
	for range 50 {
		if st, err := d.Observe(context.Background(), ep, drift.ByDetail); err == nil && !st.Unchecked {
			return
		}
	}
	t.Fatal("the endpoint was never checked")
}

// widened asks the real CTS over an hour more than the drift's window, so
// the console's own change before the drift is in what CTS answers.
type widened struct{ inner cts.Source }

func (w widened) PolicyTraces(ctx context.Context, id string, from, to time.Time) ([]cts.Trace, error) {
	return w.inner.PolicyTraces(ctx, id, from.Add(-time.Hour), to)
}

// Who made a drift comes from the simulator's Cloud Trace Service over
// HTTP: the out-of-band change's user, source IP and request id, and not
// the console's own change, which CTS records too.
func TestAttributionFromTheSimulatorsCTS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	r := f.newReplica(widened{f.sim.CTS(t, nil)})
	r.refresh(t)
	res, err := r.applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: f.gateway.ID, Policy: readOnly("console"),
		Reason: "narrow access", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	statements := []vpcepsim.Statement{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:terraform-state/*"}}}
	if err := f.sim.ChangePolicyOutOfBand(f.gateway.ID, statements, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	r.refresh(t)
	if n, err := r.detector.AttributePass(ctx); err != nil || n != 1 {
		t.Fatalf("AttributePass = %d, %v", n, err)
	}
	st, err := r.detector.Status(ctx, f.gateway.ID)
	if err != nil || !st.Drifted || st.AttributionState != drift.AttributionFound {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if len(st.Attribution) != 1 {
		t.Fatalf("attribution %+v: want only the out-of-band change, not the console's own", st.Attribution)
	}
	tr := st.Attribution[0]
	if tr.User != "terraform-ci" || tr.SourceIP != "10.0.8.15" || tr.TraceName != cts.TraceModifyPolicy ||
		tr.RequestID == "" || tr.RequestID == res.Entry.RequestID || tr.ResourceID != f.gateway.ID {
		t.Fatalf("trace %+v (the console's request was %s)", tr, res.Entry.RequestID)
	}
	f.verify()
}

package drift_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// A console change whose read-back found someone else's policy (changed
// between the PUT and the read-back, or before a crash-left entry was
// settled) ends "unknown": that read-back is no version the console made,
// and the next check records it as a drift from the version seen before.
func TestAnUnknownOutcomesForeignReadbackIsADrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t) // baselines
	id := f.gateway.ID
	before := policy.JSON(f.sim.Live(t, id))
	e, err := f.log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: fixtureProject, Region: "cn-north-4", EndpointID: id,
		Action: audit.ActionUpdate, Reason: "r", PolicyBefore: before, PolicyRequested: policy.JSON(readOnly("mine"))})
	if err != nil {
		t.Fatal(err)
	}
	f.outOfBand(id, readOnly("terraform"))
	no := false
	if err := f.log.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeUnknown, ReadbackMatches: &no,
		ReadbackPolicy: policy.JSON(readOnly("terraform")), Note: "accepted, read back differs"}); err != nil {
		t.Fatal(err)
	}
	st, err := f.detector.Observe(ctx, f.live(id), drift.ByDetail)
	if err != nil || !st.Drifted {
		t.Fatalf("Observe = %+v, %v", st, err)
	}
	f.refresh(t)
	drifts := f.entries(id, audit.ActionDrift)
	if len(drifts) != 1 || string(drifts[0].PolicyBefore) != before ||
		string(drifts[0].PolicyRequested) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("drifts %+v: want one, from the version before the unknown change to terraform's", drifts)
	}
	f.verify()
}

// An endpoint whose history holds no version (only a change whose live
// read failed, as an older console could leave) gets a baseline when next
// seen, so a later change made outside the console is recorded.
func TestAHistoryWithoutAVersionGetsABaseline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	id := f.gateway.ID
	e, err := f.log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: fixtureProject, Region: "cn-north-4", EndpointID: id,
		Action: audit.ActionUpdate, Reason: "r", PolicyBefore: "null", PolicyRequested: policy.JSON(readOnly("mine"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.log.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeFailed, Note: "could not read"}); err != nil {
		t.Fatal(err)
	}
	f.refresh(t)
	if n := len(f.entries(id, audit.ActionBaseline)); n != 1 {
		t.Fatalf("%d baselines after the first refresh, want 1", n)
	}
	f.outOfBand(id, readOnly("terraform"))
	f.refresh(t)
	if n := len(f.entries(id, audit.ActionDrift)); n != 1 {
		t.Fatalf("%d drifts, want 1", n)
	}
	f.verify()
}

// The listing only points at a drift: when the endpoint's own answer, read
// under its lock, is the version last seen, nothing is recorded, whatever
// the (stale or disagreeing) listing said.
func TestAListingAloneRecordsNoDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	id := f.gateway.ID
	stale := *f.live(id)
	stale.PolicyStatement = []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"obs:*:*:object:listed-only/*"}}}
	if err := f.store.PutInventoryEndpoint(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	sum, err := f.detector.DetectInventory(ctx, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.entries(id, audit.ActionDrift)); n != 0 || sum.Drifts != 0 {
		t.Fatalf("%d drift entries (summary %+v) from a listing the endpoint's own answer contradicts", n, sum)
	}
}

// A CTS that fails for the whole retry window is given up on, as one with
// no record is, rather than asked every minute for ever; and no question
// reaches further back than CTS keeps traces.
func TestAttributionGivesUpOnAFailingCTS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var asked []time.Time
	src := &fakeCTS{}
	src.answers = append(src.answers, func(_ string, from, _ time.Time) ([]cts.Trace, error) {
		asked = append(asked, from)
		return failing("", from, from)
	})
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
	if st.AttributionState != drift.AttributionNone || len(f.entries(f.gateway.ID, audit.ActionAttribute)) != 1 {
		t.Fatalf("after failing past its window: %+v", st)
	}
	if len(asked) != 1 || asked[0].Before(time.Now().Add(-7*24*time.Hour-time.Minute)) {
		t.Fatalf("asked from %v", asked)
	}
	if n, err := f.detector.AttributePass(ctx); err != nil || n != 0 {
		t.Fatalf("asked again after giving up: %d, %v", n, err)
	}
	f.verify()
}

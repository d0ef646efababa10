package drift_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// crashLeftPending records the pending entry of a change from the live
// policy to requested whose replica crashed before sending it.
func (f *fixture) crashLeftPending(requested policy.Policy) *audit.Entry {
	f.t.Helper()
	e, err := f.log.Begin(context.Background(), audit.Start{Actor: "alice", ProjectID: fixtureProject, Region: "cn-north-4",
		EndpointID: f.gateway.ID, EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "crashed",
		PolicyBefore: policy.JSON(f.sim.Live(f.t, f.gateway.ID)), PolicyRequested: policy.JSON(requested)})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// waitOlder waits until entry id is older than age on the database's
// clock, failing t after 30 s rather than hanging.
func (f *fixture) waitOlder(id int64, age time.Duration) {
	f.t.Helper()
	giveUp := time.After(30 * time.Second)
	for {
		got, err := f.log.Age(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if got > age {
			return
		}
		select {
		case <-giveUp:
			f.t.Fatalf("entry #%d never got older than %s", id, age)
		case <-time.After(age - got + 10*time.Millisecond):
		}
	}
}

// oneDrift is the endpoint's only drift entry, checked to go from known to
// drifted, seen as how.
func (f *fixture) oneDrift(known, drifted policy.Policy, how string) *audit.Entry {
	f.t.Helper()
	drifts := f.entries(f.gateway.ID, audit.ActionDrift)
	if len(drifts) != 1 {
		f.t.Fatalf("%d drift entries, want 1", len(drifts))
	}
	d := drifts[0]
	if d.Actor != drift.ActorExternal || d.DetectedBy != how ||
		string(d.PolicyBefore) != policy.JSON(known) || string(d.PolicyRequested) != policy.JSON(drifted) {
		f.t.Fatalf("drift %+v; want %s -> %s, detected by %s", d, policy.JSON(known), policy.JSON(drifted), how)
	}
	return d
}

// A crash left a change pending; someone changed the policy outside the
// console; the next change settles the pending entry and records that
// drift before its own entry, which starts from the drifted policy.
func TestChangeAfterACrashRecordsTheOutOfBandChangeFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	crashed := f.crashLeftPending(readOnly("crashed"))
	f.outOfBand(f.gateway.ID, readOnly("terraform"))

	quick := change.NewApplier(f.client, f.log, f.pool, change.Config{ProjectID: fixtureProject, Region: "cn-north-4",
		Deadline: 3 * time.Second, SettleMargin: 10 * time.Millisecond, LockWait: 10 * time.Second, Drift: f.detector}, discard())
	f.waitOlder(crashed.ID, quick.SettleAfter())
	res, err := quick.Apply(ctx, change.Request{Actor: "bob", EndpointID: f.gateway.ID, Policy: readOnly("mine"),
		Reason: "narrow", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if got, _ := f.log.Get(ctx, crashed.ID); got.Outcome != audit.OutcomeUnknown {
		t.Fatalf("the crashed entry was settled as %s: %q", got.Outcome, got.Note)
	}
	d := f.oneDrift(known, readOnly("terraform"), drift.ByChange)
	if !(crashed.ID < d.ID && d.ID < res.Entry.ID) {
		t.Fatalf("entries crashed #%d, drift #%d, change #%d: want the drift in between", crashed.ID, d.ID, res.Entry.ID)
	}
	if string(res.Entry.PolicyBefore) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("the change started from %s, want the drifted policy", res.Entry.PolicyBefore)
	}
	if st, err := f.detector.Status(ctx, f.gateway.ID); err != nil || st.Drifted || st.KnownEntryID != res.Entry.ID {
		t.Fatalf("Status = %+v, %v; want the change known, no drift", st, err)
	}
	f.verify()
}

// The Reconciler settling an entry whose endpoint holds neither the policy
// before nor the one requested records that policy as a drift: what it
// found is not a version the console made.
func TestReconcilerRecordsTheOutOfBandChangeItFinds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	crashed := f.crashLeftPending(readOnly("crashed"))
	f.outOfBand(f.gateway.ID, readOnly("terraform"))

	reconciler := change.NewReconciler(f.client, f.log, f.pool, 0, discard())
	reconciler.SetDrift(f.detector)
	if n, err := reconciler.Once(ctx); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	got, _ := f.log.Get(ctx, crashed.ID)
	if got.Outcome != audit.OutcomeUnknown || len(got.ReadbackPolicy) != 0 {
		t.Fatalf("the crashed entry was settled as %s, read back %s: %q", got.Outcome, got.ReadbackPolicy, got.Note)
	}
	d := f.oneDrift(known, readOnly("terraform"), change.ByReconciler)
	if d.ID < crashed.ID {
		t.Fatalf("drift #%d before the entry it followed, #%d", d.ID, crashed.ID)
	}
	st, err := f.detector.Status(ctx, f.gateway.ID)
	if err != nil || !st.Drifted || st.Drift.ID != d.ID || string(st.Known) != policy.JSON(known) {
		t.Fatalf("Status = %+v, %v; want drift #%d from the known version", st, err, d.ID)
	}
	// The next change, made against the drifted policy, supersedes it.
	res, err := f.applier.Apply(ctx, change.Request{Actor: "bob", EndpointID: f.gateway.ID, Policy: readOnly("mine"),
		Reason: "narrow", Fingerprint: policy.Fingerprint(readOnly("terraform")), Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied || string(res.Entry.PolicyBefore) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	f.oneDrift(known, readOnly("terraform"), change.ByReconciler)
	f.verify()
}

// A Reconciler that records no drift (or failed to) still never lets the
// next change absorb what it found: that change records the drift first.
func TestNextChangeRecordsWhatTheReconcilerFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	f.crashLeftPending(readOnly("crashed"))
	f.outOfBand(f.gateway.ID, readOnly("terraform"))

	if n, err := change.NewReconciler(f.client, f.log, f.pool, 0, discard()).Once(ctx); err != nil || n != 1 {
		t.Fatalf("Once = %d, %v", n, err)
	}
	res, err := f.applier.Apply(ctx, change.Request{Actor: "bob", EndpointID: f.gateway.ID, Policy: readOnly("mine"),
		Reason: "narrow", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	d := f.oneDrift(known, readOnly("terraform"), drift.ByChange)
	if d.ID > res.Entry.ID || string(res.Entry.PolicyBefore) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("drift #%d, change #%d from %s", d.ID, res.Entry.ID, res.Entry.PolicyBefore)
	}
	f.verify()
}

// When detection fails before a change, the change is refused: nothing
// recorded, nothing sent, and the drift is recorded by the next try.
func TestChangeRefusedWhenDetectionFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	known := f.sim.Live(t, f.gateway.ID)
	f.outOfBand(f.gateway.ID, readOnly("terraform"))
	// The detector's writes of the endpoint's state fail; the log's own
	// (the trigger marking the row behind) still pass.
	if _, err := f.pool.Exec(ctx, `
		CREATE FUNCTION refuse_detection() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP = 'INSERT' THEN
				IF NEW.fingerprint IS NOT NULL THEN
					RAISE EXCEPTION 'detection refused (the test)';
				END IF;
			ELSIF NEW.checked_at IS DISTINCT FROM OLD.checked_at THEN
				RAISE EXCEPTION 'detection refused (the test)';
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_detection BEFORE INSERT OR UPDATE ON endpoint_versions
			FOR EACH ROW EXECUTE FUNCTION refuse_detection();`); err != nil {
		t.Fatal(err)
	}
	entries, puts := len(f.entries(f.gateway.ID, "")), f.sim.Puts()
	req := change.Request{Actor: "bob", EndpointID: f.gateway.ID, Policy: readOnly("mine"), Reason: "narrow", Action: audit.ActionUpdate}
	res, err := f.applier.Apply(ctx, req)
	if !errors.Is(err, change.ErrAuditUnavailable) || !strings.Contains(err.Error(), "drift detection") {
		t.Fatalf("Apply = %+v, %v; want ErrAuditUnavailable from drift detection", res, err)
	}
	if n := len(f.entries(f.gateway.ID, "")); n != entries || f.sim.Puts() != puts {
		t.Fatalf("%d entries recorded, %d PUTs sent; want none", n-entries, f.sim.Puts()-puts)
	}
	if live := f.sim.Live(t, f.gateway.ID); !policy.Equal(live, readOnly("terraform")) {
		t.Fatalf("live policy %s", policy.JSON(live))
	}

	if _, err := f.pool.Exec(ctx, `DROP TRIGGER refuse_detection ON endpoint_versions`); err != nil {
		t.Fatal(err)
	}
	res, err = f.applier.Apply(ctx, req)
	if err != nil || res.Outcome != change.Applied || string(res.Entry.PolicyBefore) != policy.JSON(readOnly("terraform")) {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if d := f.oneDrift(known, readOnly("terraform"), drift.ByChange); d.ID > res.Entry.ID {
		t.Fatalf("drift #%d after the change #%d", d.ID, res.Entry.ID)
	}
	f.verify()
}

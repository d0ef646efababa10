package drift_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// stateRow is an endpoint's state row, but for when it was written.
type stateRow struct {
	Fingerprint            string
	Entry, LogEntry, Known int64
	Drift                  *int64
	LastError              *string
}

func (f *fixture) stateRow(id string) stateRow {
	f.t.Helper()
	var r stateRow
	err := f.pool.QueryRow(context.Background(), `SELECT fingerprint, entry_id, log_entry_id, known_entry_id, drift_entry_id, last_error
		FROM endpoint_versions WHERE endpoint_id = $1`, id).Scan(&r.Fingerprint, &r.Entry, &r.LogEntry, &r.Known, &r.Drift, &r.LastError)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// After every kind of change the state row is current with the log and
// says what deriving it from the log again says: a change writes it from
// its own entry when that settles the state, without reading the history.
func TestAChangeLeavesTheStateTheLogDerives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	id := f.gateway.ID
	apply := func(t *testing.T, p policy.Policy, fingerprint string) *change.Result {
		t.Helper()
		res, err := f.applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: id, Policy: p, Reason: "state test",
			Fingerprint: fingerprint, Action: audit.ActionUpdate})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	openDrift := func(t *testing.T) int64 {
		t.Helper()
		f.outOfBand(id, readOnly("terraform"))
		st, err := f.detector.Observe(ctx, f.live(id), drift.ByDetail)
		if err != nil || !st.Drifted {
			t.Fatalf("Observe = %+v, %v; want a drift", st, err)
		}
		return st.Drift.ID
	}
	for _, tt := range []struct {
		name    string
		do      func(t *testing.T) *change.Result
		outcome change.Outcome
		drifted bool
	}{
		{"applied", func(t *testing.T) *change.Result { return apply(t, readOnly("a"), "") }, change.Applied, false},
		{"unchanged", func(t *testing.T) *change.Result { return apply(t, readOnly("a"), "") }, change.Unchanged, false},
		{"conflict", func(t *testing.T) *change.Result {
			return apply(t, readOnly("b"), policy.Fingerprint(readOnly("not live")))
		}, change.Conflict, false},
		{"refused by the upstream", func(t *testing.T) *change.Result {
			f.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 400, Code: "EndPoint.0002", Message: "bad policy"})
			defer f.sim.ClearFaults()
			return apply(t, readOnly("c"), "")
		}, change.Failed, false},
		{"applied over an open drift, which closes", func(t *testing.T) *change.Result {
			openDrift(t)
			return apply(t, readOnly("d"), "")
		}, change.Applied, false},
		{"conflict with an open drift, which stays", func(t *testing.T) *change.Result {
			openDrift(t)
			return apply(t, readOnly("e"), policy.Fingerprint(readOnly("d")))
		}, change.Conflict, true},
		{"revert of the drift", func(t *testing.T) *change.Result {
			ds, err := f.store.Drifts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := f.detector.PlanRevert(ctx, ds[id])
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.applier.Apply(ctx, plan.Request("alice", "", "", ""))
			if err != nil {
				t.Fatal(err)
			}
			return res
		}, change.Applied, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			res := tt.do(t)
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s (entry %+v)", res.Outcome, tt.outcome, res.Entry)
			}
			written := f.stateRow(id)
			if written.Entry < written.LogEntry || written.LastError != nil {
				t.Fatalf("the state after the change is behind the log or failed: %+v", written)
			}
			if ds, err := f.store.Drifts(ctx); err != nil || (ds[id] != 0) != tt.drifted {
				t.Errorf("the list's drifts %v, %v; want drifted %v", ds, err, tt.drifted)
			}
			// Behind the log, the row is derived again.
			if _, err := f.pool.Exec(ctx, `UPDATE endpoint_versions SET entry_id = 0 WHERE endpoint_id = $1`, id); err != nil {
				t.Fatal(err)
			}
			if _, err := f.detector.Observe(ctx, f.live(id), drift.ByDetail); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(f.stateRow(id), written); diff != "" {
				t.Errorf("the state the change wrote differs from the one derived from the log (-derived +written):\n%s", diff)
			}
		})
	}
	f.t = t
	f.verify()
}

// A change's entry that is no longer the endpoint's newest (its lock was
// lost, and changes outside the console were recorded after it, the last
// one back to the change's policy) never passes for the whole state.
func TestAnOlderEntryNeverWritesTheState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	id := f.gateway.ID
	res, err := f.applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: id, Policy: readOnly("a"), Reason: "x", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	for _, p := range []policy.Policy{readOnly("terraform"), readOnly("a")} {
		f.outOfBand(id, p)
		if st, err := f.detector.Observe(ctx, f.live(id), drift.ByDetail); err != nil || st.Recorded == nil {
			t.Fatalf("Observe = %+v, %v; want a drift recorded", st, err)
		}
	}
	derived := f.stateRow(id)
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	if settled, _ := f.detector.QueueChangeState(b, f.live(id), res.Entry); !settled {
		t.Fatal("the change's entry does not settle the state alone")
	}
	b.Queue(`COMMIT`)
	if err := f.pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(derived, f.stateRow(id)); diff != "" {
		t.Errorf("the older entry rewrote the state (-derived +written):\n%s", diff)
	}
}

// A change's state is written only with its own finalise: when the entry
// was settled otherwise meanwhile (here: failed, nothing of it took), the
// batch's finalise takes nothing and the state it would have written from
// its own outcome is not written either.
func TestAChangeStateIsWrittenOnlyWithItsFinalise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, nil)
	f.refresh(t)
	id := f.gateway.ID
	pending := f.crashLeftPending(readOnly("requested"))
	settledOtherwise := *pending
	if err := f.log.Finalise(ctx, &settledOtherwise, audit.Final{Outcome: audit.OutcomeFailed, Note: "settled by the reconciler"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.detector.Observe(ctx, f.live(id), drift.ByDetail); err != nil {
		t.Fatal(err)
	}
	derived := f.stateRow(id)

	// The change's own finalise, as it would send it after a read-back
	// showing its policy: it finds the entry final already.
	readBack := f.live(id)
	readBack.PolicyStatement = readOnly("requested")
	final := *pending
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	took, err := f.log.QueueFinalise(b, &final, audit.Final{Outcome: audit.OutcomeSucceeded, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if settled, _ := f.detector.QueueChangeState(b, readBack, &final); !settled {
		t.Fatal("a succeeded change does not settle the state alone")
	}
	b.Queue(`COMMIT`)
	if err := f.pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if err := took(); !errors.Is(err, audit.ErrNotPending) {
		t.Fatalf("the batch's finalise = %v, want ErrNotPending", err)
	}
	if diff := cmp.Diff(derived, f.stateRow(id)); diff != "" {
		t.Errorf("a finalise that took nothing wrote the state (-derived +written):\n%s", diff)
	}
}

package change_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// checkRecordedMatchesUpstream checks what a campaign left against what the
// upstream received and holds (simtest's CheckRecord), and that the chain
// verifies.
func checkRecordedMatchesUpstream(t *testing.T, f *fixture) {
	t.Helper()
	f.sim.CheckRecord(t, f.log)
	if r, err := f.log.Verify(context.Background()); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// settleAll runs the reconciler until nothing is pending.
func settleAll(t *testing.T, f *fixture) {
	t.Helper()
	waitFor(t, "every entry to be settled", func() bool {
		_, _ = f.reconciler.Once(context.Background())
		pending, err := f.log.Pending(context.Background(), 0)
		return err == nil && len(pending) == 0
	})
}

// Every database connection of the console is killed again and again while
// changes are applied: no change is lost or misreported, nothing is sent
// that is not recorded, and the chain verifies.
// With drift detection, as deployed, the detector also never takes the
// console's own changes for changes made outside it, and the endpoint's
// state row says what the log does.
func TestCampaignKilledDatabaseConnections(t *testing.T) {
	t.Parallel()
	t.Run("bare", func(t *testing.T) { t.Parallel(); campaignKilledDatabaseConnections(t, false) })
	t.Run("with drift detection", func(t *testing.T) { t.Parallel(); campaignKilledDatabaseConnections(t, true) })
}

func campaignKilledDatabaseConnections(t *testing.T, withDrift bool) {
	ctx := context.Background()
	f := newFixture(t)
	admin := dbAdmin(t, f)
	cfg := change.Config{Deadline: 2 * time.Second, SettleMargin: 100 * time.Millisecond, LockWait: 5 * time.Second}
	var detector *drift.Detector
	if withDrift {
		detector = drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "cn-north-4", Upstream: f.client}, discard())
		cfg.Drift = detector
	}
	applier := f.applierWith(cfg)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	kills := 0
	// Three runs in twenty are quiet: on a loaded machine a change can
	// take longer than the gap between kills, and the campaign must still
	// see changes get through. A quiet run meets what the kills left: dead
	// connections the pool still holds, and a pending entry it must wait
	// to settle.
	var quiet atomic.Bool
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+rand.IntN(40)) * time.Millisecond):
			}
			if quiet.Load() {
				continue
			}
			var n int
			_ = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
			kills += n
		}
	}()
	outcomes := map[string]int{}
	runs := simtest.SoakRuns(100)
	for i := range runs {
		quiet.Store(i%20 >= 17)
		before := f.livePolicy(t)
		requested := readOnly(fmt.Sprintf("killed-%d", i))
		res, err := applier.Apply(ctx, f.update(requested, ""))
		var pe *change.PendingError
		if quiet.Load() && errors.As(err, &pe) {
			time.Sleep(applier.SettleAfter())
			res, err = applier.Apply(ctx, f.update(requested, ""))
		}
		if err != nil {
			outcomes["error: "+errorKind(err)]++
			continue
		}
		outcomes[string(res.Outcome)]++
		live := f.livePolicy(t)
		switch res.Outcome {
		case change.Applied:
			if !policy.Equal(live, requested) {
				t.Errorf("run %d: applied, but the upstream holds %s", i, policy.JSON(live))
			}
		case change.Failed, change.LockLost, change.Unrecorded:
			if !policy.Equal(live, before) {
				t.Errorf("run %d: %s, but the upstream changed to %s", i, res.Outcome, policy.JSON(live))
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d changes, %d connections killed: %v", runs, kills, outcomes)
	if kills == 0 || outcomes[string(change.Applied)] == 0 {
		t.Fatal("no connection was killed, or no change got through: the campaign tested nothing")
	}
	settleAll(t, f)
	checkRecordedMatchesUpstream(t, f)
	if withDrift {
		checkNoDrift(t, f, detector)
	}
}

// checkNoDrift checks, after a campaign of the console's own changes, that
// the log holds no drift entry, that the detector finds none now, and that
// the endpoint's state row is what deriving it from the log gives.
func checkNoDrift(t *testing.T, f *fixture, detector *drift.Detector) {
	t.Helper()
	ctx := context.Background()
	live, err := f.client.GetEndpoint(ctx, f.gateway.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := detector.Observe(ctx, live, drift.ByDetail)
	if err != nil || st.Drifted || st.Unchecked {
		t.Fatalf("Observe after the campaign = %+v, %v; want checked, not drifted", st, err)
	}
	var drifts int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE action = $1`, audit.ActionDrift).Scan(&drifts); err != nil || drifts != 0 {
		t.Fatalf("%d drift entries (%v): the console's own changes were taken for changes made outside it", drifts, err)
	}
	row := func() (r struct {
		fp                string
		entry, log, known int64
		drift             *int64
	}) {
		t.Helper()
		err := f.pool.QueryRow(ctx, `SELECT fingerprint, entry_id, log_entry_id, known_entry_id, drift_entry_id FROM endpoint_versions
			WHERE endpoint_id = $1`, f.gateway.ID).Scan(&r.fp, &r.entry, &r.log, &r.known, &r.drift)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	kept := row()
	if _, err := f.pool.Exec(ctx, `UPDATE endpoint_versions SET entry_id = 0 WHERE endpoint_id = $1`, f.gateway.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := detector.Observe(ctx, live, drift.ByDetail); err != nil {
		t.Fatal(err)
	}
	if derived := row(); derived != kept || kept.entry < kept.log {
		t.Errorf("state row after the campaign %+v; derived from the log %+v", kept, derived)
	}
}

// The upstream applies every other PUT and drops its answer: each such
// change is proven by its read-back and recorded as succeeded.
func TestCampaignUpstreamDropsAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	runs := simtest.SoakRuns(40)
	for i := range runs {
		if i%2 == 0 {
			f.sim.LoseAnswerNext(vpcepsim.RouteUpdatePolicy, 1)
		}
		requested := readOnly(fmt.Sprintf("dropped-%d", i))
		res, err := f.applier.Apply(ctx, f.update(requested, ""))
		if err != nil || res.Outcome != change.Applied || res.Entry.Outcome != audit.OutcomeSucceeded {
			t.Fatalf("run %d: Apply = %+v, %v", i, res, err)
		}
		if !policy.Equal(f.livePolicy(t), requested) {
			t.Fatalf("run %d: applied, but the upstream holds %s", i, policy.JSON(f.livePolicy(t)))
		}
	}
	checkRecordedMatchesUpstream(t, f)
}

func errorKind(err error) string {
	var pe *change.PendingError
	switch {
	case errors.Is(err, change.ErrAuditUnavailable):
		return "audit unavailable"
	case errors.Is(err, change.ErrBusy):
		return "busy"
	case errors.As(err, &pe):
		return "pending"
	}
	return err.Error()
}

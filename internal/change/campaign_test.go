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
func TestCampaignKilledDatabaseConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	admin := dbAdmin(t, f)
	applier := f.applierWith(change.Config{Deadline: 2 * time.Second, SettleMargin: 100 * time.Millisecond, LockWait: 5 * time.Second})

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

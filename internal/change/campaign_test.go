package change_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// campaignRuns is how many changes a fault campaign makes: a short run in
// `make test`, VPCEP_SOAK_RUNS (make soak) for a long one.
func campaignRuns(short int) int {
	if n, err := strconv.Atoi(os.Getenv("VPCEP_SOAK_RUNS")); err == nil && n > 0 {
		return n
	}
	return short
}

// checkRecordedMatchesUpstream checks what a campaign left: nothing
// pending; every PUT the upstream received is the request of exactly one
// entry that says it was sent; the succeeded entries form one line (each
// started from what the one before left: no update lost); the live policy
// is the last succeeded one's; and the chain verifies.
func checkRecordedMatchesUpstream(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	var entries []*audit.Entry // oldest first
	if err := f.log.Each(ctx, audit.Filter{}, func(e *audit.Entry) error {
		entries = append([]*audit.Entry{e}, entries...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	byRequested := map[string][]*audit.Entry{}
	var lastSucceeded *audit.Entry
	for _, e := range entries {
		if e.Outcome == audit.OutcomePending {
			t.Errorf("entry #%d still pending", e.ID)
		}
		byRequested[canonical(t, e.PolicyRequested)] = append(byRequested[canonical(t, e.PolicyRequested)], e)
		if e.Outcome != audit.OutcomeSucceeded || string(e.PolicyBefore) == string(e.PolicyRequested) {
			continue
		}
		if lastSucceeded != nil && canonical(t, e.PolicyBefore) != canonical(t, lastSucceeded.PolicyRequested) {
			t.Errorf("entry #%d started from %s, but #%d had left %s: an update was lost",
				e.ID, e.PolicyBefore, lastSucceeded.ID, lastSucceeded.PolicyRequested)
		}
		lastSucceeded = e
	}
	for _, r := range f.sim.Requests() {
		if r.Method != "PUT" {
			continue
		}
		p, errs := policy.ParseDocument(r.Body, "body")
		if len(errs) > 0 {
			t.Fatalf("PUT body %s: %v", r.Body, errs)
		}
		matching := byRequested[policy.CanonicalJSON(p)]
		if len(matching) != 1 {
			t.Errorf("PUT %s: %d entries request it, want 1", r.Body, len(matching))
			continue
		}
		if e := matching[0]; strings.Contains(e.Note, "nothing was sent") {
			t.Errorf("PUT %s went out, but entry #%d says %q", r.Body, e.ID, e.Note)
		}
	}
	if lastSucceeded != nil && canonical(t, lastSucceeded.PolicyRequested) != policy.CanonicalJSON(f.livePolicy(t)) {
		t.Errorf("the live policy %s is not the last succeeded entry's (#%d)", policy.JSON(f.livePolicy(t)), lastSucceeded.ID)
	}
	if r, err := f.log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	p, err := policy.FromJSON(raw)
	if err != nil {
		return "null"
	}
	return policy.CanonicalJSON(p)
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
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+rand.IntN(40)) * time.Millisecond):
			}
			var n int
			_ = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
			kills += n
		}
	}()
	outcomes := map[string]int{}
	runs := campaignRuns(100)
	for i := range runs {
		before := f.livePolicy(t)
		requested := readOnly(fmt.Sprintf("killed-%d", i))
		res, err := applier.Apply(ctx, f.update(requested, ""))
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
	runs := campaignRuns(40)
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

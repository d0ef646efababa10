// Package crashtest runs the console as real processes and kills them
// (SIGKILL) at the exact points where a change could be lost or
// misreported, restarts them, and checks that what the audit log records is
// what the upstream holds. `make test` makes a few runs of each; `make
// soak` (VPCEP_SOAK_RUNS) makes many.
package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

func TestMain(m *testing.M) {
	os.Exit(proctest.Main(func() int { return testdb.Main(m, nil) }))
}

// quickSettings make a killed change settle within seconds: a short change
// deadline (still ample for the simulator on loopback, on a loaded
// machine), and a reconciler that looks every 100 ms.
var quickSettings = map[string]string{
	"VPCEP_TIMEOUT":      "2s",
	"CHANGE_DEADLINE":    "2s",
	"RECONCILE_INTERVAL": "100ms",
	"LOG_LEVEL":          "warn",
}

// crashPoint is where in a change the console is killed.
type crashPoint int

const (
	afterPending  crashPoint = iota // the pending entry committed, the PUT sent but not applied
	afterPut                        // the PUT applied upstream, its answer not yet back
	afterFinalise                   // the entry finalised and answered
)

func (p crashPoint) String() string {
	return [...]string{"after the pending commit", "after the PUT, before the finalise", "after the finalise"}[p]
}

// harness is one console process against its own database and simulator.
type harness struct {
	sim     *simtest.Upstream
	pool    *pgxpool.Pool
	console *proctest.Console
	token   string
	gateway *vpcepsim.Endpoint
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dbURL := testdb.Migrated(t)
	sim := simtest.Start(t, simtest.Options{})
	h := &harness{sim: sim, pool: testdb.Pool(t, dbURL), gateway: sim.Gateway(t, 2)}
	h.console = proctest.Start(t, proctest.Options{DBURL: dbURL, Upstream: sim, Env: quickSettings})
	h.token = h.console.Token(t, "crash-editor", "editor")
	return h
}

// change sends one policy change through the API and returns the status
// (0: the console died before answering).
func (h *harness) change(p policy.Policy, reason string) int {
	body, _ := json.Marshal(map[string]any{"policy_statement": p, "reason": reason})
	status, _ := proctest.Do(context.Background(), "PUT", h.console.URL+"/api/v1/endpoints/"+h.gateway.ID+"/policy", h.token, string(body))
	return status
}

// entry is the audit entry whose reason is reason.
func (h *harness) entry(t *testing.T, reason string) *audit.Entry {
	t.Helper()
	var id int64
	if err := h.pool.QueryRow(context.Background(), `SELECT id FROM audit_entries WHERE reason = $1`, reason).Scan(&id); err != nil {
		t.Fatalf("the entry of %q: %v", reason, err)
	}
	e, err := audit.New(h.pool).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitSettled waits until no entry is pending: the restarted console's
// reconciler settles what the killed one left.
func (h *harness) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE outcome = 'pending'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still pending 20 s after the restart\n%s", n, h.console.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readOnly(bucket string) policy.Policy {
	return policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:" + bucket + "/*"}}}
}

// crashRun kills the console at point during one change, restarts it, and
// checks that the entry records what the upstream holds.
func (h *harness) crashRun(t *testing.T, run int, point crashPoint) {
	t.Helper()
	before := h.sim.Live(t, h.gateway.ID)
	requested := readOnly(fmt.Sprintf("crash-%d", run))
	reason := fmt.Sprintf("crash run %d (%s)", run, point)

	var hold *vpcepsim.Hold
	if point != afterFinalise {
		hold = h.sim.HoldNext(vpcepsim.RouteUpdatePolicy)
	}
	answered := make(chan int, 1)
	go func() { answered <- h.change(requested, reason) }()
	switch point {
	case afterPending:
		held(t, hold)
		h.console.Kill()
		hold.Drop()
	case afterPut:
		held(t, hold)
		hold.Apply()
		h.console.Kill()
		hold.LoseAnswer()
	case afterFinalise:
		if status := <-answered; status != 200 {
			t.Fatalf("run %d: the change answered %d\n%s", run, status, h.console.Logs())
		}
		answered <- 200
		h.console.Kill()
	}
	status := <-answered
	if point != afterFinalise && status != 0 {
		t.Fatalf("run %d: the killed console answered %d", run, status)
	}
	h.console.Restart(t)
	h.waitSettled(t)

	e := h.entry(t, reason)
	live := h.sim.Live(t, h.gateway.ID)
	want := audit.OutcomeSucceeded
	if point == afterPending {
		want = audit.OutcomeFailed
	}
	switch {
	case e.Outcome != want:
		t.Errorf("run %d, killed %s: entry #%d is %s (%q), want %s", run, point, e.ID, e.Outcome, e.Note, want)
	case e.Outcome == audit.OutcomeSucceeded && !policy.Equal(live, requested):
		t.Errorf("run %d: entry #%d succeeded but the upstream holds %s", run, e.ID, policy.JSON(live))
	case e.Outcome == audit.OutcomeFailed && !policy.Equal(live, before):
		t.Errorf("run %d: entry #%d failed but the upstream changed to %s", run, e.ID, policy.JSON(live))
	}
}

// verify runs `web audit verify` against the harness's database.
func (h *harness) verify(t *testing.T) {
	t.Helper()
	if out := h.console.Command(t, "", "audit", "verify"); !strings.HasPrefix(out, "ok:") {
		t.Fatalf("web audit verify: %s", out)
	}
}

func TestKillAfterThePendingCommit(t *testing.T) { t.Parallel(); campaign(t, afterPending) }
func TestKillAfterThePut(t *testing.T)           { t.Parallel(); campaign(t, afterPut) }
func TestKillAfterTheFinalise(t *testing.T)      { t.Parallel(); campaign(t, afterFinalise) }

func campaign(t *testing.T, point crashPoint) {
	h := newHarness(t)
	n := simtest.SoakRuns(10)
	for run := range n {
		h.crashRun(t, run, point)
		if t.Failed() {
			break
		}
	}
	h.verify(t)
	t.Logf("%d runs killed %s: every entry settled as what the upstream holds", n, point)
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

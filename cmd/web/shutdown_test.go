package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// waitReady waits until base/readyz answers 200: the schema is current and
// the inventory was read.
func waitReady(t *testing.T, base string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("web serve exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("web serve not ready after 15s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSIGTERMFinishesTheChangeInFlight runs the console as a process, holds
// a policy change's PUT at the simulator, and sends the console SIGTERM:
// the listener must close at once while the change runs on, is answered
// 200 and finalised, and the process exits 0.
func TestSIGTERMFinishesTheChangeInFlight(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t, simtest.Options{})
	dbURL := testdb.Migrated(t)
	c := proctest.Start(t, proctest.Options{DBURL: dbURL, Upstream: sim})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("web serve's log:\n%s", c.Logs())
		}
	})
	token := c.Token(t, "alice", "editor")

	type answer struct {
		status int
		body   []byte
	}
	hold := sim.HoldNext(vpcepsim.RouteUpdatePolicy)
	answered := make(chan answer, 1)
	go func() {
		body := `{"policy_statement":[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:shutdown-test/*"]}],"reason":"graceful shutdown test"}`
		status, b := proctest.Do(context.Background(), http.MethodPut, c.URL+"/api/v1/endpoints/"+sim.Gateway(t, 2).ID+"/policy", token, body)
		answered <- answer{status, b}
	}()

	// SIGTERM once the PUT has reached the simulator, where it is held.
	held(t, hold)
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// The listener closes at once: a new connection is refused while the
	// change is still in flight.
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", c.Addr(), time.Second)
		if err == nil {
			conn.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNRESET) {
			continue // queued as the listener closed, then reset: not served; look again
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial after SIGTERM: %v, want connection refused", err)
		}
		refused = true
		break
	}
	if !refused {
		t.Fatal("a new connection was still accepted 3s after SIGTERM")
	}
	select {
	case a := <-answered:
		t.Fatalf("the change was answered (%d) while its PUT was held", a.status)
	default:
	}
	if !c.Running() {
		t.Fatal("web serve exited with the change in flight")
	}

	// The upstream applies and answers: the client gets its answer, and the
	// process exits 0.
	hold.Apply()
	hold.Answer()
	var a answer
	select {
	case a = <-answered:
	case <-time.After(20 * time.Second):
		t.Fatal("the change got no answer in 20s")
	}
	var got struct {
		Entry struct {
			ID      int64  `json:"id"`
			Outcome string `json:"outcome"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(a.body, &got); err != nil || a.status != http.StatusOK || got.Entry.Outcome != "succeeded" {
		t.Fatalf("the change answered %d %s", a.status, a.body)
	}
	err, ok := c.Wait(20 * time.Second)
	if !ok || err != nil {
		t.Fatalf("web serve exited: %v (exited %v), want status 0", err, ok)
	}

	// The entry is finalised, not left pending for the reconciler.
	pool := testdb.Pool(t, dbURL)
	var outcome string
	var pending int
	if err := pool.QueryRow(context.Background(), `SELECT outcome, (SELECT count(*) FROM audit_entries WHERE outcome = 'pending') FROM audit_entries WHERE id = $1`, got.Entry.ID).Scan(&outcome, &pending); err != nil {
		t.Fatal(err)
	}
	if outcome != "succeeded" || pending != 0 {
		t.Errorf("entry #%d is %s; %d entries pending", got.Entry.ID, outcome, pending)
	}

	// The shutdown went in order, and said so; no secret reached the log.
	out := c.Logs()
	last := -1
	for _, step := range []string{"shutting down", "requests in flight answered", "background workers stopped"} {
		i := strings.Index(out, step)
		if i < 0 || i < last {
			t.Errorf("log line %q missing or out of order", step)
		}
		last = i
	}
	for _, secret := range []string{sim.SK, token} {
		if strings.Contains(out, secret) {
			t.Error("a secret reached the log")
		}
	}
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

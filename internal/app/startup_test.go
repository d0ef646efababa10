package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// storedInventory starts a console on a fresh database until it lists the
// simulator's 30 endpoints, then stops it: a database that holds an
// inventory. list reads the API's first page: its status, how many
// endpoints and the inventory's state.
func storedInventory(t *testing.T) (sim *simtest.Upstream, c *proctest.Console, dbURL string, list func() (int, int, string)) {
	t.Helper()
	sim = simtest.Start(t, simtest.Options{Endpoints: vpcepsim.GeneratedEndpoints(1, 30, time.Now())})
	dbURL = testdb.Migrated(t)
	c = proctest.Start(t, proctest.Options{DBURL: dbURL, Upstream: sim})
	token := c.Token(t, "ops", "viewer")
	list = func() (int, int, string) {
		status, body := proctest.Do(context.Background(), http.MethodGet, c.URL+"/api/v1/endpoints?limit=100", token, "")
		var page struct {
			Endpoints []json.RawMessage `json:"endpoints"`
			Inventory struct {
				State string `json:"state"`
			} `json:"inventory"`
		}
		_ = json.Unmarshal(body, &page)
		return status, len(page.Endpoints), page.Inventory.State
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if status, n, _ := list(); status == http.StatusOK && n == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first start never listed the 30 endpoints")
		}
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	return sim, c, dbURL, list
}

func readyz(t *testing.T, c *proctest.Console) int {
	t.Helper()
	resp, err := http.Get(c.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A console started on a database that holds an old inventory is ready and
// lists it, marked stale, at once, while its first refresh is still waiting
// for the upstream (held at the simulator): `web serve` as a real process.
func TestReadyBeforeTheFirstRefreshWhenAnInventoryIsStored(t *testing.T) {
	t.Parallel()
	sim, c, dbURL, list := storedInventory(t)
	// An hour old: older than two refresh intervals, so stale, and due.
	if _, err := testdb.Pool(t, dbURL).Exec(context.Background(), `
		UPDATE inventory_refreshes SET started_at = started_at - interval '1 hour', finished_at = finished_at - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}

	hold := sim.HoldNext(vpcepsim.RouteList)
	c.Restart(t)
	select {
	case <-hold.Arrived():
	case <-time.After(20 * time.Second):
		t.Fatal("the restarted console never began its refresh")
	}
	defer func() { hold.Apply(); hold.Answer() }()

	// The refresh is held at the upstream: whatever answers now comes from
	// the stored inventory.
	if status := readyz(t, c); status != http.StatusOK {
		t.Errorf("/readyz answered %d while the first refresh was held, want 200", status)
	}
	if status, n, state := list(); status != http.StatusOK || n != 30 || state != "stale" {
		t.Errorf("the API answered %d with %d endpoints (%q) while the first refresh was held, want 200 with 30 (stale)", status, n, state)
	}
}

// A console restarted on a database whose inventory was refreshed moments
// ago serves it and leaves its refresh to the schedule: the restart does
// not list the upstream again.
func TestARestartOnARecentInventoryRefreshesOnSchedule(t *testing.T) {
	t.Parallel()
	sim, c, _, list := storedInventory(t)
	lists := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/vpc-endpoints") {
				n++
			}
		}
		return n
	}
	before := lists()

	c.Restart(t)
	if status := readyz(t, c); status != http.StatusOK {
		t.Errorf("/readyz answered %d after the restart, want 200", status)
	}
	if status, n, state := list(); status != http.StatusOK || n != 30 || state != "fresh" {
		t.Errorf("the API answered %d with %d endpoints (%q), want 200 with 30 (fresh)", status, n, state)
	}
	// Once the refresher has said it waits, nothing lists until its turn.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(c.Logs(), "its next refresh is on schedule"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the refresher never said it waits for its turn:\n%s", c.Logs())
		}
	}
	if got := lists() - before; got != 0 {
		t.Errorf("the restart listed the upstream %d times, want 0", got)
	}
}

package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// A console started on a database that already holds an inventory is ready
// and lists it at once, while its first refresh is still waiting for the
// upstream (held at the simulator): `web serve` as a real process.
func TestReadyBeforeTheFirstRefreshWhenAnInventoryIsStored(t *testing.T) {
	t.Parallel()
	sim := simtest.Start(t, simtest.Options{Endpoints: vpcepsim.GeneratedEndpoints(1, 30, time.Now())})
	c := proctest.Start(t, proctest.Options{DBURL: testdb.Migrated(t), Upstream: sim})
	token := c.Token(t, "ops", "viewer")
	ctx := context.Background()
	listed := func() (int, int) {
		status, body := proctest.Do(ctx, http.MethodGet, c.URL+"/api/v1/endpoints?limit=100", token, "")
		var page struct {
			Endpoints []json.RawMessage `json:"endpoints"`
		}
		_ = json.Unmarshal(body, &page)
		return status, len(page.Endpoints)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if status, n := listed(); status == http.StatusOK && n == 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first start never listed the 30 endpoints")
		}
	}
	if err := c.Stop(); err != nil {
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
	resp, err := http.Get(c.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz answered %d while the first refresh was held, want 200", resp.StatusCode)
	}
	if status, n := listed(); status != http.StatusOK || n != 30 {
		t.Errorf("the API answered %d with %d endpoints while the first refresh was held, want 200 with 30", status, n)
	}
}

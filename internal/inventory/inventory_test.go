package inventory_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestMain finds the test server (and stops a container it started). Each
// test makes a database of its own, so that all of them run in parallel.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

func TestRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testdb.Migrated(t)
	sim := simtest.Start(t, simtest.Options{Endpoints: vpcepsim.GeneratedEndpoints(3, 1200, time.Now())})
	client := sim.Client(t, nil)
	st := store.New(testdb.Pool(t, dbURL))
	r := inventory.NewRefresher(client, st, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if err := r.Refresh(ctx, inventory.TriggerManual); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	page, err := st.ListInventory(ctx, store.InventoryFilter{PerPage: 10})
	if err != nil || page.Total != 1200 {
		t.Fatalf("inventory total = %d, %v; want 1200", page.Total, err)
	}

	// A failing upstream is recorded with its status, code and request id,
	// and leaves the last good inventory in place.
	sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	if err := r.Refresh(ctx, inventory.TriggerSchedule); err == nil {
		t.Fatal("Refresh succeeded against a failing upstream")
	}
	state, err := st.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if state.Last.Succeeded || !strings.Contains(state.Last.Error, "HTTP 500 EndPoint.0001") || !strings.Contains(state.Last.Error, "request id") {
		t.Errorf("last refresh = %+v", state.Last)
	}
	if f := state.Last.Failure; f == nil || f.Source != store.FailureUpstream || f.Status != 500 || f.Code != "EndPoint.0001" ||
		f.Message != "System error. Please retry." || len(f.RequestID) != 32 {
		t.Errorf("failure = %+v", f)
	}
	if state.LastSuccessSize != 1200 {
		t.Errorf("last success size = %d", state.LastSuccessSize)
	}
	page, err = st.ListInventory(ctx, store.InventoryFilter{PerPage: 10})
	if err != nil || page.Total != 1200 {
		t.Fatalf("inventory after a failed refresh = %d, %v", page.Total, err)
	}

	// While another replica holds the lock, a refresh is refused as busy.
	sim.ClearFaults()
	release, ok, err := st.TryRefreshLock(ctx)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	other := inventory.NewRefresher(client, store.New(testdb.Pool(t, dbURL)), time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := other.Refresh(ctx, inventory.TriggerManual); !errors.Is(err, inventory.ErrBusy) {
		t.Fatalf("Refresh while locked = %v, want ErrBusy", err)
	}
	release()
}

// A refresh the console itself fails (here: storing the list) is recorded
// as the console's failure, in words fit to show; the detail is logged.
func TestRefreshFailingToStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	sim := simtest.Start(t, simtest.Options{})
	st := store.New(pool)
	var logs strings.Builder
	r := inventory.NewRefresher(sim.Client(t, nil), st, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, err := pool.Exec(ctx, `ALTER TABLE inventory_endpoint_bodies RENAME TO elsewhere`); err != nil {
		t.Fatal(err)
	}
	if err := r.Refresh(ctx, inventory.TriggerManual); err == nil {
		t.Fatal("the refresh succeeded without its table")
	}
	state, err := st.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &store.RefreshFailure{Source: store.FailureConsole, Message: "the console could not store the endpoint list (its log has the details)"}
	if f := state.Last.Failure; f == nil || *f != *want {
		t.Errorf("failure = %+v, want %+v", f, want)
	}
	if !strings.Contains(logs.String(), "inventory_endpoint_bodies") {
		t.Errorf("the detail is not logged:\n%s", logs.String())
	}
}

// A scheduled refresh cut short because the console is stopping is not a
// failure of the upstream and is not recorded as one; a manual refresh cut
// short (the admin's browser went away) still is.
func TestRefreshCutShortByShutdown(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t, testdb.Migrated(t))
	sim := simtest.Start(t, simtest.Options{})
	sim.SetLatency(time.Second)
	st := store.New(pool)
	r := inventory.NewRefresher(sim.Client(t, nil), st, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range []struct {
		trigger  string
		recorded bool
	}{{inventory.TriggerSchedule, false}, {inventory.TriggerStartup, false}, {inventory.TriggerManual, true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := r.Refresh(ctx, tt.trigger)
		cancel()
		if err == nil {
			t.Fatalf("%s: a refresh cut short succeeded", tt.trigger)
		}
		state, err := st.RefreshState(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := state.Last != nil && state.Last.Trigger == tt.trigger; got != tt.recorded {
			t.Errorf("%s refresh cut short: recorded %v, want %v", tt.trigger, got, tt.recorded)
		}
	}
}

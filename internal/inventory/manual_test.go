package inventory_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// listings counts the upstream's list calls.
func listings(sim *simtest.Upstream) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/vpc-endpoints") {
			n++
		}
	}
	return n
}

// TestManualRefreshIsThrottledAndCoalesced: one account presses at most
// once per ManualRefreshEvery; a press on any replica reuses a refresh
// that finished within CoalesceWithin.
func TestManualRefreshIsThrottledAndCoalesced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testdb.Migrated(t)
	sim := simtest.Start(t, simtest.Options{Endpoints: vpcepsim.DemoEndpoints(1, time.Now())})
	client := sim.Client(t, nil)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := inventory.NewRefresher(client, store.New(testdb.Pool(t, dbURL)), time.Minute, quiet)
	other := inventory.NewRefresher(client, store.New(testdb.Pool(t, dbURL)), time.Minute, quiet) // another replica

	if got, err := r.RefreshManual(ctx, "alice"); err != nil || got != inventory.Refreshed {
		t.Fatalf("first press = %v, %v", got, err)
	}
	for range 30 {
		_, err := r.RefreshManual(ctx, "alice")
		var te *inventory.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > inventory.ManualRefreshEvery {
			t.Fatalf("press again = %v", err)
		}
	}
	if got, err := r.RefreshManual(ctx, "bob"); err != nil || got != inventory.Reused {
		t.Errorf("another account's press = %v, %v; want reused", got, err)
	}
	if got, err := other.RefreshManual(ctx, "carol"); err != nil || got != inventory.Reused {
		t.Errorf("another replica's press = %v, %v; want reused", got, err)
	}
	if n := listings(sim); n != 1 {
		t.Errorf("%d upstream listings, want 1", n)
	}
	// A refresh running on another replica is reused too.
	release, ok, err := store.New(testdb.Pool(t, dbURL)).TryRefreshLock(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	other.SetManualLimits(inventory.ManualRefreshEvery, 0)
	if got, err := other.RefreshManual(ctx, "dave"); err != nil || got != inventory.Running {
		t.Errorf("press while another replica refreshes = %v, %v", got, err)
	}
	release()
	if n := listings(sim); n != 1 {
		t.Errorf("%d upstream listings, want 1", n)
	}
}

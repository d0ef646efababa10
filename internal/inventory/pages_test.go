package inventory_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// failingPage lists through client but fails at page failAt (1-based) of
// every list; 0 never fails.
type failingPage struct {
	client *vpcep.Client
	failAt int
	err    error
}

func (f *failingPage) EndpointPages(opts vpcep.ListOptions) func(context.Context) ([]vpcep.Endpoint, error) {
	next, page := f.client.EndpointPages(opts), 0
	return func(ctx context.Context) ([]vpcep.Endpoint, error) {
		if page++; page == f.failAt {
			return nil, f.err
		}
		return next(ctx)
	}
}

// A refresh stores the list page by page: every endpoint of every page is
// stored, and a list that fails after some pages were stored is recorded as
// the upstream's failure and leaves the last good inventory whole.
func TestRefreshStoresTheListPageByPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	endpoints := vpcepsim.GeneratedEndpoints(5, 2500, time.Now())
	sim := simtest.Start(t, simtest.Options{Endpoints: endpoints})
	st := store.New(testdb.Pool(t, testdb.Migrated(t)))
	lister := &failingPage{client: sim.Client(t, nil)}
	r := inventory.NewRefresher(lister, st, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if err := r.Refresh(ctx, inventory.TriggerManual); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	total := func() int {
		t.Helper()
		page, err := st.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	if got := total(); got != 2500 {
		t.Fatalf("inventory total = %d, want 2500 (three pages)", got)
	}
	state, err := st.RefreshState(ctx)
	if err != nil || state.LastSuccessSize != 2500 {
		t.Fatalf("recorded size = %d, %v; want 2500", state.LastSuccessSize, err)
	}

	lister.failAt = 3
	lister.err = &vpcep.Error{Op: "list endpoints", Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."}
	// Were the first pages of this list stored, the inventory would shrink.
	for _, ep := range endpoints[:100] {
		sim.DeleteEndpoint(ep.ID)
	}
	if err := r.Refresh(ctx, inventory.TriggerManual); err == nil {
		t.Fatal("a refresh whose third page failed succeeded")
	}
	if got := total(); got != 2500 {
		t.Errorf("inventory total after a failed refresh = %d, want the 2500 of the last good one", got)
	}
	state, err = st.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f := state.Last.Failure; f == nil || f.Source != store.FailureUpstream || f.Code != "EndPoint.0001" {
		t.Errorf("failure = %+v, want the upstream's EndPoint.0001", f)
	}
}

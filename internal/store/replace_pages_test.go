package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// pagesOf yields eps in pages of size, then fails with failAt's error at
// page failAt (1-based; 0: never).
func pagesOf(eps []vpcep.Endpoint, size, failAt int, fail error) (store.EndpointPages, *int) {
	asked := 0
	return func(context.Context) ([]vpcep.Endpoint, error) {
		asked++
		if asked == failAt {
			return nil, fail
		}
		from := min((asked-1)*size, len(eps))
		return eps[from:min(from+size, len(eps))], nil
	}, &asked
}

// A refresh stored page by page stores every endpoint of every page, and
// one whose list fails part-way changes nothing and leaves no staging table
// behind on the pooled connection.
func TestReplaceInventoryFromPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	s := store.New(pool)
	ids := func() []string {
		t.Helper()
		page, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ep := range page.Endpoints {
			out = append(out, ep.ID)
		}
		return out
	}
	idsOf := func(eps []vpcep.Endpoint) []string {
		var out []string
		for _, ep := range eps {
			out = append(out, ep.ID)
		}
		return out
	}
	stagingTables := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = 'inventory_incoming'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := variedInventory(250)
	next, asked := pagesOf(first, 100, 0, nil)
	n, err := s.ReplaceInventoryFrom(ctx, next, time.Now())
	if err != nil || n != 250 {
		t.Fatalf("ReplaceInventoryFrom = %d, %v; want 250, nil", n, err)
	}
	if *asked != 4 {
		t.Errorf("pages asked for: %d, want 4 (three and the empty end)", *asked)
	}
	want, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Endpoints) != 250 {
		t.Fatalf("stored %d endpoints, want 250", len(want.Endpoints))
	}
	if got := stagingTables(); got != 0 {
		t.Errorf("%d staging tables left after a refresh", got)
	}

	// The same endpoints, as one slice, store the same inventory.
	other := store.New(testdb.Pool(t, testdb.Migrated(t)))
	if err := other.ReplaceInventory(ctx, first, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := other.ListInventory(ctx, store.InventoryFilter{PerPage: 1000}); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(idsOf(want.Endpoints), idsOf(got.Endpoints)); diff != "" {
		t.Errorf("paged and whole replacements differ (-paged +whole):\n%s", diff)
	}

	errLost := errors.New("the upstream went away")
	next, _ = pagesOf(variedInventory(40), 10, 3, errLost)
	if _, err := s.ReplaceInventoryFrom(ctx, next, time.Now()); !errors.Is(err, errLost) {
		t.Fatalf("ReplaceInventoryFrom with a failing page = %v, want %v", err, errLost)
	}
	if diff := cmp.Diff(idsOf(want.Endpoints), ids()); diff != "" {
		t.Errorf("a failed replacement changed the inventory (-before +after):\n%s", diff)
	}
	if got := stagingTables(); got != 0 {
		t.Errorf("%d staging tables left after a failed refresh", got)
	}

	// An empty list empties the inventory.
	next, _ = pagesOf(nil, 10, 0, nil)
	if n, err := s.ReplaceInventoryFrom(ctx, next, time.Now()); err != nil || n != 0 {
		t.Fatalf("ReplaceInventoryFrom an empty list = %d, %v", n, err)
	}
	if got := ids(); len(got) != 0 {
		t.Errorf("inventory after an empty list: %d endpoints", len(got))
	}
}

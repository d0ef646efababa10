package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// watched returns a Store on url whose inventory is read from memory.
func watched(t *testing.T, url string) *store.Store {
	t.Helper()
	s := store.New(testdb.Pool(t, url))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.WatchInventory(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the store listens for inventory changes", s.InventoryInMemory)
	return s
}

// eventually waits (10 s at most) for cond, which a notification from
// another replica makes true.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
	}
}

// variedInventory is n endpoints whose names, types, statuses and VPCs
// vary, with upper case and non-ASCII letters for the search.
func variedInventory(n int) []vpcep.Endpoint {
	names := []string{"com.myhuaweicloud.cn-north-4.obs", "com.myhuaweicloud.cn-north-4.Payments", "com.example.ÜBER-sfs", "aaa.payments-api"}
	statuses := []string{"accepted", "pendingAcceptance", "failed"}
	eps := make([]vpcep.Endpoint, n)
	for i := range eps {
		typ := "interface"
		if i%3 == 0 {
			typ = "gateway"
		}
		eps[i] = endpoint(fmt.Sprintf("%08x-ep-%d", i*7919%65536, i), names[i%len(names)], typ,
			statuses[i%len(statuses)], fmt.Sprintf("vpc-%d", i%5), i%2 == 0)
	}
	return eps
}

// The read model answers every list, filter, page, cursor and facet exactly
// as the SQL does.
func TestReadModelAnswersAsTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	db := store.New(testdb.Pool(t, url)) // never watches: reads SQL
	mem := watched(t, url)
	if err := db.ReplaceInventory(ctx, variedInventory(237), time.Now()); err != nil {
		t.Fatal(err)
	}
	if db.InventoryInMemory() {
		t.Fatal("a store that does not watch reads from memory")
	}
	eventually(t, "the model sees the inventory", func() bool {
		p, err := mem.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		return err == nil && p.Total == 237
	})
	empty := cmpopts.EquateEmpty()

	filters := []store.InventoryFilter{
		{}, {PerPage: 50}, {Page: 2, PerPage: 50}, {Page: 5, PerPage: 50}, {Page: 9, PerPage: 50},
		{Type: "gateway", PerPage: 10}, {Type: "interface", Page: 3, PerPage: 7}, {Status: "failed", PerPage: 20},
		{VpcID: "vpc-3", PerPage: 100}, {Search: "payments", PerPage: 50}, {Search: "PAYMENTS", Type: "interface", PerPage: 5, Page: 2},
		{Search: "über", PerPage: 50}, {Search: "Über", PerPage: 50}, {Search: "ep-1", Status: "accepted", VpcID: "vpc-1", PerPage: 3},
		{Search: "no such thing", PerPage: 50}, {Search: "%", PerPage: 50}, {Search: "_", PerPage: 50}, {Type: "nope"},
	}
	for _, f := range filters {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			want, err := db.ListInventory(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := mem.ListInventory(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, empty, cmpopts.IgnoreFields(store.InventoryPage{}, "Renderings")); diff != "" {
				t.Errorf("ListInventory mismatch (-sql +memory):\n%s", diff)
			}
			if len(want.Renderings) != 0 || len(got.Renderings) != len(got.Endpoints) || slices.Contains(got.Renderings, nil) {
				t.Errorf("renderings: %d from SQL (want none), %d for %d endpoints from memory (want one each)",
					len(want.Renderings), len(got.Renderings), len(got.Endpoints))
			}
			// Walk every page by cursor, both ways.
			for _, limit := range []int{1, 7, 100} {
				wantCur, gotCur := "", ""
				for page := 0; ; page++ {
					wantEps, wantNext, err := db.ListInventoryAfter(ctx, f, wantCur, limit)
					if err != nil {
						t.Fatal(err)
					}
					gotEps, gotNext, err := mem.ListInventoryAfter(ctx, f, gotCur, limit)
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(wantEps, gotEps, empty); diff != "" || wantNext != gotNext {
						t.Fatalf("ListInventoryAfter page %d limit %d: next %q vs %q; mismatch (-sql +memory):\n%s", page, limit, wantNext, gotNext, diff)
					}
					// With the renderings: the same page, one rendering each.
					for _, s := range []*store.Store{db, mem} {
						eps, renderings, next, err := s.ListInventoryRowsAfter(ctx, f, gotCur, limit)
						if err != nil {
							t.Fatal(err)
						}
						if diff := cmp.Diff(wantEps, eps, empty); diff != "" || next != wantNext || len(renderings) != len(eps) {
							t.Fatalf("ListInventoryRowsAfter page %d limit %d: next %q vs %q, %d renderings; mismatch (-want +got):\n%s",
								page, limit, wantNext, next, len(renderings), diff)
						}
					}
					if wantNext == "" {
						break
					}
					wantCur, gotCur = wantNext, gotNext
				}
			}
		})
	}
	want, err := db.InventoryFacets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mem.InventoryFacets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, empty); diff != "" {
		t.Errorf("InventoryFacets mismatch (-sql +memory):\n%s", diff)
	}
}

// Two replicas: what one writes (a refresh, a refresh's record, one
// endpoint after a change) the other's read model shows, by notification;
// the writer itself shows it at once.
func TestReplicasSeeEachOthersInventoryChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	a, b := watched(t, url), watched(t, url)
	total := func(s *store.Store) int {
		p, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	if total(a) != 0 || total(b) != 0 {
		t.Fatal("a new inventory is not empty")
	}

	// A refresh by a: a sees it at once, b by notification.
	eps := variedInventory(40)
	if err := a.ReplaceInventory(ctx, eps, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := total(a); got != 40 {
		t.Fatalf("the refreshing replica lists %d endpoints, want 40", got)
	}
	eventually(t, "replica b lists the 40 endpoints a stored", func() bool { return total(b) == 40 })

	// A smaller refresh: vanished endpoints go from b's model too.
	if err := a.ReplaceInventory(ctx, eps[:25], time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica b drops the endpoints that vanished", func() bool { return total(b) == 25 })

	// One endpoint written after a change.
	changed := eps[3]
	changed.Status = "rejected"
	if err := a.PutInventoryEndpoint(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	rejected := func(s *store.Store) bool {
		p, err := s.ListInventory(ctx, store.InventoryFilter{Status: "rejected", PerPage: 10})
		return err == nil && p.Total == 1 && p.Endpoints[0].ID == changed.ID && p.Endpoints[0].Status == "rejected"
	}
	if !rejected(a) {
		t.Fatal("the writing replica does not list the endpoint as it wrote it")
	}
	eventually(t, "replica b lists the changed endpoint", func() bool { return rejected(b) })
	eventually(t, "replica b's facets offer the new status", func() bool {
		f, err := b.InventoryFacets(ctx)
		return err == nil && cmp.Diff([]string{"accepted", "failed", "pendingAcceptance", "rejected"}, f.Statuses) == ""
	})

	// A refresh's record.
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := a.RecordRefresh(ctx, store.Refresh{Trigger: "manual", StartedAt: at, FinishedAt: at, Succeeded: true, EndpointCount: 25}); err != nil {
		t.Fatal(err)
	}
	recorded := func(s *store.Store) bool {
		st, err := s.RefreshState(ctx)
		return err == nil && st.Last != nil && st.Last.Trigger == "manual" && st.LastSuccessAt.Equal(at)
	}
	if !recorded(a) {
		t.Fatal("the recording replica does not see its own refresh record")
	}
	eventually(t, "replica b sees the refresh a recorded", func() bool { return recorded(b) })
}

// A replica whose LISTEN connection is killed reads the database (so it
// never serves a model it cannot know is current), then listens again and
// reloads.
func TestReadModelFallsBackWhenNotificationsAreLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	pool := testdb.Pool(t, url)
	writer := store.New(pool)
	s := watched(t, url)
	if err := writer.ReplaceInventory(ctx, variedInventory(10), time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the model sees 10 endpoints", func() bool {
		p, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		return err == nil && p.Total == 10
	})
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the store notices its LISTEN is gone", func() bool { return !s.InventoryInMemory() })
	// Written while nobody listens: read from the database, so seen at once.
	if err := writer.ReplaceInventory(ctx, variedInventory(12), time.Now()); err != nil {
		t.Fatal(err)
	}
	if p, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1}); err != nil || p.Total != 12 {
		t.Fatalf("without notifications the store lists %d endpoints (%v), want 12", p.Total, err)
	}
	eventually(t, "the store listens again", s.InventoryInMemory)
	if p, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1}); err != nil || p.Total != 12 {
		t.Fatalf("listening again, the store lists %d endpoints (%v), want 12", p.Total, err)
	}
}

// A LISTEN left idle past its ping still delivers the next change.
func TestReadModelListensOnAfterAnIdlePing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	writer := store.New(testdb.Pool(t, url))
	s := watched(t, url)
	time.Sleep(6 * time.Second) // past one ping (pglisten.Ping is 5 s)
	if !s.InventoryInMemory() {
		t.Fatal("the store stopped listening after an idle ping")
	}
	if err := writer.ReplaceInventory(ctx, variedInventory(3), time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a change after the ping is seen", func() bool {
		p, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		return err == nil && p.Total == 3
	})
}

// Each endpoint's renderings are made once while the inventory is
// unchanged, and made again from the new endpoint after a change.
func TestRenderingsAreKeptUntilTheInventoryChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	mem := watched(t, url)
	eps := variedInventory(3)
	for i := range eps {
		eps[i].Description = fmt.Sprintf("endpoint %d", i)
	}
	if err := mem.ReplaceInventory(ctx, eps, time.Now()); err != nil {
		t.Fatal(err)
	}
	made := 0
	row := func(p store.InventoryPage, i int) string {
		t.Helper()
		s, err := p.Renderings[i].Row(func() (string, error) { made++; return p.Endpoints[i].Description, nil })
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	read := func() store.InventoryPage {
		t.Helper()
		p, err := mem.ListInventory(ctx, store.InventoryFilter{PerPage: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Renderings) != len(p.Endpoints) {
			t.Fatalf("%d renderings for %d endpoints", len(p.Renderings), len(p.Endpoints))
		}
		return p
	}
	first := read()
	for range 3 {
		if got := row(read(), 0); got != first.Endpoints[0].Description {
			t.Fatalf("row %q, want %q", got, first.Endpoints[0].Description)
		}
	}
	if made != 1 {
		t.Fatalf("the row was made %d times over three reads of an unchanged inventory, want once", made)
	}
	// A failed rendering is not kept.
	if _, err := read().Renderings[1].JSON(func() (string, error) { return "", fmt.Errorf("broken") }); err == nil {
		t.Fatal("a failed rendering reported no error")
	}
	if got, _ := read().Renderings[1].JSON(func() (string, error) { return "ok", nil }); got != "ok" {
		t.Fatalf("after a failed rendering: %q, want it made again", got)
	}

	changed := slices.Clone(eps)
	for i := range changed {
		changed[i].Description = "changed " + changed[i].Description
	}
	if err := mem.ReplaceInventory(ctx, changed, time.Now()); err != nil {
		t.Fatal(err)
	}
	p := read()
	if got := row(p, 0); got != p.Endpoints[0].Description || !strings.HasPrefix(got, "changed ") {
		t.Fatalf("after a change the row is %q, want it made from the changed endpoint %q", got, p.Endpoints[0].Description)
	}
	if made != 2 {
		t.Fatalf("the row was made %d times in all, want twice (once per inventory)", made)
	}

	// Read from the database there is nothing to keep them in: made each time.
	db := store.New(testdb.Pool(t, url))
	_, renderings, _, err := db.ListInventoryRowsAfter(ctx, store.InventoryFilter{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := renderings[0].Row(func() (string, error) { made++; return "", nil }); err != nil {
			t.Fatal(err)
		}
	}
	if made != 4 {
		t.Fatalf("rows made %d times, want 4: nothing is kept without a read model", made)
	}
}

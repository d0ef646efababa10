package store_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

const (
	projectA = "0605767a3300d5762fb7c0186d9e1779"
	projectB = "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"
)

// watchedTogether returns a store per project over pool whose inventories
// are read from memory, kept current by one shared LISTEN.
func watchedTogether(t *testing.T, pool *pgxpool.Pool, projects ...string) []*store.Store {
	t.Helper()
	var stores []*store.Store
	for _, p := range projects {
		stores = append(stores, store.NewProject(pool, p))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		store.WatchInventories(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), stores...)
	}()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the stores listen for inventory changes", func() bool {
		return !slices.ContainsFunc(stores, func(s *store.Store) bool { return !s.InventoryInMemory() })
	})
	return stores
}

func idsOf(eps []vpcep.Endpoint) []string {
	out := []string{}
	for _, ep := range eps {
		out = append(out, ep.ID)
	}
	return out
}

// Two projects' stores on one database see only their own rows, whether
// they read the database or memory: lists, cursors, facets, the staged
// replace, a single endpoint's write, refresh history and drifts.
func TestProjectsDoNotSeeEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	sqlA, sqlB := store.NewProject(pool, projectA), store.NewProject(pool, projectB)
	mem := watchedTogether(t, pool, projectA, projectB)
	memA, memB := mem[0], mem[1]
	if sqlA.Project() != projectA || store.New(pool).Project() != "" {
		t.Fatalf("Project() = %q, %q", sqlA.Project(), store.New(pool).Project())
	}

	a := []vpcep.Endpoint{
		endpoint("a-1", "svc.obs", "gateway", "accepted", "vpc-a", true),
		endpoint("a-2", "svc.dns", "interface", "failed", "vpc-a", false),
	}
	b := []vpcep.Endpoint{
		endpoint("b-1", "svc.obs", "gateway", "pendingAcceptance", "vpc-b", true),
		endpoint("b-2", "svc.apig", "interface", "accepted", "vpc-c", false),
		endpoint("b-3", "svc.swr", "interface", "accepted", "vpc-b", false),
	}
	if err := sqlA.ReplaceInventory(ctx, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := sqlB.ReplaceInventory(ctx, b, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both models see their inventory", func() bool {
		pa, errA := memA.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		pb, errB := memB.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		return errA == nil && errB == nil && pa.Total == 2 && pb.Total == 3
	})

	type view struct {
		List, Cursor, Search []string
		Total                int
		Facets               store.InventoryFacets
	}
	read := func(t *testing.T, s *store.Store) view {
		t.Helper()
		var v view
		page, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		v.List, v.Total = idsOf(page.Endpoints), page.Total
		for cursor := ""; ; {
			eps, next, err := s.ListInventoryAfter(ctx, store.InventoryFilter{}, cursor, 1)
			if err != nil {
				t.Fatal(err)
			}
			v.Cursor = append(v.Cursor, idsOf(eps)...)
			if cursor = next; next == "" {
				break
			}
		}
		if page, err = s.ListInventory(ctx, store.InventoryFilter{Search: "obs", PerPage: 50}); err != nil {
			t.Fatal(err)
		}
		v.Search = idsOf(page.Endpoints)
		if v.Facets, err = s.InventoryFacets(ctx); err != nil {
			t.Fatal(err)
		}
		return v
	}
	wantA := view{List: []string{"a-2", "a-1"}, Cursor: []string{"a-2", "a-1"}, Search: []string{"a-1"}, Total: 2,
		Facets: store.InventoryFacets{VpcIDs: []string{"vpc-a"}, Statuses: []string{"accepted", "failed"}}}
	wantB := view{List: []string{"b-2", "b-1", "b-3"}, Cursor: []string{"b-2", "b-1", "b-3"}, Search: []string{"b-1"}, Total: 3,
		Facets: store.InventoryFacets{VpcIDs: []string{"vpc-b", "vpc-c"}, Statuses: []string{"accepted", "pendingAcceptance"}}}
	for _, tt := range []struct {
		name string
		s    *store.Store
		want view
	}{{"A from SQL", sqlA, wantA}, {"B from SQL", sqlB, wantB}, {"A from memory", memA, wantA}, {"B from memory", memB, wantB}} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, read(t, tt.s)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// A's next listing lacks a-2: only A's row goes; B's rows, absent from
	// A's listing, stay. Writing an endpoint of B through A's store does nothing.
	if err := sqlA.ReplaceInventory(ctx, a[:1], time.Now()); err != nil {
		t.Fatal(err)
	}
	moved := b[0]
	moved.Status = "rejected"
	if err := sqlA.PutInventoryEndpoint(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *store.Store
		want []string
	}{{sqlA, []string{"a-1"}}, {sqlB, []string{"b-2", "b-1", "b-3"}}} {
		page, err := tt.s.ListInventory(ctx, store.InventoryFilter{PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, idsOf(page.Endpoints)); diff != "" {
			t.Errorf("%s after A's second refresh (-want +got):\n%s", tt.s.Project(), diff)
		}
		if tt.s == sqlB && len(page.Endpoints) == 3 && page.Endpoints[1].Status != "pendingAcceptance" {
			t.Errorf("A's store rewrote B's endpoint: status %q", page.Endpoints[1].Status)
		}
	}
	// An id B holds already stays B's when A's listing repeats it.
	if err := sqlA.ReplaceInventory(ctx, []vpcep.Endpoint{a[0], moved}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if page, err := sqlB.ListInventory(ctx, store.InventoryFilter{Status: "pendingAcceptance", PerPage: 50}); err != nil || page.Total != 1 {
		t.Errorf("B's b-1 after A listed it too: %+v, %v", page, err)
	}
	if page, err := sqlA.ListInventory(ctx, store.InventoryFilter{PerPage: 50}); err != nil || !cmp.Equal([]string{"a-1"}, idsOf(page.Endpoints)) {
		t.Errorf("A after listing B's id: %v, %v", idsOf(page.Endpoints), err)
	}

	// Refresh history.
	finished := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if err := sqlA.RecordRefresh(ctx, store.Refresh{Trigger: "manual", StartedAt: finished, FinishedAt: finished, Succeeded: true, EndpointCount: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *store.Store
		want int // the last success's size; -1: no refresh
	}{{sqlA, 1}, {sqlB, -1}, {memA, 1}, {memB, -1}} {
		var st store.RefreshState
		eventually(t, "the refresh state is read", func() bool {
			var err error
			st, err = tt.s.RefreshState(ctx)
			return err == nil && (tt.want < 0 || st.Last != nil)
		})
		if got := map[bool]int{true: st.LastSuccessSize, false: -1}[st.Last != nil]; got != tt.want {
			t.Errorf("%s: refresh state %+v, want size %d", tt.s.Project(), st, tt.want)
		}
	}
	if err := sqlB.RecordRefresh(ctx, store.Refresh{Trigger: "manual", StartedAt: time.Now(), FinishedAt: time.Now(), Succeeded: true, EndpointCount: 3}); err != nil {
		t.Fatal(err)
	}
	if recent, err := sqlA.RefreshedWithin(ctx, time.Hour); err != nil || recent {
		t.Errorf("A refreshed within the hour (only B did): %v, %v", recent, err)
	}
	if recent, err := sqlB.RefreshedWithin(ctx, time.Hour); err != nil || !recent {
		t.Errorf("B not refreshed within the hour: %v, %v", recent, err)
	}

	// Drifts: each project's own, from the database and, once the trigger's
	// notification arrived, from memory.
	if _, err := pool.Exec(ctx, `INSERT INTO endpoint_versions (endpoint_id, drift_entry_id) VALUES ('a-1', 7), ('b-3', 8), ('elsewhere', 9)`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *store.Store
		want map[string]int64
	}{{sqlA, map[string]int64{"a-1": 7}}, {sqlB, map[string]int64{"b-3": 8}}, {memA, map[string]int64{"a-1": 7}}, {memB, map[string]int64{"b-3": 8}}} {
		var got map[string]int64
		eventually(t, "the drift is seen", func() bool {
			var err error
			got, err = tt.s.Drifts(ctx)
			return err == nil && len(got) > 0
		})
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s drifts (-want +got):\n%s", tt.s.Project(), diff)
		}
		page, err := tt.s.ListInventory(ctx, store.InventoryFilter{Drifted: true, PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(slices.Collect(func(yield func(string) bool) {
			for id := range tt.want {
				yield(id)
			}
		}), idsOf(page.Endpoints)); diff != "" {
			t.Errorf("%s drifted list (-want +got):\n%s", tt.s.Project(), diff)
		}
	}

	// The refresh lock is per project: A's held does not stop B's.
	releaseA, ok, err := sqlA.TryRefreshLock(ctx)
	if err != nil || !ok {
		t.Fatalf("A's lock: %v, %v", ok, err)
	}
	defer releaseA()
	if _, ok, err := memA.TryRefreshLock(ctx); err != nil || ok {
		t.Errorf("A's lock taken twice: %v, %v", ok, err)
	}
	releaseB, ok, err := sqlB.TryRefreshLock(ctx)
	if err != nil || !ok {
		t.Fatalf("B's lock while A's is held: %v, %v", ok, err)
	}
	releaseB()
}

// A notification names its project: only that project's store loads its
// model again.
func TestNotificationReloadsOnlyItsProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	mem := watchedTogether(t, pool, projectA, projectB)
	genA, genB := mem[0].EndpointsGeneration(), mem[1].EndpointsGeneration()

	// Written through stores that do not watch, so that only notifications
	// move the watched stores' generations. Notifications arrive in commit
	// order: once B has seen its own, A's was handled before it.
	if err := store.NewProject(pool, projectA).ReplaceInventory(ctx, []vpcep.Endpoint{endpoint("a-1", "svc", "gateway", "accepted", "vpc", true)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.NewProject(pool, projectB).ReplaceInventory(ctx, []vpcep.Endpoint{endpoint("b-1", "svc", "gateway", "accepted", "vpc", true)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees its change", func() bool { return mem[1].EndpointsGeneration() > genB })
	if got := mem[0].EndpointsGeneration() - genA; got != 1 {
		t.Errorf("A saw %d changes, want 1 (its own)", got)
	}
	if got := mem[1].EndpointsGeneration() - genB; got != 1 {
		t.Errorf("B saw %d changes, want 1 (its own)", got)
	}
	// A drift of an endpoint in no inventory concerns every project.
	if _, err := pool.Exec(ctx, `INSERT INTO endpoint_versions (endpoint_id, drift_entry_id) VALUES ('elsewhere', 9)`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both see a change of no project", func() bool {
		return mem[0].EndpointsGeneration()-genA == 2 && mem[1].EndpointsGeneration()-genB == 2
	})
}

// Rows from before projects become the one project's, or are deleted when
// there are several; other projects' rows are left alone either way.
func TestClaimUnscopedInventory(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		claim string
		want  []string // the claiming project's inventory afterwards
	}{
		{"one project takes them", projectA, []string{"old-1", "a-1"}},
		{"several projects drop them", "", []string{"a-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := testdb.Pool(t, testdb.Migrated(t))
			unscoped := watchedTogether(t, pool, "")[0]
			if err := unscoped.ReplaceInventory(ctx, []vpcep.Endpoint{endpoint("old-1", "old", "gateway", "accepted", "vpc", true)}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := unscoped.RecordRefresh(ctx, store.Refresh{Trigger: "startup", StartedAt: time.Now(), FinishedAt: time.Now(), Succeeded: true, EndpointCount: 1}); err != nil {
				t.Fatal(err)
			}
			a, b := store.NewProject(pool, projectA), store.NewProject(pool, projectB)
			if err := a.ReplaceInventory(ctx, []vpcep.Endpoint{endpoint("a-1", "svc", "gateway", "accepted", "vpc", true)}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := b.ReplaceInventory(ctx, []vpcep.Endpoint{endpoint("b-1", "svc", "gateway", "accepted", "vpc", true)}, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := store.ClaimUnscopedInventory(ctx, pool, tt.claim); err != nil {
				t.Fatal(err)
			}
			if err := store.ClaimUnscopedInventory(ctx, pool, tt.claim); err != nil {
				t.Fatalf("a second claim: %v", err)
			}
			list := func(s *store.Store) []string {
				page, err := s.ListInventory(ctx, store.InventoryFilter{PerPage: 50})
				if err != nil {
					t.Fatal(err)
				}
				return idsOf(page.Endpoints)
			}
			if diff := cmp.Diff(tt.want, list(a)); diff != "" {
				t.Errorf("A (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"b-1"}, list(b)); diff != "" {
				t.Errorf("B (-want +got):\n%s", diff)
			}
			// The watching store of '' is told, and is empty now.
			eventually(t, "the unscoped model empties", func() bool {
				page, err := unscoped.ListInventory(ctx, store.InventoryFilter{PerPage: 50})
				return err == nil && page.Total == 0
			})
			st, err := a.RefreshState(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Last != nil; got != (tt.claim != "") {
				t.Errorf("A's refresh history: %+v", st.Last)
			}
			eventually(t, "the unscoped refresh history empties", func() bool {
				st, err := unscoped.RefreshState(ctx)
				return err == nil && st.Last == nil
			})
		})
	}
}

// Migration 00016 applies to a database holding version 15's schema with
// rows: they become project ""'s (store.New's), until claimed.
func TestMigration16KeepsTheInventory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Empty(t))
	m, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	ep := endpoint("old-1", "svc.obs", "gateway", "accepted", "vpc-a", true)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO inventory_endpoints (id, service_name, service_type, status, vpc_id, has_policy, created_at, updated_at, refreshed_at, policy_fingerprint)
			VALUES ('old-1', 'svc.obs', 'gateway', 'accepted', 'vpc-a', true, $1, $2, now(), 'fp')`, []any{ep.CreatedAt, ep.UpdatedAt}},
		{`INSERT INTO inventory_endpoint_bodies (id, body) VALUES ('old-1', $1)`, []any{ep}},
		{`INSERT INTO inventory_refreshes (trigger, started_at, finished_at, succeeded, endpoint_count) VALUES ('startup', now(), now(), true, 1)`, nil},
		{`INSERT INTO accounts (name, password_hash, role) VALUES ('ada', 'x', 'viewer')`, nil},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	old := store.New(pool)
	page, err := old.ListInventory(ctx, store.InventoryFilter{PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]vpcep.Endpoint{ep}, page.Endpoints, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("inventory after 00016 (-want +got):\n%s", diff)
	}
	if st, err := old.RefreshState(ctx); err != nil || st.LastSuccessSize != 1 {
		t.Errorf("refresh state after 00016: %+v, %v", st, err)
	}
	if page, err := store.NewProject(pool, projectA).ListInventory(ctx, store.InventoryFilter{PerPage: 10}); err != nil || page.Total != 0 {
		t.Errorf("a project sees unclaimed rows: %+v, %v", page, err)
	}
	// The grants table takes the four roles, and goes with its account.
	if _, err := pool.Exec(ctx, `INSERT INTO account_project_roles (account_id, project, role) SELECT id, 'demo', 'none' FROM accounts`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO account_project_roles (account_id, project, role) SELECT id, 'other', 'owner' FROM accounts`); err == nil {
		t.Error("a grant of an unknown role was stored")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM accounts`); err != nil {
		t.Fatal(err)
	}
	var grants int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM account_project_roles`).Scan(&grants); err != nil || grants != 0 {
		t.Errorf("grants left after their account: %d, %v", grants, err)
	}
}

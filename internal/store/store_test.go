package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// TestMain finds the test server (and stops a container it started). Each
// test makes a database of its own, so that all of them run in parallel.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Empty(t))
	m, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if err := m.CheckCurrent(ctx); !errors.Is(err, store.ErrSchemaBehind) {
		t.Fatalf("CheckCurrent on an empty database = %v, want ErrSchemaBehind", err)
	}
	applied, err := m.Up(ctx)
	if err != nil || applied == 0 {
		t.Fatalf("Up = %d, %v", applied, err)
	}
	if err := m.CheckCurrent(ctx); err != nil {
		t.Fatalf("CheckCurrent after Up: %v", err)
	}
	current, target, err := m.Versions(ctx)
	if err != nil || current != target {
		t.Fatalf("Versions = %d, %d, %v", current, target, err)
	}
	for current > 0 {
		if err := m.Down(ctx); err != nil {
			t.Fatalf("Down from %d: %v", current, err)
		}
		current--
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d tables left after migrating all the way down", tables)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("Up again: %v", err)
	}
	var out strings.Builder
	if err := m.WriteStatus(ctx, &out); err != nil || !strings.Contains(out.String(), "00001_create_inventory.sql") || strings.Contains(out.String(), "pending") {
		t.Fatalf("status = %q, %v", out.String(), err)
	}
}

func endpoint(id, name, typ, status, vpc string, policy bool) vpcep.Endpoint {
	ep := vpcep.Endpoint{ID: id, ServiceName: name, ServiceType: typ, Status: status, VpcID: vpc,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedAt: time.Date(2026, 2, 2, 3, 4, 5, 0, time.UTC),
		Tags: []vpcep.Tag{{Key: "env", Value: "prod"}}}
	if policy {
		ep.PolicyStatement = []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}}}
	}
	return ep
}

func TestInventoryReplaceAndFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.Pool(t, testdb.Migrated(t)))
	eps := []vpcep.Endpoint{
		endpoint("e-1", "com.myhuaweicloud.cn-north-4.obs", "gateway", "accepted", "vpc-a", true),
		endpoint("e-2", "com.myhuaweicloud.cn-north-4.dns", "interface", "accepted", "vpc-a", false),
		endpoint("e-3", "com.myhuaweicloud.cn-north-4.sfsturbo", "gateway", "failed", "vpc-b", true),
		endpoint("e-4", "payments_api%x", "interface", "pendingAcceptance", "vpc-b", false),
	}
	if err := s.ReplaceInventory(ctx, eps, time.Now()); err != nil {
		t.Fatal(err)
	}

	ids := func(p store.InventoryPage) []string {
		var out []string
		for _, ep := range p.Endpoints {
			out = append(out, ep.ID)
		}
		return out
	}
	tests := []struct {
		name      string
		filter    store.InventoryFilter
		wantIDs   []string
		wantTotal int
	}{
		{"all, by service name", store.InventoryFilter{PerPage: 50}, []string{"e-2", "e-1", "e-3", "e-4"}, 4},
		{"type", store.InventoryFilter{Type: "gateway", PerPage: 50}, []string{"e-1", "e-3"}, 2},
		{"status", store.InventoryFilter{Status: "failed", PerPage: 50}, []string{"e-3"}, 1},
		{"vpc", store.InventoryFilter{VpcID: "vpc-b", PerPage: 50}, []string{"e-3", "e-4"}, 2},
		{"search service name, any case", store.InventoryFilter{Search: "OBS", PerPage: 50}, []string{"e-1"}, 1},
		{"search id", store.InventoryFilter{Search: "e-4", PerPage: 50}, []string{"e-4"}, 1},
		{"search is literal, not a LIKE pattern", store.InventoryFilter{Search: "_api%", PerPage: 50}, []string{"e-4"}, 1},
		{"wildcard chars do not match everything", store.InventoryFilter{Search: "%", PerPage: 50}, []string{"e-4"}, 1},
		{"page 2 of 2", store.InventoryFilter{Page: 2, PerPage: 3}, []string{"e-4"}, 4},
		{"past the end keeps the total", store.InventoryFilter{Page: 9, PerPage: 3}, nil, 4},
		{"combined", store.InventoryFilter{Type: "interface", VpcID: "vpc-a", PerPage: 50}, []string{"e-2"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.ListInventory(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantIDs, ids(page)); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if page.Total != tt.wantTotal {
				t.Errorf("total = %d, want %d", page.Total, tt.wantTotal)
			}
		})
	}

	// The stored body round-trips the endpoint.
	page, err := s.ListInventory(ctx, store.InventoryFilter{Search: "e-1", PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eps[0], page.Endpoints[0]); diff != "" {
		t.Errorf("endpoint round trip mismatch (-want +got):\n%s", diff)
	}

	// A second refresh drops vanished endpoints and updates changed ones.
	changed := eps[1]
	changed.Status = "rejected"
	if err := s.ReplaceInventory(ctx, []vpcep.Endpoint{eps[0], changed}, time.Now()); err != nil {
		t.Fatal(err)
	}
	page, err = s.ListInventory(ctx, store.InventoryFilter{PerPage: 50})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e-2", "e-1"}, ids(page)); diff != "" {
		t.Errorf("after second refresh (-want +got):\n%s", diff)
	}
	if page.Endpoints[0].Status != "rejected" {
		t.Errorf("status not updated: %q", page.Endpoints[0].Status)
	}
	facets, err := s.InventoryFacets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.InventoryFacets{VpcIDs: []string{"vpc-a"}, Statuses: []string{"accepted", "rejected"}}, facets); diff != "" {
		t.Errorf("facets mismatch (-want +got):\n%s", diff)
	}
}

func TestListInventoryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.Pool(t, testdb.Migrated(t)))
	eps := []vpcep.Endpoint{
		endpoint("e-1", "b.obs", "gateway", "accepted", "vpc-a", true),
		endpoint("e-2", "a.dns", "interface", "accepted", "vpc-a", false),
		endpoint("e-3", "b.obs", "gateway", "failed", "vpc-b", true),
		endpoint("e-4", "c.sfs", "gateway", "accepted", "vpc-b", false),
		endpoint("e-5", "a.dns", "interface", "accepted", "vpc-b", false),
	}
	if err := s.ReplaceInventory(ctx, eps, time.Now()); err != nil {
		t.Fatal(err)
	}
	// pages walks every page of f, limit at a time, and returns the ids of each.
	pages := func(f store.InventoryFilter, limit int) [][]string {
		var out [][]string
		cursor := ""
		for {
			page, next, err := s.ListInventoryAfter(ctx, f, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, ep := range page {
				ids = append(ids, ep.ID)
			}
			out = append(out, ids)
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	tests := []struct {
		name   string
		filter store.InventoryFilter
		limit  int
		want   [][]string
	}{
		// Ties on the service name are broken by id, so no row is skipped or repeated.
		{"all, two at a time", store.InventoryFilter{}, 2, [][]string{{"e-2", "e-5"}, {"e-1", "e-3"}, {"e-4"}}},
		{"an exact last page has no next", store.InventoryFilter{}, 5, [][]string{{"e-2", "e-5", "e-1", "e-3", "e-4"}}},
		{"filtered", store.InventoryFilter{VpcID: "vpc-b"}, 1, [][]string{{"e-5"}, {"e-3"}, {"e-4"}}},
		{"nothing matches", store.InventoryFilter{Type: "none"}, 10, [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, pages(tt.filter, tt.limit)); diff != "" {
				t.Errorf("pages mismatch (-want +got):\n%s", diff)
			}
		})
	}
	cursor := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	for _, cursor := range []string{"not base64!", "bm8gc2VwYXJhdG9y",
		cursor("name\x00"), cursor("na\x00me\x00e-1"), cursor("name\x00e-\x001"), cursor("\xffname\x00e-1"), cursor("name\x00e-\xff"),
		cursor("na\nme\x00e-1"), cursor("name\x00e-\u00851"), cursor("name\x00" + strings.Repeat("e", 65))} {
		if _, _, err := s.ListInventoryAfter(ctx, store.InventoryFilter{}, cursor, 10); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: err = %v, want ErrBadCursor", cursor, err)
		}
	}
}

func TestRefreshStateAndLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	s := store.New(testdb.Pool(t, url))

	ok := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	if err := s.RecordRefresh(ctx, store.Refresh{Trigger: "startup", StartedAt: ok.Add(-time.Second), FinishedAt: ok, Succeeded: true, EndpointCount: 36}); err != nil {
		t.Fatal(err)
	}
	// A failure without its parts, as recorded before they had columns:
	// its text is all there is.
	if err := s.RecordRefresh(ctx, store.Refresh{Trigger: "schedule", StartedAt: ok.Add(time.Minute), FinishedAt: ok.Add(time.Minute), Error: "HTTP 500 EndPoint.0001"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Last == nil || st.Last.Succeeded || st.Last.Error != "HTTP 500 EndPoint.0001" || !st.LastSuccessAt.Equal(ok) || st.LastSuccessSize != 36 {
		t.Fatalf("state = %+v last=%+v", st, st.Last)
	}
	if diff := cmp.Diff(&store.RefreshFailure{Source: store.FailureUpstream, Message: "HTTP 500 EndPoint.0001"}, st.Last.Failure); diff != "" {
		t.Errorf("legacy failure mismatch (-want +got):\n%s", diff)
	}
	// A failure with its parts comes back as recorded.
	failure := &store.RefreshFailure{Source: store.FailureUpstream, Status: 401, Code: "APIGW.0301",
		Message: "Incorrect IAM authentication information", RequestID: "0123456789abcdef0123456789abcdef"}
	if err := s.RecordRefresh(ctx, store.Refresh{Trigger: "schedule", StartedAt: ok.Add(2 * time.Minute), FinishedAt: ok.Add(2 * time.Minute),
		Error: "vpcep: list endpoints: HTTP 401 APIGW.0301", Failure: failure}); err != nil {
		t.Fatal(err)
	}
	if st, err = s.RefreshState(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(failure, st.Last.Failure); diff != "" || !st.LastSuccessAt.Equal(ok) {
		t.Errorf("failure mismatch (-want +got):\n%s", diff)
	}
	// A success has no failure.
	if err := s.RecordRefresh(ctx, store.Refresh{Trigger: "manual", StartedAt: ok.Add(3 * time.Minute), FinishedAt: ok.Add(3 * time.Minute), Succeeded: true, EndpointCount: 37,
		Failure: failure}); err != nil {
		t.Fatal(err)
	}
	if st, err = s.RefreshState(ctx); err != nil || st.Last.Failure != nil || st.LastSuccessSize != 37 {
		t.Errorf("after a success: %+v, %v", st.Last, err)
	}

	release, got, err := s.TryRefreshLock(ctx)
	if err != nil || !got {
		t.Fatalf("first lock = %v, %v", got, err)
	}
	other := store.New(testdb.Pool(t, url))
	if _, got, err := other.TryRefreshLock(ctx); err != nil || got {
		t.Fatalf("second replica got the lock while held: %v, %v", got, err)
	}
	release()
	release2, got, err := other.TryRefreshLock(ctx)
	if err != nil || !got {
		t.Fatalf("lock after release = %v, %v", got, err)
	}
	release2()
}

func TestRefreshedWithin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(testdb.Pool(t, testdb.Migrated(t)))
	if recent, err := s.RefreshedWithin(ctx, time.Hour); err != nil || recent {
		t.Fatalf("before any refresh: %v, %v; want false", recent, err)
	}
	now := time.Now()
	if err := s.RecordRefresh(ctx, store.Refresh{Trigger: "manual", StartedAt: now.Add(-time.Minute), FinishedAt: now.Add(-30 * time.Second), Error: "x",
		Failure: &store.RefreshFailure{Source: store.FailureUpstream, Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	if recent, err := s.RefreshedWithin(ctx, time.Hour); err != nil || !recent {
		t.Errorf("a failed refresh 30s ago, within an hour: %v, %v; want true", recent, err)
	}
	if recent, err := s.RefreshedWithin(ctx, 10*time.Second); err != nil || recent {
		t.Errorf("a refresh 30s ago, within 10s: %v, %v; want false", recent, err)
	}
}

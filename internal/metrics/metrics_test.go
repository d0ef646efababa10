package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/metrics"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// TestMain finds the test server; each test makes a database of its own.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// scrape serves m over HTTP as the metrics listener does and parses the
// answer to /metrics.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler(discard))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// series lists a family's series as "label=value,..." -> value (a
// histogram's by its count), sorted by labels.
func series(t *testing.T, families map[string]*dto.MetricFamily, name string) map[string]float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		var v float64
		switch {
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		}
		out[strings.Join(labels, ",")] = v
	}
	return out
}

func TestEventsBecomeLabelledSeries(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ObserveRequest("/endpoints/:id", http.MethodGet, 200, 30*time.Millisecond)
	m.ObserveRequest("/endpoints/:id", http.MethodGet, 502, time.Second)
	m.ObserveRequest("/api/v1/endpoints/:id/policy", http.MethodPut, 200, 2*time.Second)
	m.ObserveRequest("", "BREW", 404, time.Millisecond) // a made-up method makes no series of its own

	m.UpstreamAttempt(vpcep.Attempt{Operation: vpcep.OpGetEndpoint, Number: 1, Status: 503, Code: "EndPoint.0001"})
	m.UpstreamAttempt(vpcep.Attempt{Operation: vpcep.OpGetEndpoint, Number: 2, Status: 200})
	m.UpstreamAttempt(vpcep.Attempt{Operation: vpcep.OpListEndpoints, Number: 1, Failure: "timeout"})
	m.UpstreamAttempt(vpcep.Attempt{Operation: vpcep.OpUpdatePolicy, Number: 1, Status: 400, Code: "<script>"})

	m.ChangeFinished(change.Applied)
	m.ChangeFinished(change.Applied)
	m.ChangeFinished(change.Conflict)
	m.EntrySettled(audit.OutcomeUnknown)

	// Every outcome has its series from the start.
	changes := map[string]float64{}
	for _, o := range change.Outcomes {
		changes["outcome="+string(o)] = 0
	}
	changes["outcome=applied"], changes["outcome=conflict"] = 2, 1

	got := scrape(t, m)
	tests := map[string]map[string]float64{
		"vpcep_console_http_request_duration_seconds": {
			"method=GET,route=/endpoints/:id,status=2xx":               1,
			"method=GET,route=/endpoints/:id,status=5xx":               1,
			"method=PUT,route=/api/v1/endpoints/:id/policy,status=2xx": 1,
			"method=other,route=unmatched,status=4xx":                  1,
		},
		"vpcep_console_upstream_requests_total": {
			"code=EndPoint.0001,operation=get_endpoint,status=503": 1,
			"code=,operation=get_endpoint,status=200":              1,
			"code=timeout,operation=list_endpoints,status=none":    1,
			"code=other,operation=update_policy,status=400":        1,
		},
		"vpcep_console_upstream_request_duration_seconds": {
			"operation=get_endpoint": 2, "operation=list_endpoints": 1, "operation=update_policy": 1,
		},
		"vpcep_console_upstream_retries_total": {"operation=get_endpoint": 1},
		"vpcep_console_changes_total":          changes,
		"vpcep_console_reconciler_settlements_total": {
			"outcome=succeeded": 0, "outcome=failed": 0, "outcome=unknown": 1,
		},
	}
	for name, want := range tests {
		if diff := cmp.Diff(want, series(t, got, name)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no runtime metric %s", name)
		}
	}
}

func TestOnlyMetricsIsServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(metrics.New().Handler(discard))
	defer srv.Close()
	for _, path := range []string{"/", "/metrics/x", "/debug/pprof/"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s answered %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestStateIsReadAtScrapeTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	st := store.New(pool)
	m := metrics.New()
	m.WatchState(audit.New(pool), metrics.ProjectInventory{Project: "prod", Store: st})

	// Before anything happened: nothing pending, no refresh yet.
	got := scrape(t, m)
	if diff := cmp.Diff(map[string]float64{"": 0}, series(t, got, "vpcep_console_audit_pending_entries")); diff != "" {
		t.Errorf("pending mismatch (-want +got):\n%s", diff)
	}
	for _, name := range []string{"vpcep_console_inventory_age_seconds", "vpcep_console_inventory_last_refresh_failed", "vpcep_console_inventory_endpoints"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s reported before the first refresh", name)
		}
	}

	// Two changes pending, one finalised; a success, then a failed refresh.
	log := audit.New(pool)
	for i, endpoint := range []string{"ep-1", "ep-2", "ep-3"} {
		e, err := log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p", Region: "r", EndpointID: endpoint,
			Action: audit.ActionUpdate, Reason: "test", PolicyBefore: "null", PolicyRequested: "[]"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := log.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeFailed, Note: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now().UTC()
	if err := st.RecordRefresh(ctx, store.Refresh{Trigger: "startup", StartedAt: now.Add(-time.Hour), FinishedAt: now.Add(-time.Hour), Succeeded: true, EndpointCount: 12}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordRefresh(ctx, store.Refresh{Trigger: "schedule", StartedAt: now, FinishedAt: now, Error: "vpcep: list endpoints: HTTP 503"}); err != nil {
		t.Fatal(err)
	}

	got = scrape(t, m)
	want := map[string]map[string]float64{
		"vpcep_console_audit_pending_entries":         {"": 2},
		"vpcep_console_inventory_last_refresh_failed": {"project=prod": 1},
		"vpcep_console_inventory_endpoints":           {"project=prod": 12},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, series(t, got, name)); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	// The age counts from the last success, an hour ago (a bound, not a time).
	if age := series(t, got, "vpcep_console_inventory_age_seconds")["project=prod"]; age < 3600 {
		t.Errorf("inventory age %v s, want at least an hour", age)
	}
}

func TestStateUnreadableLeavesTheRestServed(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t, testdb.Migrated(t))
	m := metrics.New()
	m.WatchState(audit.New(pool), metrics.ProjectInventory{Project: "prod", Store: store.New(pool)})
	m.ChangeFinished(change.Applied)
	pool.Close() // the database is gone

	got := scrape(t, m)
	if _, ok := got["vpcep_console_audit_pending_entries"]; ok {
		t.Error("pending entries reported without a database")
	}
	if v := series(t, got, "vpcep_console_changes_total")["outcome=applied"]; v != 1 {
		t.Errorf("changes_total{applied} = %v, want 1", v)
	}
}

// TestOneProjectsUnreadableStateHidesNoOther: a project whose refresh
// state cannot be read leaves the other projects' inventory figures in
// the scrape.
func TestOneProjectsUnreadableStateHidesNoOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	pool := testdb.Pool(t, url)
	gone := testdb.Pool(t, url)
	gone.Close()
	good := store.NewProject(pool, "p-good")
	now := time.Now().UTC()
	if err := good.RecordRefresh(ctx, store.Refresh{Trigger: "startup", StartedAt: now, FinishedAt: now, Succeeded: true, EndpointCount: 7}); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.WatchState(audit.New(pool),
		metrics.ProjectInventory{Project: "broken", Store: store.NewProject(gone, "p-broken")},
		metrics.ProjectInventory{Project: "good", Store: good})
	got := scrape(t, m)
	if v := series(t, got, "vpcep_console_inventory_endpoints")["project=good"]; v != 7 {
		t.Errorf("the good project's endpoints = %v, want 7", v)
	}
}

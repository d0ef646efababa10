package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/app"
	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// scrapeText is the console's /metrics, as its metrics listener serves it.
func scrapeText(t *testing.T, c *app.Console) string {
	t.Helper()
	srv := httptest.NewServer(c.Metrics.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestEveryPartReportsToTheMetrics drives each instrumented part of a
// wired console once and finds its series: the handlers (by route
// template), the upstream client, the applier, the reconciler and the
// state read at scrape time.
func TestEveryPartReportsToTheMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	up := simtest.Start(t, simtest.Options{})
	pool := testdb.Pool(t, testdb.Migrated(t))
	migrator, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrator.Close() })
	cfg := config.Config{ProjectID: project, Region: "cn-north-4", Timeout: 5 * time.Second, RefreshInterval: time.Hour, CookieSecure: true}
	c := app.New(cfg.WithDefaults(), pool, oneProject(cfg, up.Client(t, nil)), migrator, slog.New(slog.NewTextHandler(io.Discard, nil)))

	// A refresh (upstream list), a change (upstream get and put) ...
	if err := c.Refresher.Refresh(ctx, "manual"); err != nil {
		t.Fatal(err)
	}
	gw := up.Gateway(t, 1)
	p := policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:metrics/*"}}}
	res, err := c.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: gw.ID, Policy: p, Reason: "metrics test", Action: audit.ActionUpdate})
	if err != nil || res.Outcome != change.Applied {
		t.Fatalf("Apply = %v, %v", res, err)
	}
	// ... an entry a crash left pending an hour ago, for the reconciler ...
	other := up.Gateway(t, 2)
	e, err := c.Audit.Begin(ctx, audit.Start{Actor: "alice", ProjectID: project, Region: "cn-north-4", EndpointID: other.ID,
		Action: audit.ActionUpdate, Reason: "crashed", PolicyBefore: policy.JSON(up.Live(t, other.ID)), PolicyRequested: policy.JSON(p)})
	if err != nil {
		t.Fatal(err)
	}
	backdate(t, pool, e.ID)
	if n, err := c.Reconciler.Once(ctx); err != nil || n != 1 {
		t.Fatalf("Reconciler.Once = %d, %v", n, err)
	}
	// ... and requests to the handlers, among them ids that must not
	// become labels.
	h := handlers.New(c.Deps)
	for _, path := range []string{"/healthz", "/endpoints/" + gw.ID, "/api/v1/endpoints/" + other.ID, "/no-such-page", "/metrics"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	got := scrapeText(t, c)
	for _, want := range []string{
		`vpcep_console_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"} 1`,
		`vpcep_console_http_request_duration_seconds_count{method="GET",route="/endpoints/:id",status="3xx"} 1`,
		`vpcep_console_http_request_duration_seconds_count{method="GET",route="/api/v1/endpoints/:id",status="4xx"} 1`,
		`vpcep_console_upstream_requests_total{code="",operation="` + vpcep.OpListEndpoints + `",status="200"} 1`,
		`vpcep_console_upstream_requests_total{code="",operation="` + vpcep.OpUpdatePolicy + `",status="200"} 1`,
		`vpcep_console_upstream_requests_total{code="",operation="` + vpcep.OpGetEndpoint + `",status="200"} 3`, // live, read-back, reconciler
		`vpcep_console_changes_total{outcome="applied"} 1`,
		`vpcep_console_reconciler_settlements_total{outcome="failed"} 1`,
		`vpcep_console_audit_pending_entries 0`,
		`vpcep_console_inventory_last_refresh_failed{project="default"} 0`,
		`vpcep_console_inventory_endpoints{project="default"} 36`,
		`vpcep_console_inventory_age_seconds{project="default"} `,
	} {
		if !strings.Contains(got, want+"\n") && !strings.Contains(got, want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	for _, id := range []string{gw.ID, other.ID, "no-such-page"} {
		if strings.Contains(got, id) {
			t.Errorf("/metrics names %s: labels carry route templates, never URLs", id)
		}
	}
	// Unmatched paths share one series however many are asked for.
	if n := strings.Count(got, `vpcep_console_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"} 2`); n != 1 {
		t.Errorf("unmatched paths: %d series with both requests\n%s", n, grepLines(got, "http_request_duration_seconds_count"))
	}
}

// backdate moves a pending entry's start an hour back, as if a crash had
// left it there, past the reconciler's minimum age. The append-only
// trigger refuses this, so it is bypassed for this one statement.
func backdate(t *testing.T, pool *pgxpool.Pool, id int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, sql := range []string{
		`SET session_replication_role = replica`,
		`UPDATE audit_entries SET started_at = started_at - interval '1 hour' WHERE id = ` + strconv.FormatInt(id, 10),
		`RESET session_replication_role`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

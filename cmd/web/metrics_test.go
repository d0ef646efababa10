package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// get answers url's status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsOnTheirOwnListenerOnly(t *testing.T) {
	t.Parallel()
	addr, metricsAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	env := envOf(map[string]string{"DATABASE_URL": testdb.Migrated(t), "METRICS_ADDR": metricsAddr})
	go func() {
		done <- run(ctx, []string{"--demo", "--listen", addr}, env, strings.NewReader(""), io.Discard, io.Discard)
	}()
	base := "http://" + addr
	waitReady(t, base, done)

	// The public listener has no /metrics, signed in or not.
	if status, _ := get(t, base+"/metrics"); status != http.StatusNotFound {
		t.Errorf("public /metrics answered %d, want 404", status)
	}
	get(t, base+"/endpoints/00000000-0000-4000-8000-000000000000")

	status, body := get(t, "http://"+metricsAddr+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("metrics listener answered %d", status)
	}
	for _, want := range []string{
		`vpcep_console_http_request_duration_seconds_bucket{method="GET",route="/readyz",status="2xx",le="0.005"}`,
		`vpcep_console_http_request_duration_seconds_count{method="GET",route="/endpoints/:id",status="3xx"} 1`,
		`vpcep_console_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"} 1`,
		`vpcep_console_changes_total{outcome="applied"} 0`,
		`vpcep_console_reconciler_settlements_total{outcome="unknown"} 0`,
		"vpcep_console_audit_pending_entries 0",
		`vpcep_console_inventory_last_refresh_failed{project="demo-beijing"} 0`,
		`vpcep_console_inventory_endpoints{project="demo-beijing"} 36`,
		`vpcep_console_inventory_endpoints{project="demo-singapore"} 36`,
		`vpcep_console_inventory_age_seconds{project="demo-singapore"} `,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	// Each of the demo's two projects lists its endpoints once to know them
	// before its change made outside the console, and again at start to
	// find it: two to four lists by the time /metrics is read.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`vpcep_console_upstream_requests_total\{code="",operation="list_endpoints",status="200"\} [2-4]\n`),
		regexp.MustCompile(`vpcep_console_upstream_request_duration_seconds_count\{operation="list_endpoints"\} [2-4]\n`),
	} {
		if !want.MatchString(body) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	if strings.Contains(body, "00000000-0000-4000-8000-000000000000") {
		t.Error("an endpoint id became a label")
	}
	if status, _ := get(t, "http://"+metricsAddr+"/endpoints"); status != http.StatusNotFound {
		t.Errorf("the metrics listener serves the console: /endpoints answered %d", status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return 20s after its context ended")
	}
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Error("the metrics listener still answers after serve returned")
	}
}

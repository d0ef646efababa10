package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
	"github.com/vpcep-console/vpcep-console/static"
)

// /readyz is public: it names its checks and their states, and keeps why
// a check failed for the log.
func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	if r := a.get(t, "/healthz"); r.Code != http.StatusOK {
		t.Fatalf("healthz %d", r.Code)
	}
	ready := func() (int, readiness) {
		t.Helper()
		r := a.get(t, "/readyz")
		var body readiness
		if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil {
			t.Fatalf("readyz body %q: %v", r.Body.String(), err)
		}
		return r.Code, body
	}
	check := func(when string, wantCode int, want readiness) {
		t.Helper()
		code, got := ready()
		if code != wantCode {
			t.Errorf("%s: status %d, want %d", when, code, wantCode)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", when, diff)
		}
	}
	check("before the first refresh", http.StatusServiceUnavailable,
		readiness{"unavailable", map[string]string{"database": "ok", "schema": "ok", "inventory": "never_loaded"}})
	a.refresh(t)
	check("after a refresh", http.StatusOK,
		readiness{"ok", map[string]string{"database": "ok", "schema": "ok", "inventory": "fresh"}})
	// A failed refresh right after a success is still ready: the inventory is recent.
	a.sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	_ = a.refresher.Refresh(t.Context(), "manual")
	check("after one failed refresh", http.StatusOK,
		readiness{"ok", map[string]string{"database": "ok", "schema": "ok", "inventory": "stale"}})
}

// readiness is /readyz's body.
type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func TestReadinessRefusesABehindSchema(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Empty(t)), signedOut())
	r := a.get(t, "/readyz")
	var got readiness
	if err := json.Unmarshal(r.Body.Bytes(), &got); err != nil {
		t.Fatalf("%d %s: %v", r.Code, r.Body.String(), err)
	}
	want := readiness{"unavailable", map[string]string{"database": "ok", "schema": "behind", "inventory": "unknown"}}
	if diff := cmp.Diff(want, got); r.Code != http.StatusServiceUnavailable || diff != "" {
		t.Errorf("%d, mismatch (-want +got):\n%s", r.Code, diff)
	}
	// Why is for the log, not for whoever asks.
	if strings.Contains(r.Body.String(), "migrate") || !strings.Contains(a.logs.String(), "schema is behind") {
		t.Errorf("body %s; log:\n%s", r.Body.String(), a.logs.String())
	}
}

func TestStaticAssetsAndHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	r := a.get(t, static.Path("vendor/htmx/htmx.min.js"))
	if r.Code != http.StatusOK || !strings.Contains(r.Header().Get("Cache-Control"), "immutable") || r.Body.Len() < 10000 {
		t.Fatalf("htmx asset: %d %q %d bytes", r.Code, r.Header().Get("Cache-Control"), r.Body.Len())
	}
	for _, path := range []string{"/endpoints", "/no-such-page", "/endpoints?type=bad"} {
		r := a.get(t, path)
		if !strings.Contains(r.Header().Get("Content-Security-Policy"), "default-src 'self'") || r.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s (%d) lacks security headers", path, r.Code)
		}
	}
	if r := a.get(t, "/no-such-page"); r.Code != http.StatusNotFound || r.text(testid("error-heading")) != "Page not found" {
		t.Errorf("404 page: %d %q", r.Code, r.text(testid("error-heading")))
	}
}

package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	if r := a.get(t, "/healthz"); r.Code != http.StatusOK {
		t.Fatalf("healthz %d", r.Code)
	}
	ready := func() (int, map[string]string) {
		r := a.get(t, "/readyz")
		var body struct{ Checks map[string]string }
		if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil {
			t.Fatalf("readyz body %q: %v", r.Body.String(), err)
		}
		return r.Code, body.Checks
	}
	if code, checks := ready(); code != http.StatusServiceUnavailable || checks["inventory"] != "never refreshed successfully" {
		t.Fatalf("before refresh: %d %v", code, checks)
	}
	a.refresh(t)
	if code, checks := ready(); code != http.StatusOK || checks["database"] != "ok" || checks["migrations"] != "ok" {
		t.Fatalf("after refresh: %d %v", code, checks)
	}
	// A failed refresh right after a success is still ready: the inventory is recent.
	a.sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001"})
	_ = a.refresher.Refresh(t.Context(), "manual")
	if code, checks := ready(); code != http.StatusOK {
		t.Fatalf("after one failed refresh: %d %v", code, checks)
	}
}

func TestReadinessRefusesABehindSchema(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Empty(t)), signedOut())
	r := a.get(t, "/readyz")
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), "schema is behind") {
		t.Fatalf("%d %s", r.Code, r.Body.String())
	}
}

func TestStaticAssetsAndHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	r := a.get(t, "/static/vendor/htmx/htmx.min.js?v=1")
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

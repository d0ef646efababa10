package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/static"
)

// TestCacheableAnswersSetNoCookie: what a shared cache may keep (assets,
// the favicon) and the probes carry no cookie, so no cache can hand one
// visitor's pre-sign-in CSRF cookie to another; the sign-in page still
// sets it. Only an asset URL with its own content hash is immutable: a
// stale or made-up version must not be cached for a year.
func TestCacheableAnswersSetNoCookie(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec
	}
	for _, target := range []string{static.Path("vendor/htmx/htmx.min.js"), static.Path("app.css"), "/favicon.ico", "/healthz", "/readyz"} {
		if rec := get(target); rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s sets a cookie: %q", target, rec.Header().Get("Set-Cookie"))
		}
	}
	if rec := get("/login"); !strings.Contains(rec.Header().Get("Set-Cookie"), "csrf") {
		t.Errorf("the sign-in page sets no CSRF cookie: %q", rec.Header().Get("Set-Cookie"))
	}
	for target, immutable := range map[string]bool{
		static.Path("app.css"):           true,
		"/static/app.css?v=000000000000": false,
		"/static/app.css":                false,
	} {
		rec := get(target)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", target, rec.Code)
		}
		if got := strings.Contains(rec.Header().Get("Cache-Control"), "immutable"); got != immutable {
			t.Errorf("%s: Cache-Control %q, immutable should be %v", target, rec.Header().Get("Cache-Control"), immutable)
		}
	}
}

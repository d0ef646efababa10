package handlers_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/static"
)

// TestCSPAllowsPicoIconsOnly: Pico draws select arrows, details markers and
// checkbox ticks as data: images; the CSP allows images from data: and
// nothing else beyond 'self'.
func TestCSPAllowsPicoIconsOnly(t *testing.T) {
	t.Parallel()
	a := newApp(t, signedOut())
	csp := a.get(t, "/login").Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "img-src 'self' data:", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, never := range []string{"unsafe-inline", "unsafe-eval", "script-src", "style-src"} {
		if strings.Contains(csp, never) {
			t.Errorf("CSP %q has %q", csp, never)
		}
	}
}

// gunzipped fetches target with Accept-Encoding: gzip and returns the
// answer and its body, unzipped.
func (a *app) gunzipped(t *testing.T, target string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	rec := a.send(req, nil)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("%s: %d, Content-Encoding %q", target, rec.Code, rec.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return rec, string(body)
}

// TestPagesAndAssetsAreCompressed: pages, assets and the streamed exports
// are gzipped for a client that accepts it; assets with a content hash are
// cached for a year.
func TestPagesAndAssetsAreCompressed(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)
	seedEntries(t, a, 20) // enough that the exports stream more than one flush
	for _, tt := range []struct{ target, contains string }{
		{"/endpoints", "<table"},
		{static.Path("vendor/pico/pico.min.css"), "--pico-"},
		{static.Path("vendor/htmx/htmx.min.js"), "htmx"},
		{static.Path("copy.js"), "clipboard"},
		{"/audit.csv", "started_at"},
		{"/audit.json", `"started_at"`},
	} {
		rec, body := a.gunzipped(t, tt.target)
		if rec.Code != http.StatusOK || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: %d, body lacks %q: %.100s", tt.target, rec.Code, tt.contains, body)
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Vary %q", tt.target, rec.Header().Get("Vary"))
		}
		if strings.HasPrefix(tt.target, "/static/") && !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", tt.target, rec.Header().Get("Cache-Control"))
		}
	}
	// Without Accept-Encoding the answer is plain.
	if r := a.get(t, "/endpoints"); r.Header().Get("Content-Encoding") != "" || !strings.Contains(r.Body.String(), "<table") {
		t.Errorf("plain: Content-Encoding %q", r.Header().Get("Content-Encoding"))
	}
}

// TestFrameOnEveryPage: the favicon is linked and served (also at
// /favicon.ico, which browsers ask for by themselves), the shared script is
// loaded, a skip link leads to the main content, the navigation is labelled
// and a loading indicator is there for htmx requests.
func TestFrameOnEveryPage(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.refresh(t)
	for _, page := range []string{"/endpoints", "/audit", "/account"} {
		r := a.get(t, page)
		if r.Code != http.StatusOK {
			t.Fatalf("%s: %d", page, r.Code)
		}
		checks := map[string]string{
			`link[rel="icon"][href="` + static.Path("favicon.svg") + `"]`: "favicon link",
			`script[src="` + static.Path("copy.js") + `"][defer]`:         "copy.js",
			`a.skip-link[href="#main"]`:                                   "skip link",
			`main#main`:                                                   "main landmark",
			`header nav[aria-label="Main"]`:                               "labelled navigation",
			`.page-loading.htmx-indicator`:                                "loading indicator",
			`#live-status[role="status"][aria-live="polite"]`:             "live region",
		}
		for sel, what := range checks {
			if r.doc.Find(sel).Length() != 1 {
				t.Errorf("%s: no %s (%s)", page, what, sel)
			}
		}
	}
	signedOutApp := newApp(t, signedOut())
	for _, target := range []string{"/favicon.ico", static.Path("favicon.svg")} {
		rec := signedOutApp.send(httptest.NewRequest(http.MethodGet, target, nil), nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(rec.Body.String(), "<svg") {
			t.Errorf("%s: %d %q", target, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}

// TestSignInPageTellsNothingAboutTheProject: before sign-in no project id,
// region or demo badge; after it, all three.
func TestSignInPageTellsNothingAboutTheProject(t *testing.T) {
	t.Parallel()
	a := newApp(t, signedOut())
	r := a.get(t, "/login")
	if strings.Contains(r.Body.String(), projectID) || r.doc.Find(testid("demo-badge")).Length() != 0 {
		t.Errorf("the sign-in page shows the project: %s", r.doc.Find("header").Text())
	}
	a.signIn(t, a.account(t, auth.Viewer))
	if r := a.get(t, "/account"); !strings.Contains(r.doc.Find("header").Text(), projectID) {
		t.Errorf("signed in, the header lacks the project id: %s", r.doc.Find("header").Text())
	}
}

package handlers_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

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

// TestSignOutSaysSo: signing out lands on the sign-in page, which says so.
func TestSignOutSaysSo(t *testing.T) {
	t.Parallel()
	a := newApp(t, signedInAs(auth.Viewer))
	r := a.do(t, http.MethodPost, "/logout", url.Values{}, nil)
	if r.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Code)
	}
	page := a.get(t, r.Header().Get("Location"))
	if page.Code != http.StatusOK || page.text(testid("notice")) != "You are signed out." || page.doc.Find(testid("login")).Length() != 1 {
		t.Errorf("after sign-out: %d %q", page.Code, page.text(testid("notice")))
	}
	if plain := a.get(t, "/login"); plain.doc.Find(testid("notice")).Length() != 0 {
		t.Error("the sign-in page says signed out to someone who was not signed in")
	}
}

// TestSecurityEventsInWordsAndFiltered: events read as sentences, and the
// list filters by kind, account and date, with errors at the filter.
func TestSecurityEventsInWordsAndFiltered(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
	ctx := context.Background()
	for _, e := range []auth.Event{
		{Kind: auth.EventSignInFailed, Actor: "mallory", Subject: "mallory", ClientIP: "192.0.2.7", Detail: "wrong name or password"},
		{Kind: auth.EventRoleChanged, Actor: "root", Subject: "bob", Detail: "to editor"},
		{Kind: auth.EventTokenCreated, Actor: "bob", Subject: "token:3 (ci) for bob"},
	} {
		if err := a.auth.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all := a.get(t, "/security-events")
	failed := all.doc.Find(`[data-kind="` + auth.EventSignInFailed + `"]`)
	if got := strings.TrimSpace(failed.Find(testid("event-kind")).Text()); got != "Sign-in failed" {
		t.Errorf("sign_in_failed reads %q", got)
	}
	if strings.Contains(all.doc.Find(testid("event-table")+" tbody").Text(), "_") {
		t.Errorf("a raw code is shown: %s", all.doc.Find(testid("event-table")+" tbody").Text())
	}
	if all.doc.Find(testid("event-row")+" time[datetime]").Length() == 0 {
		t.Error("times are not <time datetime>")
	}
	today := time.Now().UTC().Format("2006-01-02")
	for _, tt := range []struct {
		query string
		want  []string // kinds shown
	}{
		{"kind=" + auth.EventRoleChanged, []string{auth.EventRoleChanged}},
		{"account=BOB", []string{auth.EventRoleChanged, auth.EventTokenCreated}},
		{"account=mallory&kind=" + auth.EventSignInFailed, []string{auth.EventSignInFailed}},
		{"from=" + today + "&to=" + today + "&account=bob", []string{auth.EventRoleChanged, auth.EventTokenCreated}},
		{"from=2000-01-01&to=2000-01-02", nil},
		// Part of a name, in any case, in the actor or the subject.
		{"account=MALL", []string{auth.EventSignInFailed}},
		{"account=ro", []string{auth.EventRoleChanged}},
		// A time, as on the audit page, and a bare "to" date takes in its day.
		{"from=" + today + "+00:00&account=bob", []string{auth.EventRoleChanged, auth.EventTokenCreated}},
		{"to=" + today + "&kind=" + auth.EventSignInFailed, []string{auth.EventSignInFailed}},
	} {
		r := a.get(t, "/security-events?"+tt.query)
		var got []string
		r.doc.Find(testid("event-row")).Each(func(_ int, s *goquery.Selection) { got = append(got, s.AttrOr("data-kind", "")) })
		slices.Sort(got)
		if r.Code != http.StatusOK || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %d %v, want %v", tt.query, r.Code, got, tt.want)
		}
	}
	for query, control := range map[string]string{"from=yesterday": "events-from", "to=2026-02-01T10:00&from=2026-02-01+10:00": "events-to", "to=2026-13-01": "events-to", "kind=nonsense": "events-kind", "from=2026-02-02&to=2026-02-01": "events-to"} {
		r := a.get(t, "/security-events?"+query)
		c := r.doc.Find(testid(control))
		if r.Code != http.StatusUnprocessableEntity || r.text(testid("filter-error")) == "" || c.AttrOr("aria-invalid", "") != "true" ||
			r.doc.Find(testid("event-table")).Length() != 1 {
			t.Errorf("%s: %d %q, %s aria-invalid %q", query, r.Code, r.text(testid("filter-error")), control, c.AttrOr("aria-invalid", ""))
		}
	}
}

// TestEndpointPageIsReadableByKeyboard: the JSON boxes scroll by keyboard
// and are named, the id has a copy button, times are <time datetime>.
func TestEndpointPageIsReadableByKeyboard(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	r := a.get(t, "/endpoints/"+ep.ID)
	if r.Code != http.StatusOK {
		t.Fatalf("%d", r.Code)
	}
	boxes := r.doc.Find("pre")
	if boxes.Length() < 2 {
		t.Fatalf("%d JSON boxes", boxes.Length())
	}
	boxes.Each(func(_ int, box *goquery.Selection) {
		if box.AttrOr("tabindex", "") != "0" || box.AttrOr("aria-label", "") == "" {
			t.Errorf("JSON box %s: tabindex %q aria-label %q", box.AttrOr("data-testid", ""), box.AttrOr("tabindex", ""), box.AttrOr("aria-label", ""))
		}
	})
	if r.doc.Find(`button.copy[data-copy="`+ep.ID+`"]`).Length() == 0 {
		t.Error("no copy button for the endpoint id")
	}
	if r.doc.Find(testid("endpoint-facts")+" time[datetime]").Length() != 2 {
		t.Error("Created and Updated are not <time datetime>")
	}
	if r.doc.Find("th:empty").Length() != 0 {
		t.Error("an empty table header")
	}
}

// TestFormErrorsAtTheirField: a refused form marks the field at fault
// (aria-invalid="true", described by the error, focused by copy.js) and
// keeps what was typed.
func TestFormErrorsAtTheirField(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
	for _, tt := range []struct {
		target  string
		form    url.Values
		control string
	}{
		{"/admin/accounts", url.Values{"name": {"Bad Name"}, "role": {"viewer"}, "password": {"a long enough password"}}, "add-account-name"},
		{"/admin/accounts", url.Values{"name": {"shorty"}, "role": {"viewer"}, "password": {"short"}}, "add-account-password"},
		{"/admin/accounts", url.Values{"name": {"rooted"}, "role": {"root"}, "password": {"a long enough password"}}, "add-account-role"},
		{"/account/tokens", url.Values{"name": {""}, "expires_days": {"30"}}, "token-name"},
		{"/account/tokens", url.Values{"name": {"ci"}, "expires_days": {"9999"}}, "token-expires"},
	} {
		r := a.do(t, http.MethodPost, tt.target, tt.form, nil)
		c := r.doc.Find(testid(tt.control))
		if r.Code != http.StatusUnprocessableEntity || c.AttrOr("aria-invalid", "") != "true" || c.AttrOr("data-first-error", "no") == "no" {
			t.Errorf("%s %v: %d, %s aria-invalid %q", tt.target, tt.form, r.Code, tt.control, c.AttrOr("aria-invalid", ""))
		}
		if id := c.AttrOr("aria-describedby", ""); id == "" || r.doc.Find("#"+id).Text() == "" {
			t.Errorf("%s: %s is not described by its error", tt.target, tt.control)
		}
		if r.doc.Find("[data-first-error]").Length() != 1 {
			t.Errorf("%s: %d controls marked first error", tt.target, r.doc.Find("[data-first-error]").Length())
		}
	}
	if r := a.do(t, http.MethodPost, "/account/tokens", url.Values{"name": {"ci"}, "expires_days": {"9999"}}, nil); r.doc.Find(testid("token-name")).AttrOr("value", "") != "ci" {
		t.Error("the token name typed was not kept")
	}
}

// TestSecurityEventDateInputsAreUTCText: the date inputs are text with the
// format shown, not the browser's date picker in its local format.
func TestSecurityEventDateInputsAreUTCText(t *testing.T) {
	t.Parallel()
	a := newApp(t, signedInAs(auth.Admin))
	r := a.get(t, "/security-events")
	for _, id := range []string{"events-from", "events-to"} {
		in := r.doc.Find(testid(id))
		if in.AttrOr("type", "") != "text" || !strings.Contains(in.AttrOr("placeholder", ""), "2026-11-27") {
			t.Errorf("%s: type %q placeholder %q", id, in.AttrOr("type", ""), in.AttrOr("placeholder", ""))
		}
	}
}

package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The page checks themselves: a clean page passes them all, and each kind
// of defect on a page made to have it is caught. This keeps the page walk
// honest in both directions: its failures are the product's, and a green
// walk means something.
func TestPageChecksTellGoodPagesFromBad(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	page := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			w.Write([]byte(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Check</title>
<link rel="icon" href="/favicon.svg"><link rel="stylesheet" href="/site.css"></head>
<body><header><nav aria-label="Main"><a href="/good">Home</a></nav></header><main><h1>A page</h1>` + body + `</main></body></html>`))
		}
	}
	asset := func(contentType, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write([]byte(body))
		}
	}
	mux.HandleFunc("/good", page(http.StatusOK, `<p>Readable text.</p><label>Pick <select><option>one</option></select></label>`))
	mux.HandleFunc("/bad", page(http.StatusOK, `<p class="faint">Faint text.</p><div class="wide">Wide.</div>
<div class="box"><pre>`+strings.Repeat("wide-content ", 6)+`</pre></div>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt=""><script src="/bad.js"></script>`))
	mux.HandleFunc("/favicon.svg", asset("image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`))
	mux.HandleFunc("/site.css", asset("text/css", `.faint { color: #ccc } .wide { width: 900px } .box { overflow: auto }`))
	mux.HandleFunc("/bad.js", asset("text/javascript", `console.error("boom"); throw new Error("uncaught");`))
	for _, path := range []string{"/expected-404", "/unexpected-404"} {
		mux.HandleFunc(path, page(http.StatusNotFound, `<p>Not here.</p>`))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx := browser(t)
	visit := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(`h1, body`)); err != nil {
			t.Fatal(err)
		}
	}

	visit("/good")
	found, err := inspect(t, ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("a clean page has findings:\n%s", strings.Join(found, "\n"))
	}

	visit("/bad")
	found, err = inspect(t, ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(found, "\n")
	for _, want := range []string{
		"color-contrast (serious)",                 // axe-core
		"at a 390 px wide screen the page is",      // phone width
		"div.wide",                                 // ... naming what sticks out
		"axe-core (phone layout)",                  // the layout rules at phone width
		"scrollable-region-focusable",              // ... find the box that scrolls there
		"csp: img-src blocked data",                // securitypolicyviolation
		"log (security): Loading the image 'data:", // Chromium's own CSP log
		"console: boom",                            // console.error
		"exception: Uncaught Error: uncaught",      // uncaught exception
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the bad page's findings miss %q:\n%s", want, all)
		}
	}

	// An error status the test asked for is not a problem; any other is.
	consoleOf(ctx).expectErrorPage(srv.URL + "/expected-404")
	visit("/expected-404")
	if found, err := inspect(t, ctx, false); err != nil || len(found) > 0 {
		t.Errorf("an expected 404 page has findings: %v\n%s", err, strings.Join(found, "\n"))
	}
	visit("/unexpected-404")
	found, err = inspect(t, ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(found, "\n"); !strings.Contains(all, "Failed to load resource: the server responded with a status of 404") {
		t.Errorf("an unexpected 404 page is not reported:\n%s", all)
	}
}

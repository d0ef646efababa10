package oidctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// cspReporter turns every Content Security Policy violation into a console
// error the test sees (the DevTools protocol adds it to each document, so
// the page's own CSP does not block it).
const cspReporter = `addEventListener('securitypolicyviolation', function (e) {
  console.error('csp: ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)'));
}, true);`

// TestLoginInBrowser signs in through the login form in headless Chromium:
// no CSP violation or script error, no axe-core violation on the form and
// its error state, and the browser lands on the client with a code.
func TestLoginInBrowser(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		t.Fatal("no Chromium for the browser test: install it (Debian: apt-get install chromium) or set CHROMIUM to its path")
	}
	axe, err := os.ReadFile(filepath.Join(repoRoot(), "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core for the accessibility check: %v (run `npm ci` at the repository root; `make test` does)", err)
	}

	client := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html lang="en"><title>client</title><h1 data-testid="client">back at the client</h1></html>`)
	}))
	defer client.Close()
	p, _ := start(t, oidctest.Options{RedirectURLs: []string{client.URL + "/cb"}})
	conf := oauthConfig(t, p, oauth2.AuthStyleInHeader)
	conf.RedirectURL = client.URL + "/cb"
	authURL := conf.AuthCodeURL("browser-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true))...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute) // a hung page fails the test
	defer cancelTimeout()

	var mu sync.Mutex
	var problems []string
	// Deferred, so the problems show also when a step fails (a blocked
	// form post leaves the browser waiting).
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser: %s", p)
		}
	}()
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The 401 of a wrong password is logged as a failed resource;
			// that status is the point, not a problem.
			if m.IsException() || m.Type == chromedp.ConsoleError && !strings.Contains(m.Text, "status of 401") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	if err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}

	checkAxe := func(state string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](string(axe)+"\n;undefined")); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
		violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]json.RawMessage](
			`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.html)})))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe-core: %v", err)
		}
		for _, v := range violations {
			t.Errorf("axe-core, %s: %s", state, v)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(`[data-testid="login-username"]`),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe("the form")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="login-username"]`, "alice"),
		chromedp.SendKeys(`[data-testid="login-password"]`, "not-her-password"),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="login-error"]`),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe("a wrong password")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="login-password"]`, "alice-pw-7Qx"),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="client"]`),
	); err != nil {
		t.Fatal(err)
	}
	landed, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(landed)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/cb" || u.Query().Get("code") == "" || u.Query().Get("state") != "browser-state" {
		t.Errorf("landed on %s, want the client's /cb with a code and the state", u.Redacted())
	}
}

// chromiumPath is the Chromium to drive: $CHROMIUM, or one on the PATH.
func chromiumPath() string {
	if path := os.Getenv("CHROMIUM"); path != "" {
		return path
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// repoRoot is the directory of go.mod, found upwards from the test's.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

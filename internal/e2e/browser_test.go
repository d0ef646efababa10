// Package e2e drives the console in headless Chromium, as an admin would:
// filtering, paging, refreshing and opening an endpoint.
package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// Every console has a database of its own; TestMain finds the server once.
// One Chromium serves every browser test (see browser); it stops here.
func TestMain(m *testing.M) {
	code := testdb.Main(m, nil)
	if chromium.stop != nil {
		chromium.stop()
	}
	os.Exit(code)
}

// chromium is the one headless Chromium of the package's tests, started by
// the first test that needs it. Each test has a browser context of its own
// in it (cookies, storage and cache apart, like a fresh profile) in a tab of
// its own, so tests stay independent and run in parallel, and the package
// starts one browser instead of one per test.
var chromium struct {
	once sync.Once
	ctx  context.Context
	stop func()
	err  error
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

func startChromium(path string) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	chromium.ctx, chromium.stop = ctx, func() { cancelCtx(); cancelAlloc() }
	// The first run starts the browser, which lives as long as ctx: no deadline here.
	chromium.err = chromedp.Do(ctx)
}

// browser opens a tab of the package's headless Chromium in a browser
// context of its own, or fails the test saying what to install.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Fatal("no Chromium for the browser tests: install it (Debian: apt-get install chromium) or set CHROMIUM to its path")
	}
	chromium.once.Do(func() { startChromium(path) })
	if chromium.err != nil {
		t.Fatalf("start Chromium (%s): %v", path, chromium.err)
	}
	ctx, cancelTab := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	// A bound on the whole test, generous for a loaded machine: a hung
	// page fails the test instead of the package's 10-minute timeout.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab() })
	// Every browser test fails on any console error, exception or CSP
	// violation; this cleanup runs before the tab closes (cleanups run
	// last first).
	w := watchConsole(t, ctx)
	t.Cleanup(func() {
		if ctx.Err() == nil {
			w.failOnProblems(t, ctx, "during the test")
		}
	})
	return context.WithValue(ctx, consoleWatchKey{}, w)
}

type consoleWatchKey struct{}

// consoleOf is the problem watch browser started for ctx's tab.
func consoleOf(ctx context.Context) *consoleWatch {
	return ctx.Value(consoleWatchKey{}).(*consoleWatch)
}

// The browser tests sign in as this admin.
const (
	adminName     = "admin"
	adminPassword = "browser-test-password"
)

// signIn signs in through the sign-in page, as a person does.
func signIn(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`[data-testid="login-name"]`),
		chromedp.SendKeys(`[data-testid="login-name"]`, adminName),
		chromedp.SendKeys(`[data-testid="login-password"]`, adminPassword),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="nav-account"]`),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

// console serves the whole console over real HTTP against the simulator.
func console(t *testing.T) (string, *simtest.Upstream) {
	t.Helper()
	c := testapp.New(t, testapp.Options{Deps: func(d *handlers.Deps) {
		d.CookieSecure = false // plain http, as the local demo
		d.Demo, d.PerPage = true, 10
	}})
	if err := c.Refresher.Refresh(context.Background(), inventory.TriggerStartup); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.CreateAccount(context.Background(), adminName, adminPassword, auth.Admin); err != nil && !errors.Is(err, auth.ErrNameTaken) {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler)
	t.Cleanup(srv.Close)
	return srv.URL, c.Sim
}

func rowCount(ctx context.Context) (int, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="endpoint-row"]').length`))
}

// waitRows waits until the table shows want rows (htmx swaps asynchronously).
func waitRows(t *testing.T, ctx context.Context, want int, check func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rowCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		url, _ := chromedp.Run(ctx, chromedp.Location())
		if n == want && (check == nil || check(url)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("table shows %d rows at %s, want %d", n, url, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrowseFilterPageAndOpenAnEndpoint(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)

	gateways, sfs := 0, 0
	for _, ep := range sim.Endpoints() {
		if ep.Service.Type == "gateway" {
			gateways++
			if strings.Contains(ep.Service.Name, "sfsturbo") {
				sfs++
			}
		}
	}

	// The first page of ten, with a pager.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, 10, func(u string) bool { return strings.HasSuffix(u, "/endpoints") })

	// Choosing a type swaps the results in place and puts the filter in the address.
	if err := chromedp.Do(ctx, chromedp.SetValue(`[data-testid="filter-type"]`, "gateway"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="filter-type"]').dispatchEvent(new Event('change', {bubbles: true}))`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, min(gateways, 10), func(u string) bool { return strings.Contains(u, "type=gateway") })

	// Typing a search narrows further.
	if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid="filter-q"]`, "sfsturbo")); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, sfs, func(u string) bool { return strings.Contains(u, "q=sfsturbo") && strings.Contains(u, "type=gateway") })

	// The filtered URL is a link one can share: loading it afresh shows the same view.
	shared, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(shared), chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, sfs, nil)

	// Refresh keeps the filters and says how fresh the list is.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="refresh"]`),
		chromedp.Sleep(300*time.Millisecond),
		chromedp.WaitVisible(`[data-testid="freshness"]`)); err != nil {
		t.Fatal(err)
	}
	freshness, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="freshness"]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(freshness, "endpoints, refreshed") {
		t.Errorf("freshness after refresh: %q", freshness)
	}
	waitRows(t, ctx, sfs, nil)

	// Open the first endpoint: its policy is read live and shown as a table.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="endpoint-link"]`),
		chromedp.WaitVisible(`[data-testid="policy-table"]`)); err != nil {
		t.Fatal(err)
	}
	service, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="endpoint-service"]`))
	if err != nil {
		t.Fatal(err)
	}
	statements, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="policy-statement"]').length`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(service, "sfsturbo") || statements == 0 {
		t.Errorf("endpoint page: service %q, %d statements", service, statements)
	}

	// Back to the list, then page forward with htmx.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints"), chromedp.WaitVisible(`[data-testid="next-page"]`),
		chromedp.Click(`[data-testid="next-page"]`)); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, 10, func(u string) bool { return strings.Contains(u, "page=2") })
	info, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="page-info"]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info, "Page 2 of 4") {
		t.Errorf("page info %q", info)
	}
}

func TestUpstreamErrorPageInTheBrowser(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	// Every attempt fails: the client retries a read that got a 5xx.
	sim.FailRoute(vpcepsim.RouteGet, vpcepsim.Fault{Status: 503, Code: "EndPoint.0001", Message: "System error. Please retry."})
	page := base + "/endpoints/" + sim.Endpoints()[0].ID
	consoleOf(ctx).expectErrorPage(page) // the console answers 502: the upstream failed
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(`[data-testid="upstream-error"]`)); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="error-heading"]`))
	if err != nil {
		t.Fatal(err)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="upstream-code"]`))
	if err != nil {
		t.Fatal(err)
	}
	if heading != "The VPCEP API failed" || code != "EndPoint.0001" {
		t.Errorf("error page: %q %q", heading, code)
	}
}

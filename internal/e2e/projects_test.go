package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestProjectSwitcherInTheBrowser: a console serving two projects in two
// regions opens on the first; the switcher (with each project's inventory
// state) takes the admin to the other, whose list and endpoint pages stay
// under its prefix; the audit log shows both, filtered to one by its
// project select. Every state passes the page checks.
func TestProjectSwitcherInTheBrowser(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c := testapp.New(t, testapp.Options{
		Projects: []testapp.ProjectOptions{
			{Name: "alpha", Region: "cn-north-4", Endpoints: vpcepsim.DemoEndpoints(1, now)},
			{Name: "beta", Region: "ap-southeast-1", Endpoints: vpcepsim.RegionDemoEndpoints("ap-southeast-1", 2, now)},
		},
		Deps: func(d *handlers.Deps) { d.CookieSecure, d.Demo, d.PerPage = false, true, 10 },
	})
	for _, p := range c.Projects {
		if err := p.Refresher.Refresh(context.Background(), inventory.TriggerStartup); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Auth.CreateAccount(context.Background(), adminName, adminPassword, auth.Admin); err != nil && !errors.Is(err, auth.ErrNameTaken) {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler)
	t.Cleanup(srv.Close)
	base := srv.URL

	ctx := browser(t)
	if err := preloadAxe(ctx); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecks{t: t, ctx: ctx}
	signIn(t, ctx, base)

	location := func() string {
		t.Helper()
		u, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, base)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	if got := location(); got != "/p/alpha/endpoints" {
		t.Errorf("the console opens on %s, want the first project's list", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="project-switcher"] summary`),
		chromedp.WaitVisible(`[data-testid="project-tab"][data-project="beta"]`)); err != nil {
		t.Fatal(err)
	}
	pc.check("endpoints, switcher open", false)
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="project-tab"][data-project="beta"]`),
		chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	if got := location(); got != "/p/beta/endpoints" {
		t.Fatalf("after switching: %s", got)
	}
	region, err := chromedp.Run(ctx, chromedp.Text(`header [title="Region"]`))
	if err != nil || region != "ap-southeast-1" {
		t.Errorf("beta's region badge: %q %v", region, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="endpoint-link"]`), chromedp.WaitVisible(`h1`)); err != nil {
		t.Fatal(err)
	}
	if got := location(); !strings.HasPrefix(got, "/p/beta/endpoints/") {
		t.Errorf("an endpoint of beta opens at %s", got)
	}
	pc.check("endpoint in the second project", false)

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(`[data-testid="audit-project"]`),
		chromedp.SetValue(`[data-testid="audit-project"]`, "beta"),
		chromedp.Submit(`[data-testid="audit-filters"]`), chromedp.WaitVisible(`[data-testid="audit-filters"]`)); err != nil {
		t.Fatal(err)
	}
	if got := location(); !strings.Contains(got, "project=beta") {
		t.Errorf("filtering the audit log on beta: %s", got)
	}
	pc.check("audit log of one project", false)
}

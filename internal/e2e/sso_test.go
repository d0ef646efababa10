package e2e

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/oidctest"
	"github.com/vpcep-console/vpcep-console/internal/sso"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestSingleSignOnInTheBrowser: the whole sign-in as a person does it.
// The console's sign-in page offers the provider; its login form (a real
// OpenID Connect provider in the test) takes a name and password; back at
// the console the person is signed in with the role their group gives,
// on the page they first asked for. A wrong password stays at the
// provider; signing out and back needs the provider again. The console's
// pages pass the page checks.
func TestSingleSignOnInTheBrowser(t *testing.T) {
	t.Parallel()
	var console http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { console.ServeHTTP(w, r) }))
	base := "http://" + srv.Listener.Addr().String()
	idp := oidctest.Start(t, oidctest.Options{
		RedirectURLs: []string{base + "/login/sso/callback"},
		Users: []oidctest.User{{Subject: "sub-frank-6", Username: "frank", Password: "franks-password-1", Name: "Frank Netops",
			Email: "frank@example.com", Groups: []string{"network-engineers"}}},
	})
	mapping, err := sso.ParseMapping("network-engineers=editor")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testdb.Migrated(t)
	pool := testdb.Pool(t, dbURL)
	c := testapp.New(t, testapp.Options{DBURL: dbURL, Deps: func(d *handlers.Deps) {
		d.CookieSecure, d.Demo, d.PerPage = false, true, 10
		d.SSO = sso.New(sso.Config{Name: "Acme SSO", Issuer: idp.Issuer(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(),
			RedirectURL: base + "/login/sso/callback", Scopes: []string{"openid", "profile", "email"}, GroupsClaim: "groups",
			Mapping: mapping}, pool, slog.New(slog.DiscardHandler))
	}})
	console = c.Handler
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := browser(t)
	if err := preloadAxe(ctx); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecks{t: t, ctx: ctx}
	watch := consoleOf(ctx)

	// Asked for the audit log signed out: the sign-in page, with the provider.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(`[data-testid="sso-sign-in"]`)); err != nil {
		t.Fatal(err)
	}
	pc.check("sign-in with single sign-on", false)
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="sso-sign-in"]`), chromedp.WaitVisible(`[data-testid="login-username"]`)); err != nil {
		t.Fatal(err)
	}
	// A wrong password stays at the provider, which says so (its form
	// comes back 401: the status telling the truth).
	watch.expectErrorPage(idp.URL() + "/login")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="login-username"]`, "frank"),
		chromedp.SendKeys(`[data-testid="login-password"]`, "not his password"),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="login-username"]`)); err != nil {
		t.Fatal(err)
	}
	if u, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(u, idp.URL()) {
		t.Fatalf("after a wrong password the browser is at %s", u)
	}
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="login-password"]').value = ''`),
		chromedp.SendKeys(`[data-testid="login-password"]`, "franks-password-1"),
		chromedp.Click(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="nav-account"]`)); err != nil {
		t.Fatal(err)
	}
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || strings.TrimPrefix(u, base) != "/audit" {
		t.Errorf("back at the console on %s, want the page first asked for (/audit)", u)
	}
	role, err := chromedp.Run(ctx, chromedp.Text(`header nav small`))
	if err != nil || !strings.Contains(role, "editor") {
		t.Errorf("signed in with role %q %v", role, err)
	}
	pc.check("signed in by single sign-on", false)

	// Signed out, the console asks again (the provider's session is its own).
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="sign-out"]`), chromedp.WaitVisible(`[data-testid="sso-sign-in"]`)); err != nil {
		t.Fatal(err)
	}
}

package e2e

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// driftConsole is console, with the wired console itself: the test runs
// the inventory refreshes that nothing runs in the background here.
func driftConsole(t *testing.T) (string, *testapp.Console) {
	t.Helper()
	c := testapp.New(t, testapp.Options{Deps: func(d *handlers.Deps) {
		d.CookieSecure = false
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
	return srv.URL, c
}

// TestDriftAdoptAndRevertInTheBrowser: a policy changed outside the console
// shows as a badge in the list (found with "Drifted only") and as a banner
// on the endpoint; Adopt with a reason clears it. A second change outside
// the console is reverted with a reason: the live policy is the known one
// again. Every state passes the page checks (axe-core, phone width,
// console errors and CSP).
func TestDriftAdoptAndRevertInTheBrowser(t *testing.T) {
	t.Parallel()
	base, c := driftConsole(t)
	sim := c.Sim
	ctx := browser(t)
	if err := preloadAxe(ctx); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecks{t: t, ctx: ctx}
	defer pc.writeReport()
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)

	outOfBand := func(action string) {
		t.Helper()
		live, _ := sim.Endpoint(ep.ID)
		live.Statements = append(live.Statements, vpcepsim.Statement{
			Effect: "Allow", Action: []string{action}, Resource: []string{"obs:*:*:object:outside/*"},
		})
		sim.PutEndpoint(live)
		if err := c.Refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			t.Fatal(err)
		}
	}
	outOfBand("obs:object:DeleteObject")
	adopted := sim.Live(t, ep.ID)

	// The list: "Drifted only" finds it, with its badge in words.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints"),
		chromedp.WaitVisible(`[data-testid="endpoint-table"]`),
		chromedp.Click(`[data-testid="filter-drifted"]`),
	); err != nil {
		t.Fatal(err)
	}
	waitRows(t, ctx, 1, func(u string) bool { return strings.Contains(u, "drifted=true") })
	waitText(t, ctx, `[data-testid="drift-badge"]`, "Drifted")
	pc.check("endpoints, drifted only", false)
	shot(t, ctx, "1-drifted-list")

	// The endpoint: the banner first, with the diff and who (not known: no CTS).
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="endpoint-link"]`),
		chromedp.WaitVisible(`[data-testid="drift-banner"]`),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="drift-banner"] h2`, "This policy was changed outside the console")
	waitText(t, ctx, `[data-testid="drift-diff"]`, "obs:object:DeleteObject")
	waitText(t, ctx, `[data-testid="drift-who"]`, "not known")
	pc.check("endpoint changed outside the console", false)
	shot(t, ctx, "2-banner")

	// Adopt with no reason: the browser's own check is off for this one
	// submission, so the server's error at the field shows (422).
	adoptURL := eval[string](t, ctx, `document.querySelector('[data-testid="adopt-form"]').action`)
	consoleOf(ctx).expectErrorPage(adoptURL)
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="adopt-form"]').noValidate = true`),
		chromedp.Click(`[data-testid="adopt"]`),
		chromedp.WaitVisible(`[data-testid="adopt-error-reason"]`),
	); err != nil {
		t.Fatal(err)
	}
	pc.check("adopt without a reason", false)

	// Adopt with a reason: the notice, no banner, no badge.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="adopt-reason"]`, "CHG-12: DeleteObject was approved"),
		chromedp.Click(`[data-testid="adopt"]`),
		chromedp.WaitVisible(`[data-testid="notice"]`),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="notice"]`, "Adopted")
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="drift-banner"]').length`); n != 0 {
		t.Fatal("the banner is still shown after the adopt")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints?drifted=true"), chromedp.WaitVisible(`[data-testid="empty"]`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints?q="+ep.ID), chromedp.WaitVisible(`[data-testid="endpoint-table"]`)); err != nil {
		t.Fatal(err)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="drift-badge"]').length`); n != 0 {
		t.Fatal("the badge is still shown after the adopt")
	}

	// A second change outside the console, reverted with a reason.
	outOfBand("obs:bucket:DeleteBucket")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID),
		chromedp.WaitVisible(`[data-testid="drift-banner"]`),
		chromedp.SendKeys(`[data-testid="revert-reason"]`, "SEC-4: nobody approved DeleteBucket"),
		chromedp.Click(`[data-testid="revert"]`),
		chromedp.WaitVisible(`[data-testid="confirm-rollback"]`),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `h1`, "Revert")
	waitText(t, ctx, `input[data-testid="reason"]`, "SEC-4")
	pc.check("revert confirm", false)
	shot(t, ctx, "3-revert-confirm")
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="confirm-rollback"]`), chromedp.WaitVisible(`[data-testid="entry-outcome"]`)); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, `[data-testid="entry-outcome"]`, "succeeded")
	pc.check("reverted", false)
	live := sim.Live(t, ep.ID)
	if !policy.Equal(live, adopted) {
		t.Fatalf("after the revert the live policy is\n%s\nwant the known one\n%s", policy.Pretty(live), policy.Pretty(adopted))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/endpoints/"+ep.ID), chromedp.WaitVisible(`[data-testid="policy-table"]`)); err != nil {
		t.Fatal(err)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="drift-banner"]').length`); n != 0 {
		t.Fatal("the banner is still shown after the revert")
	}
}

// In the editor, the drift banner's Adopt and Revert leave the page: once
// the admin has typed in the editor, the browser asks first, and staying
// keeps what was typed.
func TestDriftBannerInTheEditorAsksBeforeLeaving(t *testing.T) {
	t.Parallel()
	base, c := driftConsole(t)
	sim := c.Sim
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	live, _ := sim.Endpoint(ep.ID)
	live.Statements = append(live.Statements, vpcepsim.Statement{
		Effect: "Allow", Action: []string{"obs:object:DeleteObject"}, Resource: []string{"obs:*:*:object:outside/*"},
	})
	sim.PutEndpoint(live)
	if err := c.Refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
		t.Fatal(err)
	}

	// Stay: dismiss the question (in another goroutine, as Listen asks).
	stay := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		return chromedp.Void{}, err
	}
	dialogs := make(chan string, 4)
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs <- d.Message
			go func() { _, _ = chromedp.Run(ctx, chromedp.Action[chromedp.Void](stay)) }()
		}
	}); err != nil {
		t.Fatal(err)
	}
	editor := base + "/endpoints/" + ep.ID + "/policy/edit"
	const typed = "ops: keep reads"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(editor),
		chromedp.WaitVisible(`#policy-editor`),
		chromedp.WaitVisible(`[data-testid="drift-banner"]`),
		chromedp.SendKeys(`#policy-json`, " "),
		chromedp.SendKeys(`[data-testid="revert-reason"]`, typed),
		chromedp.Click(`[data-testid="revert"]`),
	); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-dialogs:
		if !strings.Contains(msg, "What you typed here is not applied") {
			t.Errorf("dialog %q", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no question before leaving the editor with typed changes")
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	reason, err := chromedp.Run(ctx, chromedp.Value(`[data-testid="revert-reason"]`))
	if err != nil {
		t.Fatal(err)
	}
	if url != editor || reason != typed {
		t.Fatalf("after staying: at %s, reason %q", url, reason)
	}
}

package e2e

import (
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestEveryPageState walks every page state a person sees, from the sign-in
// page to an error page, and checks each one: no console error, exception
// or CSP violation; no axe-core violation; nothing wider than a 390 px
// phone. It saves a screenshot of each main page. Each state is a subtest,
// so a failure names the state; the whole list is also written to
// page-checks.md among the test's artifacts.
func TestEveryPageState(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	watch := consoleOf(ctx)
	if err := preloadAxe(ctx); err != nil {
		t.Fatal(err)
	}
	pc := &pageChecks{t: t, ctx: ctx}
	defer pc.writeReport()

	// do runs steps of the walk; a failed step ends the walk (what follows
	// depends on it), a failed check does not.
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// fill and press work through the page's own DOM, not chromedp's node
	// ids, which a re-rendered page invalidates between finding a node and
	// using it. The walk checks pages, not typing: the editor's own tests
	// type key by key.
	fill := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector(` + strconv.Quote(sel) + `);
			if (!el) throw new Error('no ' + ` + strconv.Quote(sel) + `); el.value = ` + strconv.Quote(value) + `; })()`)
	}
	press := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector(` + strconv.Quote(sel) + `);
			if (!el) throw new Error('no ' + ` + strconv.Quote(sel) + `); el.click(); })()`)
	}
	visit := func(path, waitFor string) {
		t.Helper()
		do("open "+path, chromedp.Navigate(base+path), chromedp.WaitVisible(waitFor))
	}

	// Signing in: the empty form, then a wrong password (401).
	visit("/login", `[data-testid="login"]`)
	pc.check("sign-in", false)
	watch.expectErrorPage(base + "/login")
	do("sign in wrongly",
		fill(`[data-testid="login-name"]`, adminName),
		fill(`[data-testid="login-password"]`, "not-the-password"),
		press(`[data-testid="login-submit"]`),
		chromedp.WaitVisible(`[data-testid="login-error"]`))
	pc.check("sign-in with an error", false)
	signIn(t, ctx, base)

	// The endpoint list: plain, filtered, with nothing to show, on a phone.
	visit("/endpoints", `[data-testid="endpoint-table"]`)
	pc.check("endpoints", false)
	pc.screenshot("endpoints", true)
	visit("/endpoints?type=gateway", `[data-testid="endpoint-table"]`)
	pc.check("endpoints filtered", false)
	visit("/endpoints?q=no-such-endpoint", `[data-testid="empty"]`)
	pc.check("endpoints with no match", false)
	do("phone layout", chromedp.EmulateViewport(phoneWidth, phoneHeight))
	visit("/endpoints", `[data-testid="endpoint-table"]`)
	pc.screenshot("endpoints-phone", false)
	do("desktop layout", desktopLayout())
	pc.check("endpoints on a phone", true)
	visit("/endpoints?page=2", `[data-testid="page-info"]`)
	pc.check("endpoints, second page", false)
	watch.expectErrorPage(base + "/endpoints?type=router")
	visit("/endpoints?type=router", `[data-testid="filter-error"]`)
	pc.check("endpoints with a filter error", true)

	// One gateway whose policy allows everything, so any change to it
	// previews with a warning to acknowledge.
	ep := allowsEverything(t, sim)
	endpoint := "/endpoints/" + ep.ID
	visit(endpoint, `[data-testid="policy-table"]`)
	pc.check("endpoint", false)
	pc.screenshot("endpoint", false)

	// The editor: clean, then sent to Preview with no reason (422).
	do("open the editor", press(`[data-testid="edit-policy"]`), chromedp.WaitVisible(`[data-testid="structured-editor"]`))
	pc.check("editor", false)
	pc.screenshot("editor", true)
	// The raw JSON broken: the form says where, and which view Preview uses.
	do("break the JSON",
		fill(`[data-testid="policy-json-input"]`, "{\n  \"policy_statement\": [,]\n}"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="policy-json-input"]').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.WaitVisible(`[data-testid="json-invalid-notice"]`))
	pc.check("editor with invalid JSON", false)
	visit(endpoint+"/policy/edit", `[data-testid="structured-editor"]`)
	// Filling fires no change event: the structured view is sent as filled,
	// with no htmx swap racing the click.
	const actions = "obs:*:*\nobs:object:GetObject"
	watch.expectErrorPage(base + endpoint + "/policy/preview")
	// The browser's own check of required fields is turned off for this one
	// submission, so the page shows the server's errors, as it does where
	// that check does not run.
	do("preview with no reason",
		fill(`[data-testid="action-0"]`, actions),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid="preview"]').form.noValidate = true`),
		press(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="error-reason"]`))
	pc.check("editor with errors", false)

	// The preview, with its warning.
	do("preview",
		fill(`[data-testid="reason"]`, "OPS-1: let the shipper read back what it wrote"),
		press(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="warnings"]`))
	pc.check("preview with warnings", false)
	pc.screenshot("preview", true)

	// Someone changes the policy outside the console before Apply (409).
	theirs, _ := sim.Endpoint(ep.ID)
	theirs.Statements = append(theirs.Statements, vpcepsim.Statement{Effect: "Deny", Action: []string{"obs:object:DeleteObject"}, Resource: []string{"obs:*:*:object:*"}})
	sim.PutEndpoint(theirs)
	watch.expectErrorPage(base + endpoint + "/policy")
	do("apply over their change",
		press(`[data-testid="ack-warnings"]`),
		press(`[data-testid="apply"]`),
		chromedp.WaitVisible(`[data-testid="conflict"]`))
	pc.check("conflict", false)

	// The conflict recorded their change (a drift): the endpoint's page
	// shows it first, with Adopt and Revert.
	visit(endpoint, `[data-testid="drift-banner"]`)
	pc.check("endpoint changed outside the console", false)
	pc.screenshot("endpoint-drift", false)

	// The live policy moves again while the editor is open: the preview
	// says so before Apply.
	visit(endpoint+"/policy/edit", `[data-testid="structured-editor"]`)
	moved, _ := sim.Endpoint(ep.ID)
	moved.Statements = append(moved.Statements, vpcepsim.Statement{Effect: "Deny", Action: []string{"obs:bucket:DeleteBucket"}, Resource: []string{"obs:*:*:bucket:*"}})
	sim.PutEndpoint(moved)
	do("preview a moved policy",
		fill(`[data-testid="action-0"]`, actions),
		fill(`[data-testid="reason"]`, "OPS-2: the same, on top of their change"),
		press(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="stale-live"]`))
	pc.check("preview, the live policy moved", false)

	// Applied: the entry page with what happened.
	visit(endpoint+"/policy/edit", `[data-testid="structured-editor"]`)
	do("apply",
		fill(`[data-testid="action-0"]`, actions),
		fill(`[data-testid="reason"]`, "OPS-2: the same, on top of their change"),
		press(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="warnings"]`),
		press(`[data-testid="ack-warnings"]`),
		press(`[data-testid="apply"]`),
		chromedp.WaitVisible(`[data-testid="entry-outcome"]`))
	entry, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	pc.check("applied result", false)

	// The audit log: plain, filtered, one entry, its rollback.
	visit("/audit", `[data-testid="audit-table"]`)
	pc.check("audit list", false)
	pc.screenshot("audit", true)
	visit("/audit?actor="+adminName+"&outcome=failed", `[data-testid="audit-table"]`)
	pc.check("audit list filtered", false)
	watch.expectErrorPage(base + "/audit?from=yesterday")
	visit("/audit?from=yesterday", `[data-testid="audit-error-from"]`)
	pc.check("audit list with a filter error", true)
	do("open the entry", chromedp.Navigate(entry), chromedp.WaitVisible(`[data-testid="rollback"]`))
	pc.check("audit entry", false)
	pc.screenshot("audit-entry", true)
	do("rollback", press(`[data-testid="rollback"]`), chromedp.WaitVisible(`[data-testid="confirm-rollback"]`))
	pc.check("rollback confirm", false)

	// History, the account, administration.
	visit(endpoint+"/history", `[data-testid="timeline"]`)
	pc.check("history", false)
	pc.screenshot("history", true)
	visit("/account", `[data-testid="account-role"]`)
	pc.check("account", false)
	do("create a token",
		fill(`[data-testid="token-name"]`, "laptop"),
		press(`[data-testid="create-own-token"]`),
		chromedp.WaitVisible(`[data-testid="new-token"]`))
	pc.check("new token, shown once", true)
	pc.screenshot("account", false)
	visit("/admin/accounts", `[data-testid="account-table"]`)
	pc.check("admin accounts", false)
	visit("/security-events", `[data-testid="event-table"]`)
	pc.check("security events", false)
	watch.expectErrorPage(base + "/security-events?from=yesterday")
	visit("/security-events?from=yesterday", `[data-testid="filter-error"]`)
	pc.check("security events with a filter error", true)

	// A page that does not exist (404).
	watch.expectErrorPage(base + "/no-such-page")
	visit("/no-such-page", `[data-testid="error"]`)
	pc.check("error page (404)", false)

	// Signing out says so.
	visit("/endpoints", `[data-testid="sign-out"]`)
	do("sign out", press(`[data-testid="sign-out"]`), chromedp.WaitVisible(`[data-testid="login"]`))
	pc.check("signed out", false)
}

// allowsEverything is a gateway endpoint of the simulator with one statement
// that allows every OBS action on every resource.
func allowsEverything(t *testing.T, sim interface{ Endpoints() []*vpcepsim.Endpoint }) *vpcepsim.Endpoint {
	t.Helper()
	for _, ep := range sim.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) == 1 &&
			slices.Equal(ep.Statements[0].Action, []string{"obs:*:*"}) {
			return ep
		}
	}
	t.Fatal("the simulator has no gateway whose policy allows everything")
	return nil
}

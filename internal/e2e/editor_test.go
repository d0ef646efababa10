package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
)

// slowConsole is console with every request answered delay late, as over
// a slow link: an answer then lands while the admin is still typing.
func slowConsole(t *testing.T, delay time.Duration) (string, *simtest.Upstream) {
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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		c.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, c.Sim
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor waits until the JavaScript condition js holds.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !eval[bool](t, ctx, js) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// typeKeys types into whatever has the focus, key by key, as a person does.
func typeKeys(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		t.Fatal(err)
	}
}

const (
	activeTestID = `(document.activeElement && document.activeElement.getAttribute("data-testid")) || document.activeElement.tagName`
	// formMatchesJSON: every statement of the form is the JSON's, entry for entry.
	formMatchesJSON = `(() => {
		let doc; try { doc = JSON.parse(document.querySelector('[data-testid="policy-json-input"]').value) } catch (e) { return false }
		const lines = (sel) => { const el = document.querySelector(sel); return el ? el.value.split("\n").map(s => s.trim()).filter(s => s) : null };
		const blocks = document.querySelectorAll('[data-testid="statement-block"]').length;
		if (doc.policy_statement.length !== blocks) return false;
		return doc.policy_statement.every((s, i) =>
			JSON.stringify(s.Action) === JSON.stringify(lines('[data-testid="action-' + i + '"]')) &&
			JSON.stringify(s.Resource) === JSON.stringify(lines('[data-testid="resource-' + i + '"]')) &&
			s.Effect === document.querySelector('[data-testid="effect-' + i + '"]').value);
	})()`
)

// TestEditorKeepsTypingOnASlowServer: with every answer 300 ms late, add an
// Action line, Tab, and type a Resource line while the first sync lands:
// nothing typed is lost, the focus stays where the admin is, and the JSON
// view ends up equal to the form.
func TestEditorKeepsTypingOnASlowServer(t *testing.T) {
	t.Parallel()
	base, sim := slowConsole(t, 300*time.Millisecond)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID+"/policy/edit"),
		chromedp.WaitVisible(`[data-testid="action-0"]`),
	); err != nil {
		t.Fatal(err)
	}
	wantActions := append(slices.Clone(ep.Statements[0].Action), "obs:object:AbortMultipartUpload")
	const newResource = "obs:*:*:object:new-bucket/*"

	// The caret at the end of Action, as after a click there.
	eval[bool](t, ctx, `(() => { const a = document.querySelector('[data-testid="action-0"]'); a.focus(); a.setSelectionRange(a.value.length, a.value.length); return true })()`)
	typeKeys(t, ctx, "\nobs:object:AbortMultipartUpload")
	typeKeys(t, ctx, kb.Tab)
	// Type the new Resource line first (the caret is at the start), half of
	// it before the sync's answer lands and half after.
	typeKeys(t, ctx, "obs:*:*:object:new-")
	time.Sleep(450 * time.Millisecond)
	typeKeys(t, ctx, "bucket/*\n")
	time.Sleep(700 * time.Millisecond) // every answer has landed

	if got := eval[string](t, ctx, activeTestID); got != "resource-0" {
		t.Errorf("the focus is on %q, want resource-0", got)
	}
	actions := eval[[]string](t, ctx, `document.querySelector('[data-testid="action-0"]').value.split("\n")`)
	if !slices.Equal(actions, wantActions) {
		t.Errorf("Action = %q, want %q", actions, wantActions)
	}
	resources := eval[[]string](t, ctx, `document.querySelector('[data-testid="resource-0"]').value.split("\n")`)
	if !slices.Contains(resources, newResource) || !slices.Equal(slices.DeleteFunc(slices.Clone(resources), func(r string) bool { return r == newResource }), ep.Statements[0].Resource) {
		t.Errorf("Resource = %q, want %q and %q", resources, newResource, ep.Statements[0].Resource)
	}
	shot(t, ctx, "editor-typed")

	// Leaving the field syncs it: the JSON view says what the form says.
	typeKeys(t, ctx, kb.Tab)
	waitFor(t, ctx, "the JSON view to follow the form", formMatchesJSON+` && document.querySelector('[data-testid="policy-json-input"]').value.includes("new-bucket/*")`)

	// Add statement: the focus goes to the new statement's Action, and the
	// JSON shows its empty lists as [] (no null).
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="add-statement"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a third statement", `document.querySelectorAll('[data-testid="statement-block"]').length === 3`)
	waitFor(t, ctx, "the JSON of three statements", formMatchesJSON)
	if got := eval[string](t, ctx, activeTestID); got != "action-2" {
		t.Errorf("after Add statement the focus is on %q, want action-2", got)
	}
	if js := eval[string](t, ctx, `document.querySelector('[data-testid="policy-json-input"]').value`); strings.Contains(js, "null") {
		t.Errorf("Add statement wrote null:\n%s", js)
	}
	// Move the new statement up: the focus follows it.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="op-up-2"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the move", `document.activeElement && document.activeElement.getAttribute("data-testid") === "op-up-1"`)
	waitFor(t, ctx, "the JSON after the move", formMatchesJSON+` && document.querySelector('[data-testid="action-1"]').value === ""`)
}

// TestEditorShowsJSONErrorsInTheBrowser: an unreadable JSON is said at the
// form with its line and column and which view Preview uses; "Use the form
// instead" brings both views back together; a refused Preview puts the
// focus on the error.
func TestEditorShowsJSONErrorsInTheBrowser(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID+"/policy/edit"),
		chromedp.WaitVisible(`[data-testid="policy-json-input"]`),
	); err != nil {
		t.Fatal(err)
	}
	// Break the JSON by typing a second comma after the first statement's
	// opening brace line, then leave the field.
	eval[bool](t, ctx, `(() => {
		const ta = document.querySelector('[data-testid="policy-json-input"]');
		const at = ta.value.indexOf("{", ta.value.indexOf("[")) + 1;
		ta.focus(); ta.setSelectionRange(at, at); return true })()`)
	typeKeys(t, ctx, ",")
	if err := chromedp.Do(ctx, chromedp.Focus(`[data-testid="reason"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the JSON error notice", `!!document.querySelector('[data-testid="json-invalid-notice"]')`)
	notice := eval[string](t, ctx, `document.querySelector('[data-testid="json-invalid-notice"]').innerText`)
	if !strings.Contains(notice, "The JSON has an error at line 3, column 6") || !strings.Contains(notice, "Preview uses the raw JSON") {
		t.Errorf("notice: %q", notice)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-testid="policy-json-input"]').getAttribute("aria-invalid") || ""`); got != "true" {
		t.Errorf("aria-invalid on the JSON = %q", got)
	}
	if got := eval[string](t, ctx, activeTestID); got != "reason" {
		t.Errorf("the focus moved to %q", got)
	}
	shot(t, ctx, "editor-json-error")

	// Use the form instead: the notice goes, and both views agree.
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="use-form"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the views to agree again", `!document.querySelector('[data-testid="json-invalid-notice"]') && `+formMatchesJSON)

	// Preview with a reason of spaces (the browser's required check passes
	// it; the server does not): the page comes back with the focus on the
	// reason and its error on screen. The 422 is that form's answer.
	consoleOf(ctx).expectErrorPage(base + "/endpoints/" + ep.ID + "/policy/preview")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="reason"]`, "   "),
		chromedp.Click(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="error-reason"]`),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the focus on the reason", `document.activeElement && document.activeElement.getAttribute("data-testid") === "reason"`)
	inView := eval[bool](t, ctx, `(() => { const r = document.querySelector('[data-testid="error-reason"]').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight })()`)
	if !inView {
		t.Error("the reason's error is off screen")
	}
}

// TestPreviewSaysTheLivePolicyMovedInTheBrowser: the live policy changes
// outside the console while the admin edits; the preview says so before
// Apply, which it does not offer.
func TestPreviewSaysTheLivePolicyMovedInTheBrowser(t *testing.T) {
	t.Parallel()
	base, sim := console(t)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID+"/policy/edit"),
		chromedp.WaitVisible(`[data-testid="reason"]`),
	); err != nil {
		t.Fatal(err)
	}
	moved := *ep
	moved.Statements = append(slices.Clone(ep.Statements[:1]), ep.Statements[1])
	moved.Statements[1].Action = []string{"obs:object:DeleteObject", "obs:bucket:DeleteBucket"}
	sim.PutEndpoint(&moved)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`[data-testid="reason"]`, "OPS-9: tighten"),
		chromedp.Click(`[data-testid="preview"]`),
		chromedp.WaitVisible(`[data-testid="stale-live"]`),
	); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-testid="stale-origin"]').innerText`); !strings.Contains(got, "changed outside the console") {
		t.Errorf("origin: %q", got)
	}
	if !eval[bool](t, ctx, `document.querySelector('[data-testid="apply"]').disabled`) {
		t.Error("Apply is offered against a policy that moved")
	}
	shot(t, ctx, "preview-live-moved")
}

// openEditor opens the editor of a gateway endpoint with two statements.
func openEditor(t *testing.T, delay time.Duration) context.Context {
	t.Helper()
	base, sim := slowConsole(t, delay)
	ctx := browser(t)
	signIn(t, ctx, base)
	ep := sim.Gateway(t, 2)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/endpoints/"+ep.ID+"/policy/edit"),
		chromedp.WaitVisible(`[data-testid="action-0"]`),
	); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// focusEnd puts the caret at the end of the control with data-testid id.
func focusEnd(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { const a = document.querySelector('[data-testid="`+id+`"]'); a.focus();
		if (a.setSelectionRange) a.setSelectionRange(a.value.length, a.value.length); return true })()`)
}

// editorSettled: no sync is out or queued, and both views agree.
const editorSettled = `document.querySelector('#policy-editor').getAttribute("aria-busy") !== "true" && ` + formMatchesJSON

// jsonStatement is the JSON view's statement i, field by field.
func jsonStatement(t *testing.T, ctx context.Context, i int) map[string]any {
	t.Helper()
	return eval[map[string]any](t, ctx, `JSON.parse(document.querySelector('[data-testid="policy-json-input"]').value).policy_statement[`+strconv.Itoa(i)+`]`)
}

// TestEditorKeepsTypingAfterAButtonOnASlowServer: a button is pressed, and
// the admin types into a statement before its answer lands: what was typed
// stays (in the statement it was typed into, wherever that now stands), the
// focus stays there, and the JSON view ends up saying it too.
func TestEditorKeepsTypingAfterAButtonOnASlowServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, button   string
		typeInto       string // the Sid typed into while the answer is out
		want           string // the same statement's Sid after the answer
		wantStatements int
	}{
		{"add statement", "add-statement", "sid-0", "sid-0", 3},
		{"move down", "op-down-0", "sid-1", "sid-0", 2},
		{"remove", "op-remove-0", "sid-1", "sid-0", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := openEditor(t, 300*time.Millisecond)
			if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="`+tc.button+`"]`)); err != nil {
				t.Fatal(err)
			}
			focusEnd(t, ctx, tc.typeInto)
			typeKeys(t, ctx, "typed-meanwhile")
			waitFor(t, ctx, "the button's answer", `document.querySelector('#policy-editor').getAttribute("aria-busy") !== "true"`)
			if got := eval[int](t, ctx, `document.querySelectorAll('[data-testid="statement-block"]').length`); got != tc.wantStatements {
				t.Fatalf("%d statements after %s, want %d", got, tc.button, tc.wantStatements)
			}
			typed := eval[string](t, ctx, `document.querySelector('[data-testid="`+tc.want+`"]').value`)
			if !strings.HasSuffix(typed, "typed-meanwhile") {
				t.Errorf("%s = %q: what was typed is lost", tc.want, typed)
			}
			if got := eval[string](t, ctx, activeTestID); got != tc.want {
				t.Errorf("the focus is on %q, want %s", got, tc.want)
			}
			// Leaving the field (or the answer landing after the typing) syncs it.
			typeKeys(t, ctx, kb.Tab)
			waitFor(t, ctx, "the views to settle", editorSettled)
			i, _ := strconv.Atoi(strings.TrimPrefix(tc.want, "sid-"))
			if sid, _ := jsonStatement(t, ctx, i)["Sid"].(string); sid != typed {
				t.Errorf("the JSON's statement %d has Sid %q, the form %q: the views disagree", i, sid, typed)
			}
		})
	}
}

// TestEditorAppliesEditsOfBothViewsInOrder: a line added to Action (Tab
// sends it), then "Allow" changed to "Deny" in the JSON, then a Sid typed:
// all three edits are kept, in the order made, whether the answers are late
// or not.
func TestEditorAppliesEditsOfBothViewsInOrder(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{300 * time.Millisecond, 0} {
		t.Run(delay.String(), func(t *testing.T) {
			t.Parallel()
			ctx := openEditor(t, delay)
			focusEnd(t, ctx, "action-0")
			typeKeys(t, ctx, "\nobs:object:AbortMultipartUpload")
			typeKeys(t, ctx, kb.Tab)
			// Select the first statement's "Allow" in the JSON and type over it.
			eval[bool](t, ctx, `(() => { const ta = document.querySelector('[data-testid="policy-json-input"]');
				const at = ta.value.indexOf('"Allow"') + 1; ta.focus(); ta.setSelectionRange(at, at + 5); return true })()`)
			typeKeys(t, ctx, "Deny")
			focusEnd(t, ctx, "sid-0") // leaving the JSON sends it
			typeKeys(t, ctx, "ops-sid")
			typeKeys(t, ctx, kb.Tab)
			waitFor(t, ctx, "the views to settle", editorSettled)

			if got := eval[string](t, ctx, `document.querySelector('[data-testid="action-0"]').value`); !strings.Contains(got, "obs:object:AbortMultipartUpload") {
				t.Errorf("the form's new Action line is lost: %q", got)
			}
			if got := eval[string](t, ctx, `document.querySelector('[data-testid="effect-0"]').value`); got != "Deny" {
				t.Errorf("the JSON's Deny is lost: Effect = %q", got)
			}
			sid := eval[string](t, ctx, `document.querySelector('[data-testid="sid-0"]').value`)
			if !strings.HasSuffix(sid, "ops-sid") {
				t.Errorf("Sid = %q, want it to end in ops-sid", sid)
			}
			st := jsonStatement(t, ctx, 0)
			if st["Effect"] != "Deny" || st["Sid"] != sid {
				t.Errorf("the JSON's first statement: %v", st)
			}
		})
	}
}

// TestEditorShowsItIsBusy: while a sync is out the form says aria-busy and
// the page's loading bar shows; both go when the answer lands.
func TestEditorShowsItIsBusy(t *testing.T) {
	t.Parallel()
	ctx := openEditor(t, time.Second)
	focusEnd(t, ctx, "action-0")
	typeKeys(t, ctx, "\nobs:object:AbortMultipartUpload")
	typeKeys(t, ctx, kb.Tab)
	const busy = `document.querySelector('#policy-editor').getAttribute("aria-busy") === "true" && document.body.classList.contains("editor-syncing")`
	if !eval[bool](t, ctx, busy) {
		t.Fatal("a sync is out and the form does not say it is busy")
	}
	waitFor(t, ctx, "the loading bar", `getComputedStyle(document.querySelector('.page-loading')).opacity === "1" || !(`+busy+`)`)
	if !eval[bool](t, ctx, busy) {
		t.Error("the sync ended before the loading bar showed")
	}
	waitFor(t, ctx, "the busy state to end", `!(`+busy+`) && `+formMatchesJSON)
	waitFor(t, ctx, "the loading bar to go", `getComputedStyle(document.querySelector('.page-loading')).opacity === "0"`)
}

// TestEditorSaysWhichEditItKept: the JSON is broken while a form change is
// out; the two cannot be merged, so the JSON stays as typed and the editor
// says the form's change is not in it, and keeps saying so after the
// answers that follow.
func TestEditorSaysWhichEditItKept(t *testing.T) {
	t.Parallel()
	ctx := openEditor(t, 300*time.Millisecond)
	focusEnd(t, ctx, "action-0")
	typeKeys(t, ctx, "\nobs:object:AbortMultipartUpload")
	typeKeys(t, ctx, kb.Tab)
	eval[bool](t, ctx, `(() => { const ta = document.querySelector('[data-testid="policy-json-input"]');
		const at = ta.value.indexOf("{", ta.value.indexOf("[")) + 1; ta.focus(); ta.setSelectionRange(at, at); return true })()`)
	typeKeys(t, ctx, ",")
	typed := eval[string](t, ctx, `document.querySelector('[data-testid="policy-json-input"]').value`)
	if err := chromedp.Do(ctx, chromedp.Focus(`[data-testid="reason"]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the JSON's error notice", `!!document.querySelector('[data-testid="json-invalid-notice"]') && document.querySelector('#policy-editor').getAttribute("aria-busy") !== "true"`)
	if got := eval[string](t, ctx, `document.querySelector('[data-testid="policy-json-input"]').value`); got != typed {
		t.Errorf("the JSON typed was changed:\n%s\nwant\n%s", got, typed)
	}
	kept := eval[string](t, ctx, `(document.querySelector('[data-testid="editor-kept-json"]') || {}).textContent || ""`)
	if !strings.Contains(kept, "the JSON was kept exactly as you typed it") {
		t.Errorf("the editor does not say which edit it kept: %q", kept)
	}
}

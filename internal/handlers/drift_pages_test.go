package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// changeOutOfBand changes the endpoint's policy on the simulator as the
// Huawei Cloud console or Terraform would: the console is not told.
func changeOutOfBand(t *testing.T, a *app, id, action string) {
	t.Helper()
	ep, ok := a.sim.Endpoint(id)
	if !ok {
		t.Fatalf("no endpoint %s", id)
	}
	ep.Statements = append(ep.Statements, vpcepsim.Statement{
		Effect: "Allow", Action: []string{action}, Resource: []string{"obs:*:*:object:out-of-band/*"},
	})
	a.sim.PutEndpoint(ep)
}

// driftedEndpoint is an editable gateway whose policy was changed outside
// the console after the console first saw it (its page records the
// baseline, a refresh records the drift), with its policy before that.
func driftedEndpoint(t *testing.T, a *app) (*vpcepsim.Endpoint, policy.Policy) {
	t.Helper()
	a.refresh(t)
	ep := a.sim.Gateway(t, 2)
	known := a.sim.Live(t, ep.ID)
	if r := a.get(t, "/endpoints/"+ep.ID); r.Code != http.StatusOK || r.doc.Find(testid("drift-banner")).Length() != 0 {
		t.Fatalf("before any change: %d, banner %d", r.Code, r.doc.Find(testid("drift-banner")).Length())
	}
	changeOutOfBand(t, a, ep.ID, "obs:object:DeleteObject")
	a.refresh(t)
	return ep, known
}

// driftEntryOf is the endpoint's open drift entry, as its banner links it.
func driftEntryOf(t *testing.T, r response) string {
	t.Helper()
	href, ok := r.doc.Find(testid("drift-entry-link")).Attr("href")
	if !ok {
		t.Fatalf("no drift banner in:\n%.3000s", r.Body.String())
	}
	return href
}

func TestDriftBadgeAndFilter(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep, _ := driftedEndpoint(t, a)

	list := a.get(t, "/endpoints")
	if list.Code != http.StatusOK {
		t.Fatalf("list: %d", list.Code)
	}
	rows := list.doc.Find(testid("endpoint-row"))
	badged := rows.Filter(`[data-endpoint-id="` + ep.ID + `"]`).Find(testid("drift-badge"))
	if badged.Length() != 1 || !strings.Contains(badged.Text(), "Drifted") {
		t.Fatalf("the drifted row has no badge: %q", rows.Filter(`[data-endpoint-id="`+ep.ID+`"]`).Text())
	}
	if n := list.doc.Find(testid("drift-badge")).Length(); n != 1 {
		t.Errorf("%d badges, want 1", n)
	}
	if !strings.Contains(rows.Filter(`[data-endpoint-id="`+ep.ID+`"]`).Text(), "seen") {
		t.Error("the badge does not say when the change was seen")
	}

	only := a.get(t, "/endpoints?drifted=true")
	if only.Code != http.StatusOK || only.doc.Find(testid("endpoint-row")).Length() != 1 ||
		only.doc.Find(testid("endpoint-row")).AttrOr("data-endpoint-id", "") != ep.ID {
		t.Fatalf("drifted only: %d, %d rows", only.Code, only.doc.Find(testid("endpoint-row")).Length())
	}
	if _, checked := only.doc.Find(testid("filter-drifted")).Attr("checked"); !checked {
		t.Error("the Drifted only box is not ticked on the filtered page")
	}
	if v, _ := only.doc.Find(`#endpoint-results form[action="/endpoints/refresh"] input[name="drifted"]`).Attr("value"); v != "true" {
		t.Error("the refresh form drops the drifted filter")
	}
	// With a search and under htmx (the fragment) too.
	frag := a.do(t, http.MethodGet, "/endpoints?drifted=true&q="+url.QueryEscape(ep.ID[:8]), nil, htmx())
	if frag.Code != http.StatusOK || frag.doc.Find(testid("endpoint-row")).Length() != 1 {
		t.Errorf("drifted and searched: %d, %d rows", frag.Code, frag.doc.Find(testid("endpoint-row")).Length())
	}
	none := a.get(t, "/endpoints?drifted=true&q=no-such-endpoint")
	if none.doc.Find(testid("empty")).Length() != 1 {
		t.Error("drifted and a search matching nothing is not empty")
	}
	bad := a.get(t, "/endpoints?drifted=maybe")
	if bad.Code != http.StatusUnprocessableEntity || bad.text(testid("filter-error")) == "" {
		t.Errorf("a bad drifted value: %d %q", bad.Code, bad.text(testid("filter-error")))
	}
}

func TestDriftBannerForEditorsAndViewers(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep, _ := driftedEndpoint(t, a)

	page := a.get(t, "/endpoints/"+ep.ID)
	banner := page.doc.Find(testid("drift-banner"))
	if banner.Length() != 1 || !strings.Contains(banner.Text(), "This policy was changed outside the console") {
		t.Fatalf("no banner: %.2000s", page.Body.String())
	}
	if banner.Find(testid("adopt-form")).Length() != 1 || banner.Find(testid("revert-form")).Length() != 1 {
		t.Error("an editor is not offered Adopt and Revert")
	}
	if !strings.Contains(banner.Find(testid("drift-diff")).Text(), "obs:object:DeleteObject") {
		t.Error("the banner's diff does not show the action added outside the console")
	}
	if !strings.Contains(banner.Find(testid("drift-who")).Text(), "not known") {
		t.Errorf("who made it: %q", banner.Find(testid("drift-who")).Text())
	}

	// The known version is the baseline: its page shows the policy as found.
	knownURL, _ := banner.Find(testid("drift-known-link")).Attr("href")
	if known := a.get(t, knownURL); known.Code != http.StatusOK || !strings.Contains(known.text(testid("baseline-policy")), "obs:") {
		t.Errorf("the known version's entry %q: %d %q", knownURL, known.Code, known.text(testid("baseline-policy")))
	}

	// The editor shows the drift before the form.
	edit := a.get(t, "/endpoints/"+ep.ID+"/policy/edit")
	if edit.Code != http.StatusOK || edit.doc.Find(testid("drift-banner")+" ~ #policy-editor, "+testid("drift-banner")+" ~ * #policy-editor").Length() == 0 {
		t.Errorf("editor: %d, banner before the form: %d", edit.Code, edit.doc.Find(testid("drift-banner")).Length())
	}
	if v, _ := edit.doc.Find(testid("adopt-form") + ` input[name="back"]`).Attr("value"); v != "editor" {
		t.Errorf("the editor's Adopt returns to %q", v)
	}

	driftURL := driftEntryOf(t, page)
	a.signIn(t, a.account(t, auth.Viewer))
	viewed := a.get(t, "/endpoints/"+ep.ID)
	if viewed.doc.Find(testid("drift-banner")).Length() != 1 {
		t.Error("a viewer does not see the banner")
	}
	if viewed.doc.Find(testid("adopt-form")).Length() != 0 || viewed.doc.Find(testid("revert-form")).Length() != 0 {
		t.Error("a viewer is offered Adopt or Revert")
	}
	if r := post(t, a, driftURL+"/adopt", url.Values{"reason": {"a viewer tries"}}); r.Code != http.StatusForbidden {
		t.Errorf("a viewer's adopt: %d", r.Code)
	}
	if n := countRows(t, a, `SELECT count(*) FROM audit_entries WHERE action = 'adopt'`); n != 0 {
		t.Errorf("%d adopt entries after a viewer's attempt", n)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`); n == 0 {
		t.Error("the viewer's adopt was not recorded as a security event")
	}
}

func TestAdoptDrift(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep, _ := driftedEndpoint(t, a)
	drifted := a.sim.Live(t, ep.ID)
	if list := a.get(t, "/endpoints"); list.doc.Find(testid("drift-badge")).Length() != 1 {
		t.Fatal("no badge before the adopt") // and the row is now kept with it
	}
	page := a.get(t, "/endpoints/"+ep.ID)
	driftURL := driftEntryOf(t, page)

	// No reason: the error at the field (422), nothing recorded.
	empty := post(t, a, driftURL+"/adopt", url.Values{"reason": {""}, "back": {"endpoint"}})
	if empty.Code != http.StatusUnprocessableEntity || empty.text(testid("adopt-error-reason")) == "" {
		t.Fatalf("empty reason: %d %q", empty.Code, empty.text(testid("adopt-error-reason")))
	}
	// From the editor, the editor comes back with the error at the field.
	fromEditor := post(t, a, driftURL+"/adopt", url.Values{"reason": {" "}, "back": {"editor"}})
	if fromEditor.Code != http.StatusUnprocessableEntity || fromEditor.doc.Find("#policy-editor").Length() != 1 || fromEditor.text(testid("adopt-error-reason")) == "" {
		t.Fatalf("empty reason from the editor: %d, editor %d", fromEditor.Code, fromEditor.doc.Find("#policy-editor").Length())
	}
	// Too long: the error at the field, and what was typed kept.
	long := strings.Repeat("r", policy.MaxReasonLength+1)
	tooLong := post(t, a, driftURL+"/adopt", url.Values{"reason": {long}, "back": {"endpoint"}})
	if tooLong.Code != http.StatusUnprocessableEntity || tooLong.doc.Find(testid("adopt-reason")).AttrOr("value", "") != long {
		t.Fatalf("too long a reason: %d, kept %d bytes", tooLong.Code, len(tooLong.doc.Find(testid("adopt-reason")).AttrOr("value", "")))
	}
	if n := countRows(t, a, `SELECT count(*) FROM audit_entries WHERE action = 'adopt'`); n != 0 {
		t.Fatalf("%d adopt entries after refused adopts", n)
	}

	done := post(t, a, driftURL+"/adopt", url.Values{"reason": {"CHG-12: the DeleteObject grant was approved"}, "back": {"endpoint"}})
	loc := done.Header().Get("Location")
	if done.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/endpoints/"+ep.ID+"?adopted=") {
		t.Fatalf("adopt: %d %q %s", done.Code, loc, done.text("h1"))
	}
	after := a.get(t, loc)
	if after.doc.Find(testid("drift-banner")).Length() != 0 || !strings.Contains(after.text(testid("notice")), "Adopted") {
		t.Errorf("after the adopt: banner %d, notice %q", after.doc.Find(testid("drift-banner")).Length(), after.text(testid("notice")))
	}
	if !policy.Equal(a.sim.Live(t, ep.ID), drifted) {
		t.Error("adopting changed the live policy")
	}
	if list := a.get(t, "/endpoints"); list.doc.Find(testid("drift-badge")).Length() != 0 {
		t.Error("the badge is still shown after the adopt")
	}

	// The history: the adopt entry refers to the drift, and each links the other.
	adoptID, _ := strconv.ParseInt(strings.TrimPrefix(loc, "/endpoints/"+ep.ID+"?adopted="), 10, 64)
	adopt, err := a.audit.Get(context.Background(), adoptID)
	if err != nil || adopt.Action != audit.ActionAdopt || adopt.RefersTo == nil || "/audit/"+strconv.FormatInt(*adopt.RefersTo, 10) != driftURL {
		t.Fatalf("adopt entry: %+v %v", adopt, err)
	}
	entry := a.get(t, "/audit/"+strconv.FormatInt(adoptID, 10))
	if href, _ := entry.doc.Find(testid("refers-to-link")).Attr("href"); href != driftURL {
		t.Errorf("the adopt entry links %q, want %s", href, driftURL)
	}
	driftPage := a.get(t, driftURL)
	if !strings.Contains(driftPage.text(testid("adopted-by")), "#"+strconv.FormatInt(adoptID, 10)) {
		t.Errorf("the drift entry's page: %q", driftPage.text(testid("drift-facts")))
	}
	if !strings.Contains(driftPage.text(testid("entry-facts")), "outside the console") {
		t.Error("the drift's actor is not said in words")
	}
	if got := driftPage.text(testid("detected-by")); got == "" || got == "—" {
		t.Errorf("detected by: %q", got)
	}

	// Adopting it again: said in plain words, nothing recorded.
	again := post(t, a, driftURL+"/adopt", url.Values{"reason": {"twice"}})
	if again.Code != http.StatusConflict || !strings.Contains(again.text(testid("notice")), "no longer open") {
		t.Errorf("adopt again: %d %q", again.Code, again.text(testid("notice")))
	}

	// The audit list and its filter know the new actions.
	filtered := a.get(t, "/audit?action=adopt")
	if filtered.Code != http.StatusOK || filtered.doc.Find(testid("audit-row")).Length() != 1 {
		t.Errorf("audit filtered by adopt: %d, %d rows", filtered.Code, filtered.doc.Find(testid("audit-row")).Length())
	}
	if a.get(t, "/audit").doc.Find(`select[name="action"] option[value="drift"]`).Length() != 1 {
		t.Error("the action filter does not offer drift")
	}
}

func TestRevertDrift(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(a.logs.String())
		}
	})
	ep, known := driftedEndpoint(t, a)
	page := a.get(t, "/endpoints/"+ep.ID)
	driftURL := driftEntryOf(t, page)

	// The banner's Revert opens the rollback confirm page with the reason typed.
	confirm := a.get(t, driftURL+"/rollback?restores=known&reason="+url.QueryEscape("SEC-4: nobody approved DeleteObject"))
	if confirm.Code != http.StatusOK || !strings.Contains(confirm.text("h1"), "Revert") {
		t.Fatalf("confirm: %d %q", confirm.Code, confirm.text("h1"))
	}
	v := formValues(t, confirm, testid("rollback-form"))
	if v.Get("reason") != "SEC-4: nobody approved DeleteObject" || v.Get("restores") != "known" {
		t.Fatalf("confirm form: %v", v)
	}
	// A revert needs a reason of its own.
	noReason := formValues(t, confirm, testid("rollback-form"))
	noReason.Set("reason", "")
	if r := post(t, a, driftURL+"/rollback", noReason); r.Code != http.StatusUnprocessableEntity || r.text(testid("error-reason")) == "" {
		t.Fatalf("revert without a reason: %d", r.Code)
	}

	done := post(t, a, driftURL+"/rollback", v)
	if done.Code != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", done.Code, done.text("h1"))
	}
	if !policy.Equal(a.sim.Live(t, ep.ID), known) {
		t.Fatalf("the live policy is not the known one after the revert: %v", a.sim.Live(t, ep.ID))
	}
	after := a.get(t, "/endpoints/"+ep.ID)
	if after.doc.Find(testid("drift-banner")).Length() != 0 {
		t.Error("the banner is still shown after the revert")
	}
	if list := a.get(t, "/endpoints?drifted=true"); list.doc.Find(testid("endpoint-row")).Length() != 0 {
		t.Error("the endpoint is still listed as drifted after the revert")
	}
	driftPage := a.get(t, driftURL)
	if driftPage.doc.Find(testid("reverted-by")).Length() != 1 {
		t.Errorf("the drift entry's page does not link its revert: %q", driftPage.text(testid("drift-facts")))
	}
	// A closed drift cannot be reverted again: said in words.
	if r := a.get(t, driftURL+"/rollback?restores=known"); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "no longer open") {
		t.Errorf("revert of a closed drift: %d", r.Code)
	}
}

package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/policy/policytest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// formValues collects what a browser would submit from the form matching sel
// (inputs, textareas, selected options; no buttons).
func formValues(t *testing.T, r response, sel string) url.Values {
	t.Helper()
	form := r.doc.Find(sel)
	if form.Length() == 0 {
		t.Fatalf("no form %s in:\n%.2000s", sel, r.Body.String())
	}
	v := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		typ, _ := in.Attr("type")
		if name == "" || typ == "submit" || (typ == "checkbox" && in.AttrOr("checked", "-") == "-") {
			return
		}
		v.Add(name, in.AttrOr("value", ""))
	})
	form.Find("textarea").Each(func(_ int, ta *goquery.Selection) {
		v.Add(ta.AttrOr("name", ""), ta.Text())
	})
	form.Find("select").Each(func(_ int, s *goquery.Selection) {
		opt := s.Find("option[selected]").First()
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		v.Add(s.AttrOr("name", ""), opt.AttrOr("value", ""))
	})
	return v
}

func post(t *testing.T, a *app, target string, v url.Values) response {
	t.Helper()
	return a.do(t, http.MethodPost, target, v, nil)
}

// TestEditPreviewApplyRollBack walks the whole path as the browser forms
// would: edit in the structured view, preview, apply, read the entry, roll
// it back.
func TestEditPreviewApplyRollBack(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)
	ep := a.sim.Gateway(t, 2)
	original := a.sim.Live(t, ep.ID)

	edit := a.get(t, "/endpoints/"+ep.ID+"/policy/edit")
	if edit.Code != http.StatusOK || edit.doc.Find(testid("statement-block")).Length() != 2 {
		t.Fatalf("editor: %d, %d blocks", edit.Code, edit.doc.Find(testid("statement-block")).Length())
	}
	v := formValues(t, edit, "#policy-editor")
	v.Set("s.0.action", "obs:object:GetObject\nobs:object:PutObject\nobs:bucket:ListBucket\nobs:object:AbortMultipartUpload")
	v.Set("reason", "OPS-7: multipart uploads for the log shipper")

	preview := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
	if preview.Code != http.StatusOK {
		t.Fatalf("preview %d: %s", preview.Code, preview.text(testid("error-reason")))
	}
	if summary := preview.text(testid("summary")); summary != "Statement 1 (AppReadWrite) now also grants obs:object:AbortMultipartUpload on bucket logs-prod, objects logs-prod/*" {
		t.Errorf("summary: %q", summary)
	}
	var added []string
	preview.doc.Find(testid("line-diff") + " .line-added").Each(func(_ int, s *goquery.Selection) { added = append(added, strings.Join(strings.Fields(s.Text()), " ")) })
	if len(added) != 1 || added[0] != `+ "obs:object:AbortMultipartUpload"` {
		t.Errorf("added lines: %q", added)
	}
	if a.sim.Puts() != 0 {
		t.Fatal("preview sent something")
	}

	applied := post(t, a, "/endpoints/"+ep.ID+"/policy", formValues(t, preview, testid("apply-form")))
	if applied.Code != http.StatusSeeOther || !strings.HasSuffix(applied.Header().Get("Location"), "?done=applied") {
		t.Fatalf("apply: %d %q %s", applied.Code, applied.Header().Get("Location"), applied.text("h1"))
	}
	entryURL := strings.TrimSuffix(applied.Header().Get("Location"), "?done=applied")
	entry := a.get(t, applied.Header().Get("Location"))
	if entry.text(testid("entry-outcome")) != "succeeded" || entry.text(testid("banner")) == "" || entry.doc.Find(testid("rollback")).Length() != 1 {
		t.Fatalf("entry page: %q", entry.text(testid("entry-outcome")))
	}
	if got := a.sim.Live(t, ep.ID); !strings.Contains(policy.CanonicalJSON(got), "AbortMultipartUpload") {
		t.Fatalf("live policy not changed: %s", policy.CanonicalJSON(got))
	}
	// The inventory shows the change at once, without waiting for a refresh.
	inv, err := a.store.ListInventory(context.Background(), store.InventoryFilter{Search: ep.ID, PerPage: 1})
	if err != nil || len(inv.Endpoints) != 1 || !strings.Contains(policy.CanonicalJSON(inv.Endpoints[0].PolicyStatement), "AbortMultipartUpload") {
		t.Errorf("inventory after the change: %+v %v", inv.Endpoints, err)
	}

	// Roll back: one click, a confirmation with a default reason, and back to the original.
	rollbackURL, _ := entry.doc.Find(testid("rollback")).Attr("href")
	confirm := a.get(t, rollbackURL)
	if confirm.Code != http.StatusOK || !strings.HasPrefix(confirm.doc.Find(testid("reason")).AttrOr("value", ""), "Rollback of #") {
		t.Fatalf("confirm: %d %q", confirm.Code, confirm.doc.Find(testid("reason")).AttrOr("value", ""))
	}
	done := post(t, a, entryURL+"/rollback", formValues(t, confirm, testid("rollback-form")))
	if done.Code != http.StatusSeeOther {
		t.Fatalf("rollback: %d %s", done.Code, done.text("h1"))
	}
	if !policy.Equal(a.sim.Live(t, ep.ID), original) {
		t.Fatal("rollback did not restore the original policy")
	}
	rolled := a.get(t, done.Header().Get("Location"))
	if !strings.Contains(rolled.text(testid("rolls-back")), "This entry rolls back #") {
		t.Errorf("rollback chain: %q", rolled.text(testid("rollback-chain")))
	}
	first := a.get(t, entryURL)
	if !strings.Contains(first.text(testid("rolled-back-by")), "#") {
		t.Errorf("rolled back by: %q", first.text(testid("rollback-chain")))
	}
	// A second rollback of the same entry: the live policy already is the target.
	again := a.get(t, rollbackURL)
	if again.doc.Find(testid("already-there")).Length() != 1 {
		t.Error("a repeated rollback does not say there is nothing to do")
	}
	// Both show in the endpoint's history with the original, each version
	// but the live one restorable.
	history := a.get(t, "/endpoints/"+ep.ID+"/history")
	if history.doc.Find(testid("version")).Length() != 3 || history.doc.Find(testid("restore-version")).Length() != 2 {
		t.Errorf("history: %d versions", history.doc.Find(testid("version")).Length())
	}
	// The two changes, and the baselines of the endpoints the console saw.
	if r, err := a.audit.Verify(context.Background()); err != nil || !r.OK() || r.Checked < 3 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func TestEditorRejectsMalformedJSON(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	edit := a.get(t, "/endpoints/"+ep.ID+"/policy/edit")
	base := formValues(t, edit, "#policy-editor")
	for _, tt := range policytest.MalformedPolicies {
		if tt.Name == "Effect lower case" {
			continue // the editor reads it as Allow: TestEditorReadsEffectInAnyCase
		}
		t.Run(tt.Name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range base {
				v[k] = vs
			}
			v.Set("policy_json", tt.Doc)
			v.Set("reason", "testing")
			r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
			if r.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", r.Code)
			}
			msg := r.text(testid("error-policy_json"))
			if !strings.Contains(msg, tt.Message) {
				t.Errorf("error %q lacks %q", msg, tt.Message)
			}
			if tt.Field != "doc" && !strings.Contains(msg, tt.Field) {
				t.Errorf("error %q does not name %s", msg, tt.Field)
			}
			if got := r.doc.Find(testid("policy-json-input")).Text(); got != tt.Doc && len(tt.Doc) < 60000 {
				t.Errorf("the input was not kept: %.80q", got)
			}
		})
	}
	if a.sim.Puts() != 0 {
		t.Fatal("something was sent")
	}
}

func TestEditorFieldErrorsKeepTheInput(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	base := formValues(t, a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "#policy-editor")
	tests := []struct {
		name, field, value, errorID, want string
	}{
		{"effect not Allow/Deny", "s.1.effect", "Maybe", "error-effect-1", `not "Maybe"`},
		{"no actions", "s.0.action", "\n  \n", "error-action-0", "at least one entry"},
		{"no resources", "s.1.resource", "", "error-resource-1", "at least one entry"},
		{"condition not JSON", "s.0.condition", "{ip: 1}", "error-condition-0", "must be a JSON object"},
		{"condition an array", "s.0.condition", "[1]", "error-condition-0", "must be a JSON object"},
		{"condition error at line and column", "s.0.condition", "{\n  \"a\": 1,,\n}", "error-condition-0", "The JSON has an error at line 2, column 10"},
		{"resource too long", "s.0.resource", strings.Repeat("r", 600), "error-resource-0", "at most 512 bytes"},
		{"no reason", "reason", "   ", "error-reason", "Say why"},
		{"reason too long", "reason", strings.Repeat("x", 1001), "error-reason", "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range base {
				v[k] = vs
			}
			v.Set("reason", "valid reason")
			v.Set(tt.field, tt.value)
			r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
			if r.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", r.Code)
			}
			if msg := r.text(testid(tt.errorID)); !strings.Contains(msg, tt.want) {
				t.Errorf("%s = %q, want %q", tt.errorID, msg, tt.want)
			}
			kept := formValues(t, r, "#policy-editor").Get(tt.field)
			if tt.field != "reason" && strings.TrimSpace(kept) != strings.TrimSpace(tt.value) {
				t.Errorf("input not kept: %q", kept)
			}
		})
	}
}

func TestEditorOperations(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	editPath := "/endpoints/" + ep.ID + "/policy/edit"
	base := formValues(t, a.get(t, editPath), "#policy-editor")
	op := func(name string, mutate func(url.Values)) response {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		if mutate != nil {
			mutate(v)
		}
		if name != "" {
			v.Set("op", name)
		}
		return a.do(t, http.MethodPost, editPath, v, htmx())
	}
	blocks := func(r response) []string {
		var sids []string
		r.doc.Find(testid("statement-block")).Each(func(i int, s *goquery.Selection) {
			sids = append(sids, s.Find(`input[name="s.`+fmt.Sprint(i)+`.sid"]`).AttrOr("value", ""))
		})
		return sids
	}
	if r := op("add", nil); len(blocks(r)) != 3 || strings.Contains(r.Body.String(), "<html") {
		t.Errorf("add: %v", blocks(r))
	}
	if got := blocks(op("remove-0", nil)); len(got) != 1 || got[0] != "NoDeletes" {
		t.Errorf("remove: %v", got)
	}
	if got := blocks(op("down-0", nil)); got[0] != "NoDeletes" || got[1] != "AppReadWrite" {
		t.Errorf("down: %v", got)
	}
	if got := blocks(op("up-1", nil)); got[0] != "NoDeletes" {
		t.Errorf("up: %v", got)
	}
	// The structured view changes; the raw view follows.
	r := op("", func(v url.Values) { v.Set("s.1.sid", "RenamedDeny") })
	if !strings.Contains(r.doc.Find(testid("policy-json-input")).Text(), `"Sid": "RenamedDeny"`) {
		t.Errorf("JSON did not follow: %s", r.doc.Find(testid("policy-json-input")).Text())
	}
	// The raw view changes; the structured view follows.
	r = op("", func(v url.Values) {
		v.Set("policy_json", `{"policy_statement": [{"Effect": "Deny", "Action": ["obs:*"], "Resource": ["obs:*:*:bucket:x"], "Sid": "FromJSON"}]}`)
	})
	if got := blocks(r); len(got) != 1 || got[0] != "FromJSON" {
		t.Errorf("structured did not follow: %v", got)
	}
	// Broken JSON: both views kept as typed, the error at the JSON. The
	// script's sync is answered 200 (the answer is the views' state, not a
	// failed request); a plain form post is a form with an error, 422.
	r = op("", func(v url.Values) { v.Set("policy_json", `{"policy_statement": [`) })
	if r.Code != http.StatusOK || len(blocks(r)) != 2 || r.text(testid("error-policy_json")) == "" {
		t.Errorf("broken JSON: %d, %v, %q", r.Code, blocks(r), r.text(testid("error-policy_json")))
	}
	plain := url.Values{}
	for k, vs := range base {
		plain[k] = vs
	}
	plain.Set("policy_json", `{"policy_statement": [`)
	if r := post(t, a, editPath, plain); r.Code != http.StatusUnprocessableEntity || r.text(testid("error-policy_json")) == "" {
		t.Errorf("broken JSON, plain post: %d %q", r.Code, r.text(testid("error-policy_json")))
	}
	if r := op("explode-1", nil); r.Code != http.StatusBadRequest {
		t.Errorf("unknown op: %d", r.Code)
	}
}

func TestNotEditableEndpoints(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for _, ep := range a.sim.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind {
			continue
		}
		r := a.get(t, "/endpoints/"+ep.ID+"/policy/edit")
		if r.Code != http.StatusBadRequest || !strings.Contains(r.text(testid("error-message")), "cannot be edited") {
			t.Fatalf("%s %s: %d %q", ep.Service.Type, ep.Service.Name, r.Code, r.text(testid("error-message")))
		}
		page := a.get(t, "/endpoints/"+ep.ID)
		if page.doc.Find(testid("edit-policy")).Length() != 0 || page.text(testid("not-editable")) == "" {
			t.Fatalf("%s: the endpoint page offers an edit", ep.ID)
		}
	}
}

// preparedChange returns the apply form of a previewed change to ep.
func preparedChange(t *testing.T, a *app, ep *vpcepsim.Endpoint, policyJSON string) url.Values {
	t.Helper()
	v := formValues(t, a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "#policy-editor")
	v.Set("policy_json", policyJSON)
	v.Set("reason", "test change")
	preview := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
	if preview.Code != http.StatusOK {
		t.Fatalf("preview %d: %s", preview.Code, preview.text(testid("error-policy_json")))
	}
	return formValues(t, preview, testid("apply-form"))
}

const readOnlyLogs = `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:logs-prod/*"]}]}`

func TestLintWarningsMustBeAcknowledged(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}]}`)
	r := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	if r.Code != http.StatusUnprocessableEntity || r.text(testid("error-ack_warnings")) == "" ||
		r.doc.Find(`[data-code="allows_everything"]`).Length() != 1 {
		t.Fatalf("unacknowledged: %d %q", r.Code, r.text(testid("error-ack_warnings")))
	}
	if a.sim.Puts() != 0 {
		t.Fatal("sent without acknowledgement")
	}
	form.Set("ack_warnings", "yes")
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy", form); r.Code != http.StatusSeeOther {
		t.Fatalf("acknowledged: %d", r.Code)
	}
	// The audit entry says which warnings were acknowledged, and the entry
	// page shows them.
	page, err := a.audit.List(context.Background(), audit.Filter{EndpointID: ep.ID}, "", 1)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("audit: %v %v", page, err)
	}
	e := page.Entries[0]
	if !slices.Equal(e.AcknowledgedWarnings, []string{"allows_everything"}) {
		t.Fatalf("acknowledged in the audit entry: %q", e.AcknowledgedWarnings)
	}
	shown := a.get(t, "/audit/"+strconv.FormatInt(e.ID, 10)).text(testid("acknowledged-warning"))
	if !strings.Contains(shown, "allows_everything") {
		t.Fatalf("entry page shows %q", shown)
	}

	// A rollback to that policy asks again and records the same.
	safe := preparedChange(t, a, ep, readOnlyLogs)
	done := post(t, a, "/endpoints/"+ep.ID+"/policy", safe)
	if done.Code != http.StatusSeeOther {
		t.Fatalf("safe change: %d", done.Code)
	}
	safeURL := strings.TrimSuffix(done.Header().Get("Location"), "?done=applied")
	confirm := a.get(t, safeURL+"/rollback")
	rollback := formValues(t, confirm, testid("rollback-form"))
	rollback.Del("ack_warnings")
	if r := post(t, a, safeURL+"/rollback", rollback); r.Code != http.StatusUnprocessableEntity || r.text(testid("error-ack_warnings")) == "" {
		t.Fatalf("unacknowledged rollback: %d", r.Code)
	}
	rollback.Set("ack_warnings", "yes")
	if r := post(t, a, safeURL+"/rollback", rollback); r.Code != http.StatusSeeOther {
		t.Fatalf("acknowledged rollback: %d %s", r.Code, r.text("h1"))
	}
	page, err = a.audit.List(context.Background(), audit.Filter{EndpointID: ep.ID}, "", 1)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Action != audit.ActionRollback ||
		!slices.Equal(page.Entries[0].AcknowledgedWarnings, []string{"allows_everything"}) {
		t.Fatalf("rollback entry: %+v %v", page.Entries, err)
	}
}

func TestConflictShowsThreeWaysAndSendsNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, readOnlyLogs)
	// Someone else changes the policy between preview and apply.
	theirs := *ep
	theirs.Statements = []vpcepsim.Statement{{Effect: "Allow", Action: []string{"obs:object:PutObject"}, Resource: []string{"obs:*:*:object:theirs/*"}}}
	a.sim.PutEndpoint(&theirs)
	before := a.sim.Puts()

	r := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	if r.Code != http.StatusConflict || r.doc.Find(testid("conflict")).Length() != 1 {
		t.Fatalf("conflict: %d %s", r.Code, r.text("h1"))
	}
	if a.sim.Puts() != before {
		t.Fatal("a conflicting change was sent")
	}
	if diffs := r.doc.Find(testid("diff")).Length(); diffs != 3 {
		t.Errorf("%d diffs, want base→theirs, base→yours, theirs→yours", diffs)
	}
	if !strings.Contains(r.Body.String(), "theirs/*") || !strings.Contains(r.Body.String(), "logs-prod/*") {
		t.Error("the conflict page does not show both changes")
	}
	// Edit again on top of the live policy: yours is loaded with the live fingerprint.
	again := post(t, a, "/endpoints/"+ep.ID+"/policy/edit", formValues(t, r, "form:has([data-testid=edit-again])"))
	if again.Code != http.StatusOK || again.text(testid("editor-notice")) == "" {
		t.Fatalf("edit again: %d", again.Code)
	}
	v := formValues(t, again, "#policy-editor")
	if v.Get("fingerprint") != policy.Fingerprint(a.sim.Live(t, ep.ID)) || !strings.Contains(v.Get("policy_json"), "logs-prod") {
		t.Error("edit-again lost the live fingerprint or your policy")
	}
}

func TestDoubleSubmitMakesOneChange(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, readOnlyLogs)
	first := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	second := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	if first.Code != http.StatusSeeOther || second.Code != http.StatusSeeOther || a.sim.Puts() != 1 {
		t.Fatalf("%d, %d, %d PUTs", first.Code, second.Code, a.sim.Puts())
	}
	if strings.TrimSuffix(first.Header().Get("Location"), "?done=applied") != strings.TrimSuffix(second.Header().Get("Location"), "?done=duplicate") {
		t.Errorf("%s vs %s", first.Header().Get("Location"), second.Header().Get("Location"))
	}
}

func TestUpstreamFailureIsShownOnTheEntry(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, readOnlyLogs)
	a.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	r := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	if r.Code != http.StatusSeeOther || !strings.HasSuffix(r.Header().Get("Location"), "?done=failed") {
		t.Fatalf("%d %s", r.Code, r.Header().Get("Location"))
	}
	entry := a.get(t, r.Header().Get("Location"))
	if entry.text(testid("entry-outcome")) != "failed" || entry.text(testid("entry-status")) != "500" ||
		entry.text(testid("entry-error-code")) != "EndPoint.0001" || entry.doc.Find(testid("rollback")).Length() != 0 {
		t.Fatalf("entry: %q %q %q", entry.text(testid("entry-outcome")), entry.text(testid("entry-status")), entry.text(testid("entry-error-code")))
	}
}

func TestNoChangeSaysSoAndSendsNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	live, _ := json.Marshal(map[string]any{"policy_statement": a.sim.Live(t, ep.ID)})
	v := formValues(t, a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "#policy-editor")
	v.Set("policy_json", string(live))
	v.Set("reason", "no-op")
	preview := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
	if preview.doc.Find(testid("no-changes")).Length() != 1 || preview.doc.Find(testid("apply")).AttrOr("disabled", "no") == "no" {
		t.Error("the preview of no change offers to apply")
	}
	r := post(t, a, "/endpoints/"+ep.ID+"/policy", formValues(t, preview, testid("apply-form")))
	if r.Code != http.StatusOK || r.text(testid("message-heading")) != "Nothing to change" || a.sim.Puts() != 0 {
		t.Fatalf("%d %q, %d PUTs", r.Code, r.text(testid("message-heading")), a.sim.Puts())
	}
}

func TestAuditLogUnavailableSendsNothing(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, readOnlyLogs)
	if _, err := a.pool.Exec(context.Background(), `ALTER TABLE audit_entries ADD CONSTRAINT closed CHECK (id < 0) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	r := post(t, a, "/endpoints/"+ep.ID+"/policy", form)
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.text(testid("error-message")), "nothing was sent") || a.sim.Puts() != 0 {
		t.Fatalf("%d %q, %d PUTs", r.Code, r.text(testid("error-message")), a.sim.Puts())
	}
}

var _ = audit.ActionUpdate

// editorForm is the editor's form for ep as a browser would post it.
func editorForm(t *testing.T, a *app, ep *vpcepsim.Endpoint) url.Values {
	t.Helper()
	return formValues(t, a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "#policy-editor")
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// TestEditorSyncsTheOtherView: a sync answers with both views agreeing,
// from the view the admin edited; an unreadable JSON stays as typed, stays
// the source, and the form says where its error is and which view Preview
// uses.
func TestEditorSyncsTheOtherView(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	editPath := "/endpoints/" + ep.ID + "/policy/edit"
	base := editorForm(t, a, ep)
	sync := func(v url.Values) (response, url.Values) {
		r := a.do(t, http.MethodPost, editPath, v, htmx())
		return r, formValues(t, r, "#policy-editor")
	}
	agree := func(t *testing.T, v url.Values) {
		t.Helper()
		raw, errs := policy.ParseDocument([]byte(v.Get("policy_json")), "policy_json")
		if len(errs) > 0 {
			t.Fatalf("the JSON view: %v", errs)
		}
		for i, s := range raw {
			if got := v.Get(policy.FormName(i, policy.FormAction)); got != strings.Join(s.Action, "\n") {
				t.Errorf("statement %d: form Action %q, JSON %q", i+1, got, s.Action)
			}
		}
		if v.Get(policy.FormCount) != fmt.Sprint(len(raw)) {
			t.Errorf("form has %s statements, JSON %d", v.Get(policy.FormCount), len(raw))
		}
	}

	broken := "{\n  \"policy_statement\": [\n    {\"Effect\": \"Allow\",, }\n  ]\n}"
	r, v := sync(with(base, "policy_json", broken, "source", "json"))
	if r.Code != http.StatusOK {
		t.Fatalf("broken JSON: %d", r.Code)
	}
	notice := r.text(testid("json-invalid-notice"))
	for _, want := range []string{"The JSON has an error at line 3, column 24", "Preview uses the raw JSON"} {
		if !strings.Contains(notice, want) {
			t.Errorf("notice %q lacks %q", notice, want)
		}
	}
	if strings.Contains(notice, "byte") {
		t.Errorf("notice gives a byte offset: %q", notice)
	}
	if v.Get("policy_json") != broken || v.Get("source") != "json" || v.Get("s.0.action") != base.Get("s.0.action") {
		t.Errorf("not kept as typed: source %q, JSON %q", v.Get("source"), v.Get("policy_json"))
	}
	ta := r.doc.Find("#policy-json")
	if ta.AttrOr("aria-invalid", "") != "true" || ta.AttrOr("aria-describedby", "") != "policy-json-error" ||
		r.doc.Find("#policy-json-error").Length() != 1 || ta.AttrOr("data-first-error", "") != "true" {
		t.Errorf("the JSON's error is not marked: %v", ta.Nodes[0].Attr)
	}

	// A button that acts on the form would throw the JSON edit away: refused, said.
	r, v = sync(with(v, "op", "add"))
	if v.Get(policy.FormCount) != "2" || v.Get("policy_json") != broken || r.text(testid("editor-notice")) == "" {
		t.Errorf("add while the JSON is broken: %s statements, notice %q", v.Get(policy.FormCount), r.text(testid("editor-notice")))
	}

	// "Use the form instead": the JSON becomes the form's.
	r, v = sync(with(v, "op", "use-form"))
	if r.Code != http.StatusOK || r.doc.Find(testid("json-invalid-notice")).Length() != 0 {
		t.Fatalf("use the form: %d", r.Code)
	}
	agree(t, v)

	// The form edited (the script says so) reaches the JSON.
	_, v = sync(with(v, "s.1.action", "obs:object:DeleteObject\nobs:object:PutObject", "source", "form"))
	agree(t, v)
	if !strings.Contains(v.Get("policy_json"), "obs:object:PutObject") {
		t.Errorf("the JSON did not follow the form: %s", v.Get("policy_json"))
	}

	// Add statement: an empty statement, shown as [] in the JSON, never null.
	r, v = sync(with(v, "op", "add"))
	if strings.Contains(v.Get("policy_json"), "null") || !strings.Contains(v.Get("policy_json"), `"Action": []`) || v.Get(policy.FormCount) != "3" {
		t.Errorf("after Add statement:\n%s", v.Get("policy_json"))
	}
	// ... which the JSON side reads back into the same form.
	_, again := sync(with(v, "source", "json"))
	if again.Get(policy.FormCount) != "3" || again.Get("policy_json") != v.Get("policy_json") {
		t.Errorf("the JSON of a new statement does not read back: %s", again.Get("policy_json"))
	}
}

// TestEditorReadsEffectInAnyCase: JSON "allow" does not leave the form
// showing an Allow the JSON does not say: it is read as Allow, both views
// say Allow, and a note says so.
func TestEditorReadsEffectInAnyCase(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	doc := `{"policy_statement": [{"Effect": "allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:logs-prod/*"]}]}`
	r := a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy/edit", with(editorForm(t, a, ep), "policy_json", doc, "source", "json"), htmx())
	v := formValues(t, r, "#policy-editor")
	if r.Code != http.StatusOK || v.Get("s.0.effect") != "Allow" || !strings.Contains(v.Get("policy_json"), `"Effect": "Allow"`) {
		t.Fatalf("%d: form %q, JSON %s", r.Code, v.Get("s.0.effect"), v.Get("policy_json"))
	}
	if note := r.text(testid("editor-note")); note != `Statement 1: Effect "allow" is read as "Allow".` {
		t.Errorf("note %q", note)
	}
	// Straight to Preview (no script): the same reading, said there.
	preview := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(editorForm(t, a, ep), "policy_json", doc, "reason", "case"))
	if preview.Code != http.StatusOK || !strings.Contains(preview.text(testid("preview-note")), `read as "Allow"`) {
		t.Fatalf("preview %d %q", preview.Code, preview.text(testid("error-policy_json")))
	}
}

// TestEditorErrorsAreMarked: every invalid control says so with a value,
// points at its error, and the first is marked for focus.
func TestEditorErrorsAreMarked(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(editorForm(t, a, ep), "s.1.resource", "", "reason", " "))
	if r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", r.Code)
	}
	for _, tt := range []struct {
		id, errID string
		first     bool
	}{{"s-1-resource", "s-1-resource-error", true}, {"reason", "reason-error", false}} {
		el := r.doc.Find("#" + tt.id)
		if el.AttrOr("aria-invalid", "") != "true" || el.AttrOr("aria-describedby", "") != tt.errID || r.doc.Find("#"+tt.errID).Length() != 1 {
			t.Errorf("%s is not marked invalid: %v", tt.id, el.Nodes[0].Attr)
		}
		if _, first := el.Attr("data-first-error"); first != tt.first {
			t.Errorf("%s data-first-error: %v", tt.id, first)
		}
		if _, req := el.Attr("required"); !req {
			t.Errorf("%s is not required", tt.id)
		}
	}
	if n := r.doc.Find("[data-first-error]").Length(); n != 1 {
		t.Errorf("%d controls marked first", n)
	}
	if r.doc.Find("#s-0-resource[aria-invalid]").Length() != 0 {
		t.Error("a valid control is marked invalid")
	}
	// An error about the list as a whole points at Add statement.
	none := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(editorForm(t, a, ep), "policy_json", `{"policy_statement": []}`, "source", "json", "reason", "r"))
	if add := none.doc.Find("#add-statement"); add.AttrOr("aria-describedby", "") != "policy-statement-error" || none.doc.Find("#policy-statement-error").Length() != 1 {
		t.Errorf("no statements: %d, Add statement %v", none.Code, add.Nodes[0].Attr)
	}
	// Buttons that only rearrange the form skip the browser's required checks.
	r.doc.Find("[data-editor-op]").Each(func(_ int, b *goquery.Selection) {
		if _, ok := b.Attr("formnovalidate"); !ok {
			t.Errorf("%s checks required fields", b.AttrOr("id", ""))
		}
	})
}

// TestPreviewSaysTheLivePolicyMoved: a preview of an edit started from a
// policy that is no longer live says so before Apply, naming who moved it.
func TestPreviewSaysTheLivePolicyMoved(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	stale := with(editorForm(t, a, ep), "policy_json", readOnlyLogs, "reason", "mine")

	// Someone changes it through the console.
	applied := post(t, a, "/endpoints/"+ep.ID+"/policy", preparedChange(t, a, ep,
		`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:PutObject"], "Resource": ["obs:*:*:object:theirs/*"]}]}`))
	if applied.Code != http.StatusSeeOther {
		t.Fatalf("their change: %d", applied.Code)
	}
	entry := strings.TrimSuffix(applied.Header().Get("Location"), "?done=applied")
	r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", stale)
	if r.Code != http.StatusOK || r.doc.Find(testid("stale-live")).Length() != 1 {
		t.Fatalf("preview %d: no word of the live change", r.Code)
	}
	if href := r.doc.Find(testid("origin-entry")).AttrOr("href", ""); href != entry || r.text(testid("origin-actor")) != a.name ||
		r.doc.Find(testid("origin-time")).AttrOr("datetime", "") == "" {
		t.Errorf("origin: %q %q, want %q %q", href, r.text(testid("origin-actor")), entry, a.name)
	}
	if _, disabled := r.doc.Find(testid("apply")).Attr("disabled"); !disabled {
		t.Error("Apply is offered against a policy that moved")
	}
	rebased := post(t, a, "/endpoints/"+ep.ID+"/policy/edit", formValues(t, r, "form:has([data-testid=rebase-from-preview])"))
	if v := formValues(t, rebased, "#policy-editor"); v.Get("fingerprint") != policy.Fingerprint(a.sim.Live(t, ep.ID)) || !strings.Contains(v.Get("policy_json"), "logs-prod") {
		t.Errorf("rebase from the preview: %d", rebased.Code)
	}

	// Then someone changes it outside the console.
	theirs := *ep
	theirs.Statements = []vpcepsim.Statement{{Effect: "Deny", Action: []string{"obs:object:DeleteObject"}, Resource: []string{"*"}}}
	a.sim.PutEndpoint(&theirs)
	r = post(t, a, "/endpoints/"+ep.ID+"/policy/preview", stale)
	if r.doc.Find(testid("changed-outside")).Length() != 1 {
		t.Errorf("outside change: %q", r.text(testid("stale-origin")))
	}
	// The conflict page names the same: the change, which the attempt
	// recorded (a drift entry, by "external") before refusing.
	conflict := post(t, a, "/endpoints/"+ep.ID+"/policy", formValues(t, post(t, a, "/endpoints/"+ep.ID+"/policy/preview", stale), testid("apply-form")))
	if conflict.Code != http.StatusConflict || conflict.text(testid("conflict-origin")+" "+testid("origin-actor")) != "external" {
		t.Errorf("conflict %d: %q", conflict.Code, conflict.text(testid("conflict-origin")))
	}
	// A fresh editor previews without the warning.
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(editorForm(t, a, ep), "policy_json", readOnlyLogs, "reason", "fresh")); r.doc.Find(testid("stale-live")).Length() != 0 {
		t.Error("a fresh preview warns of a change")
	}
}

// TestPreviewKeepsTheAdminsNumbers: "Statement 3" of a warning is the third
// row of the diff and the third block of the editor; the line diff folds
// what did not change.
func TestPreviewKeepsTheAdminsNumbers(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	live := a.sim.Live(t, ep.ID)
	p := append(policy.Policy{}, live...)
	p = append(p, vpcep.PolicyStatement{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}})
	r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(editorForm(t, a, ep), "policy_json", policy.Pretty(p), "reason", "numbers"))
	if r.Code != http.StatusOK {
		t.Fatalf("preview %d %s", r.Code, r.text(testid("error-policy_json")))
	}
	var rows []string
	r.doc.Find(testid("statement-change")).Each(func(_ int, s *goquery.Selection) {
		rows = append(rows, s.AttrOr("data-number", "")+" "+s.AttrOr("data-kind", ""))
	})
	if want := []string{"1 unchanged", "2 unchanged", "3 added"}; strings.Join(rows, ",") != strings.Join(want, ",") {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if w := r.text(`[data-code="allows_everything"]`); !strings.HasPrefix(w, "Statement 3 ") {
		t.Errorf("warning %q", w)
	}
	if got := r.doc.Find(testid("summary-line")).Length(); got != 1 {
		t.Errorf("%d summary lines for one added statement", got)
	}
	fold := r.doc.Find(testid("unchanged-lines") + " summary").First().Text()
	if !strings.HasSuffix(fold, "unchanged lines") {
		t.Errorf("unchanged lines are not folded: %q", fold)
	}
}

// TestEditorSyncNeedsNoUpstream: a view sync and an editor button only
// convert between the form and the JSON, so they work while the upstream
// fails every read, and make no upstream call; opening the editor and
// Preview still read the live endpoint.
func TestEditorSyncNeedsNoUpstream(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	v := editorForm(t, a, ep)
	a.sim.FailRoute(vpcepsim.RouteGet, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	defer a.sim.ClearFaults()

	for _, tc := range []struct {
		name string
		form url.Values
		want func(r response) string // what is wrong, "" when right
	}{
		{"form to JSON", with(v, "s.0.action", "obs:object:GetObject\nobs:object:AbortMultipartUpload", "source", "form"), func(r response) string {
			if js := r.doc.Find("#policy-json").Text(); !strings.Contains(js, "obs:object:AbortMultipartUpload") {
				return "the JSON does not follow the form:\n" + js
			}
			return ""
		}},
		{"JSON to form", with(v, "policy_json", strings.Replace(v.Get("policy_json"), `"Allow"`, `"Deny"`, 1), "source", "json"), func(r response) string {
			if got := r.doc.Find("#s-0-effect option[selected]").AttrOr("value", ""); got != "Deny" {
				return "the form's first Effect is " + got + ", want Deny"
			}
			return ""
		}},
		{"add statement", with(v, "op", "add"), func(r response) string {
			if n := r.doc.Find(testid("statement-block")).Length(); n != 3 {
				return fmt.Sprintf("%d statements after Add, want 3", n)
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(a.sim.Requests())
			r := a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy/edit", tc.form, htmx())
			if r.Code != http.StatusOK {
				t.Fatalf("sync answered %d while the upstream fails:\n%.1500s", r.Code, r.Body.String())
			}
			if msg := tc.want(r); msg != "" {
				t.Error(msg)
			}
			if n := len(a.sim.Requests()) - before; n != 0 {
				t.Errorf("the sync made %d upstream calls, want 0", n)
			}
		})
	}

	// Preview still checks the live endpoint: with the upstream failing it
	// says so rather than previewing against nothing.
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", with(v, "reason", "OPS-5: check")); r.Code != http.StatusBadGateway {
		t.Errorf("preview with the upstream failing answered %d, want 502", r.Code)
	}
}

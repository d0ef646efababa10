package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestPolicyAPIRequiresJSON: a change's body must be declared JSON.
func TestPolicyAPIRequiresJSON(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	body := `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "r"}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonx"} {
		for _, target := range []string{"PUT /api/v1/endpoints/" + ep.ID + "/policy", "POST /api/v1/audit/1/rollback"} {
			method, path, _ := strings.Cut(target, " ")
			r := a.api(t, method, path, body, map[string]string{"Content-Type": ct})
			if r.code != http.StatusUnsupportedMediaType || r.errField("code") != "unsupported_media_type" {
				t.Errorf("%s with %q: %d %s", target, ct, r.code, r.raw)
			}
		}
	}
	if r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", body, map[string]string{"Content-Type": "application/json; charset=UTF-8"}); r.code != http.StatusOK {
		t.Errorf("charset=UTF-8: %d %s", r.code, r.raw)
	}
	if a.sim.Puts() != 1 {
		t.Errorf("%d PUTs, want 1", a.sim.Puts())
	}
}

// TestPolicyAPIIsStrictJSON: what encoding/json would silently change is
// refused, with the field and what is wrong, and nothing is sent.
func TestPolicyAPIIsStrictJSON(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	const stmt = `{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}`
	tests := []struct{ name, body, field, msg string }{
		{"duplicate reason", `{"policy_statement": [` + stmt + `], "reason": "a", "reason": "b"}`, "reason", `duplicate key "reason"`},
		{"duplicate policy_statement", `{"policy_statement": [], "policy_statement": [` + stmt + `], "reason": "a"}`, "policy_statement", "duplicate key"},
		{"duplicate statement key", `{"policy_statement": [{"Effect": "Deny", "Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "a"}`, "policy_statement[0].Effect", "duplicate key"},
		{"duplicate Condition key", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"], "Condition": {"StringEquals": {"obs:prefix": ["a/"], "obs:prefix": ["b/"]}}}], "reason": "a"}`,
			`policy_statement[0].Condition.StringEquals["obs:prefix"]`, `duplicate key "obs:prefix"`},
		{"lone surrogate in reason", `{"policy_statement": [` + stmt + `], "reason": "a\ud800"}`, "reason", `lone surrogate \ud800`},
		{"lone surrogate in Action", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:\udfff"], "Resource": ["*"]}], "reason": "a"}`, "policy_statement[0].Action[0]", "lone surrogate"},
		{"invalid UTF-8", "{\"policy_statement\": [" + stmt + "], \"reason\": \"a\xff\"}", "reason", "invalid UTF-8"},
		{"NUL in reason", `{"policy_statement": [` + stmt + `], "reason": "a\u0000"}`, "reason", "NUL"},
		{"control character in reason", `{"policy_statement": [` + stmt + `], "reason": "a\u0007"}`, "reason", "control characters"},
		{"trailing object", `{"policy_statement": [` + stmt + `], "reason": "a"} {"reason": "b"}`, "body", "unexpected data after the JSON object at byte 99"},
		{"trailing garbage", `{"policy_statement": [` + stmt + `], "reason": "a"}]`, "body", "unexpected data after the JSON object at byte 98"},
		{"reason a number", `{"policy_statement": [` + stmt + `], "reason": 7}`, "reason", "reason must be a string"},
		{"fingerprint a number", `{"policy_statement": [` + stmt + `], "reason": "a", "fingerprint": 7}`, "fingerprint", "fingerprint must be a string"},
		{"fingerprint not hex", `{"policy_statement": [` + stmt + `], "reason": "a", "fingerprint": "xyz"}`, "fingerprint", "64 hex digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", tt.body, nil)
			msg, _ := r.errField("message").(string)
			if r.code != http.StatusBadRequest || r.errField("field") != tt.field || !strings.Contains(msg, tt.msg) {
				t.Errorf("%d field %v: %s", r.code, r.errField("field"), r.raw)
			}
		})
	}
	rb := a.api(t, "POST", "/api/v1/audit/1/rollback", `{"reason": "a", "reason": "b"}`, nil)
	if rb.code != http.StatusBadRequest || rb.errField("field") != "reason" {
		t.Errorf("rollback with a duplicate key: %d %s", rb.code, rb.raw)
	}
	if a.sim.Puts() != 0 {
		t.Errorf("%d PUTs sent", a.sim.Puts())
	}
	noErrorLogged(t, a)
}

// TestConditionNumbersAreExactEndToEnd: a large integer in a Condition is
// sent, recorded and read back digit for digit, so the change succeeds
// with readback_matches=true.
func TestConditionNumbersAreExactEndToEnd(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	const big = "12345678901234567890123"
	body := `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:logs/*"], "Condition": {"NumericLessThan": {"obs:max-keys": ` + big + `}}}], "reason": "exact numbers"}`
	r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", body, nil)
	if r.code != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.code, r.raw)
	}
	entry := r.body["entry"].(map[string]any)
	if entry["outcome"] != "succeeded" || entry["readback_matches"] != true {
		t.Errorf("outcome %v, readback_matches %v", entry["outcome"], entry["readback_matches"])
	}
	var raw struct {
		Entry map[string]json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal([]byte(r.raw), &raw); err != nil {
		t.Fatalf("answer: %v", err)
	}
	for _, k := range []string{"policy_requested", "request_body"} {
		if !strings.Contains(string(raw.Entry[k]), big) {
			t.Errorf("%s lost the number: %s", k, raw.Entry[k])
		}
	}
	if !strings.Contains(r.raw, `"obs:max-keys":`+big) {
		t.Errorf("entry does not carry the exact number: %.600s", r.raw)
	}
	live := a.sim.Live(t, ep.ID)
	if len(live) != 1 {
		t.Fatalf("upstream holds %d statements, want 1", len(live))
	}
	if !strings.Contains(string(live[0].Condition), big) {
		t.Errorf("upstream holds %s", live[0].Condition)
	}
}

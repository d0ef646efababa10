package handlers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// FuzzEditorForm reads the editor's form as a browser may post it (either
// view): it never panics; a policy it accepts is valid, its JSON passes the
// strict reader, and it survives a trip through the structured view
// unchanged (up to the spaces the Sid input trims).
func FuzzEditorForm(f *testing.F) {
	f.Add("1", "Allow", "obs:*", "*", "", "", `{"policy_statement": []}`, `{"policy_statement": []}`)
	f.Add("1", "Deny", "obs:object:GetObject\nobs:object:PutObject", "obs:*:*:object:a/*", "Sid\u202e", `{"NumericLessThan": {"n": 12345678901234567890123}}`, "", "")
	f.Add("2", "Allow", "a\r\nb", "*", " s ", `{"a": 1, "a": 2}`, "", "")
	f.Add("0", "", "", "", "", "", `{"policy_statement": [{"Effect": "Allow", "Action": ["x"], "Resource": ["*"], "Sid": " padded "}]}`, "")
	f.Add("99", "Allow", "x", "*", "", "[]", "", "")
	f.Fuzz(func(t *testing.T, count, effect, actions, resources, sid, condition, raw, base string) {
		v := url.Values{policy.FormCount: {count}, "policy_json": {raw}, "json_base": {base}, "reason": {"fuzz"}}
		for i := range 2 {
			v.Set(policy.FormName(i, policy.FormEffect), effect)
			v.Set(policy.FormName(i, policy.FormAction), actions)
			v.Set(policy.FormName(i, policy.FormResource), resources)
			v.Set(policy.FormName(i, policy.FormSid), sid)
			v.Set(policy.FormName(i, policy.FormCondition), condition)
		}
		req := httptest.NewRequest(http.MethodPost, "/endpoints/x/policy/preview", strings.NewReader(v.Encode()))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		c := echo.New().NewContext(req, httptest.NewRecorder())
		form, err := readEditorForm(c)
		if err != nil {
			return
		}
		p, sy := chosenPolicy(form)
		if len(sy.Errors) > 0 {
			return
		}
		if verrs := policy.Validate(p); len(verrs) > 0 {
			t.Fatalf("accepted an invalid policy: %v", verrs)
		}
		if err := policy.CheckJSON([]byte(policy.JSON(p)), ""); err != nil {
			t.Fatalf("accepted policy's JSON is refused: %v", err)
		}
		again, sy := chosenPolicy(formFromPolicy(p, form))
		if len(sy.Errors) > 0 {
			t.Fatalf("the structured view of an accepted policy is refused: %v", sy.Errors)
		}
		trimmed := make(policy.Policy, len(p))
		for i, s := range p {
			s.Sid = strings.TrimSpace(s.Sid)
			trimmed[i] = s
		}
		if !policy.Equal(trimmed, again) {
			t.Fatalf("the structured view changed the policy:\n%s\n%s", policy.CanonicalJSON(trimmed), policy.CanonicalJSON(again))
		}
	})
}

package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The policy editor's form. The structured view posts the inputs that
// policy.FormCount and policy.FormName name; the raw view posts policy_json. json_base is
// the raw JSON as the server last rendered it: when policy_json differs from
// it the admin edited the raw view, and that view is the source.

// readEditorForm reads the editor's fields as typed.
func readEditorForm(c echo.Context) (views.EditorForm, error) {
	f := views.EditorForm{
		RawJSON:       c.FormValue("policy_json"),
		JSONBase:      c.FormValue("json_base"),
		Reason:        c.FormValue("reason"),
		Fingerprint:   c.FormValue("fingerprint"),
		BasePolicy:    c.FormValue("base_policy"),
		SubmissionKey: c.FormValue("submission_key"),
	}
	switch src := c.FormValue("source"); src {
	case views.SourceForm, views.SourceJSON:
		f.Source = src
	}
	if k := f.SubmissionKey; k != "" && badKey(k) != "" {
		return f, badRequest("The form's submission key " + badKey(k) + ".")
	}
	count := 0
	if v := c.FormValue(policy.FormCount); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > policy.MaxStatements+1 || len(v) > 3 {
			return f, badRequest(fmt.Sprintf("The editor sent %q statements; at most %d are allowed.", v, policy.MaxStatements))
		}
		count = n
	}
	for i := range count {
		f.Statements = append(f.Statements, views.StatementForm{
			Effect:    c.FormValue(policy.FormName(i, policy.FormEffect)),
			Actions:   c.FormValue(policy.FormName(i, policy.FormAction)),
			Resources: c.FormValue(policy.FormName(i, policy.FormResource)),
			Sid:       c.FormValue(policy.FormName(i, policy.FormSid)),
			Condition: c.FormValue(policy.FormName(i, policy.FormCondition)),
		})
	}
	return f, nil
}

// jsonIsSource reports whether the raw view is the one to read: the
// editor's script says which view the admin edited last; without it, the
// raw view is the source when it changed since it was rendered.
func jsonIsSource(f views.EditorForm) bool {
	if f.Source != "" {
		return f.Source == views.SourceJSON
	}
	return strings.TrimSpace(f.RawJSON) != strings.TrimSpace(f.JSONBase)
}

// synced is the editor after both views were brought to the source view.
type synced struct {
	Form   views.EditorForm
	Policy policy.Policy      // what both views now show
	Errors policy.FieldErrors // what kept the views from agreeing
	Notes  []string
	// JSONInvalid: the raw JSON cannot be read; the form is kept as it was.
	JSONInvalid bool
}

// syncViews brings the other view to the source view. A raw JSON that
// cannot be read stays as typed, with its error, and stays the source.
func syncViews(f views.EditorForm) synced {
	if jsonIsSource(f) {
		read := policy.ReadEditorDocument([]byte(f.RawJSON), "policy_json")
		if len(read.Errors) > 0 {
			f.Source = views.SourceJSON
			return synced{Form: f, Errors: atRawView(read.Errors), Notes: read.Notes, JSONInvalid: true}
		}
		f = formFromPolicy(read.Policy, f)
		return synced{Form: f, Policy: read.Policy, Notes: read.Notes}
	}
	return syncFromForm(f)
}

// syncFromForm writes the structured view into the raw view.
func syncFromForm(f views.EditorForm) synced {
	p, errs := structuredPolicy(f)
	f.RawJSON = policy.Pretty(p)
	f.JSONBase, f.Source = f.RawJSON, ""
	return synced{Form: f, Policy: p, Errors: errs}
}

// structuredPolicy builds the policy the structured view shows. Field
// errors use the policy's paths, so they land on the right block.
func structuredPolicy(f views.EditorForm) (policy.Policy, policy.FieldErrors) {
	var errs policy.FieldErrors
	p := make(policy.Policy, 0, len(f.Statements))
	for i, s := range f.Statements {
		st := vpcep.PolicyStatement{
			Effect:   strings.TrimSpace(s.Effect),
			Action:   lines(s.Actions),
			Resource: lines(s.Resources),
			Sid:      strings.TrimSpace(s.Sid),
		}
		if cond := strings.TrimSpace(s.Condition); cond != "" {
			var obj map[string]json.RawMessage // an object; its numbers stay as written
			if err := policy.CheckJSON([]byte(cond), ""); err != nil {
				errs = append(errs, policy.FieldError{Field: policy.StatementFieldPath(i, "Condition"),
					Message: `Condition must be a JSON object, e.g. {"StringEquals": {"obs:prefix": ["logs/"]}}. ` + policy.SyntaxErrorMessage([]byte(cond), err) + conditionLeftOut})
			} else if err := json.Unmarshal([]byte(cond), &obj); err != nil || obj == nil {
				errs = append(errs, policy.FieldError{Field: policy.StatementFieldPath(i, "Condition"),
					Message: `Condition must be a JSON object, e.g. {"StringEquals": {"obs:prefix": ["logs/"]}}.` + conditionLeftOut})
			} else {
				st.Condition = json.RawMessage(cond)
			}
		}
		p = append(p, st)
	}
	return p, errs
}

// conditionLeftOut says why the raw view lacks a Condition the form has.
const conditionLeftOut = " The raw JSON leaves this condition out until it is fixed."

// lines splits a one-entry-per-line textarea, ignoring blank lines. No
// lines is an empty list, which the raw view shows as [] (never null).
func lines(text string) []string {
	out := []string{}
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// chosenPolicy returns the policy the form proposes, from the source view,
// fully validated, with both views brought to it. Errors are at the
// statement fields; when the raw view is the source they are repeated at it.
func chosenPolicy(f views.EditorForm) (policy.Policy, synced) {
	fromJSON := jsonIsSource(f)
	s := syncViews(f)
	if len(s.Errors) > 0 {
		return s.Policy, s
	}
	s.Errors = policy.Validate(s.Policy)
	if fromJSON && len(s.Errors) > 0 {
		// Keep the JSON as typed: the admin fixes it where they wrote it.
		s.Form.RawJSON, s.Form.JSONBase = f.RawJSON, f.RawJSON
		s.Errors = append(s.Errors, atRawView(s.Errors)...)
	}
	return s.Policy, s
}

// atRawView moves errors found in the raw JSON to the raw view's field,
// keeping their path in the message.
func atRawView(errs policy.FieldErrors) policy.FieldErrors {
	if len(errs) == 0 {
		return nil
	}
	var parts []string
	for _, e := range errs {
		if e.Field == "policy_json" {
			parts = append(parts, e.Message)
		} else {
			parts = append(parts, e.Field+": "+e.Message)
		}
	}
	return policy.FieldErrors{{Field: "policy_json", Message: strings.Join(parts, " ")}}
}

// formFromPolicy renders p into both views.
func formFromPolicy(p policy.Policy, keep views.EditorForm) views.EditorForm {
	f := keep
	f.Statements = nil
	for _, s := range p {
		sf := views.StatementForm{
			Effect:    s.Effect,
			Actions:   strings.Join(s.Action, "\n"),
			Resources: strings.Join(s.Resource, "\n"),
			Sid:       s.Sid,
		}
		if len(s.Condition) > 0 {
			sf.Condition = string(s.Condition)
		}
		f.Statements = append(f.Statements, sf)
	}
	f.RawJSON = policy.Pretty(p)
	f.JSONBase, f.Source = f.RawJSON, ""
	return f
}

// newSubmissionKey is the one-time key a form carries.
func newSubmissionKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

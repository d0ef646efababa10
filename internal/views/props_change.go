package views

import (
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// StatementForm is one statement block of the structured editor, as typed:
// Actions and Resources hold one entry per line.
type StatementForm struct {
	Effect    string
	Actions   string
	Resources string
	Sid       string
	Condition string
}

// EditorForm is everything the policy editor carries between requests.
type EditorForm struct {
	Statements    []StatementForm
	RawJSON       string // the raw JSON view
	JSONBase      string // the raw JSON as last rendered, to tell which view was edited
	Reason        string
	Fingerprint   string // of the live policy the edit started from
	BasePolicy    string // that policy, as JSON, for the three-way conflict view
	SubmissionKey string // one-time key: a double-clicked Apply makes one change
	// Source is the view the admin edited last, "form" or "json", as the
	// editor's script tells it; "" (no script) when it is to be told from
	// JSONBase. The server renders "json" while the JSON cannot be read, so
	// the JSON stays the view Preview uses until it is fixed.
	Source string
}

// Editor views named by EditorForm.Source.
const (
	SourceForm = "form"
	SourceJSON = "json"
)

// PolicyEditPage is /endpoints/{id}/policy/edit.
type PolicyEditPage struct {
	Base
	Endpoint *vpcep.Endpoint
	Form     EditorForm
	Errors   policy.FieldErrors
	Notice   string
	Notes    []string // what was read differently from how it was written ("allow" as Allow)
	// JSONInvalid: the raw JSON cannot be read, so the form still shows the
	// policy from before the JSON was edited.
	JSONInvalid bool
	// Drift is the endpoint's open drift, shown before the form: the admin
	// knows what they edit on top of. DriftError says why the check failed.
	Drift      *DriftBanner
	DriftError string
}

// PolicyPreviewPage shows what a change does before it is applied.
type PolicyPreviewPage struct {
	Base
	Endpoint     *vpcep.Endpoint
	Form         EditorForm
	ProposedJSON string // the proposed policy, carried to Apply
	Diff         policy.Diff
	Warnings     []policy.Warning
	Errors       policy.FieldErrors
	Notes        []string
	// Stale is set when the live policy is no longer the one the editor
	// opened with: Apply would be refused as a conflict, so it is said here.
	Stale *LiveOrigin
	// LiveFingerprint and LiveJSON let the admin rebase on the live policy.
	LiveFingerprint string
	LiveJSON        string
}

// LiveOrigin says which change left the live policy as it is now.
type LiveOrigin struct {
	LookedUp bool  // false: the audit log could not be read
	EntryID  int64 // 0: no audit entry left this policy: changed outside the console
	Actor    string
	At       time.Time
}

// ConflictPage shows a change that lost a race: the base it was made from,
// theirs (live now) and yours, with the diffs between them.
type ConflictPage struct {
	Base
	EndpointID      string
	EntryID         int64
	BaseKnown       bool
	BaseToTheirs    policy.Diff
	BaseToYours     policy.Diff
	TheirsToYours   policy.Diff
	YoursJSON       string
	Reason          string
	LiveFingerprint string
	LiveJSON        string
	Rollback        *RollbackTarget // set when the conflicting change was a rollback
	Origin          LiveOrigin      // which change made the live policy
}

// RollbackTarget names a rollback: which entry, and to which side of it.
type RollbackTarget struct {
	EntryID  int64
	Restores string
}

// MessagePage is a plain outcome page, e.g. "nothing to change".
type MessagePage struct {
	Base
	Heading string
	Message string
	Links   []Link
}

// Link is a labelled URL.
type Link struct{ Label, URL string }

// statementID is the id of statement i's block in the editor: s-{i}.
func statementID(i int) string { return "s-" + strconv.Itoa(i) }

// fieldID is the id of input name of statement i in the editor,
// s-{i}-{name}: stable across re-renders, so focus can be put back.
func fieldID(i int, name string) string { return statementID(i) + "-" + name }

// editorControls lists the editor's controls in page order, each with the
// error path it shows and whether errors inside the path count too.
func editorControls(p PolicyEditPage) []struct {
	id, path string
	within   bool
} {
	type control = struct {
		id, path string
		within   bool
	}
	var out []control
	for i := range p.Form.Statements {
		out = append(out,
			control{fieldID(i, policy.FormEffect), policy.StatementPath(i), false},
			control{fieldID(i, policy.FormEffect), policy.StatementFieldPath(i, "Effect"), false},
			control{fieldID(i, policy.FormSid), policy.StatementFieldPath(i, "Sid"), false},
			control{fieldID(i, policy.FormAction), policy.StatementFieldPath(i, "Action"), true},
			control{fieldID(i, policy.FormResource), policy.StatementFieldPath(i, "Resource"), true},
			control{fieldID(i, policy.FormCondition), policy.StatementFieldPath(i, "Condition"), false},
		)
	}
	return append(out, control{"policy-json", "policy_json", false}, control{"reason", "reason", false})
}

// firstErrorID is the id of the first control with an error, which the
// page's scripts focus and scroll to (data-first-error), or "".
func firstErrorID(p PolicyEditPage) string {
	for _, c := range editorControls(p) {
		if errorAt(p.Errors, c.path, c.within) != "" {
			return c.id
		}
	}
	return ""
}

func errorAt(errs policy.FieldErrors, path string, within bool) string {
	if within {
		return errs.Within(path)
	}
	return errs.For(path)
}

// fieldAttrs marks the control id invalid when path has an error: its
// error text is id-error, and the first invalid control on the page says
// so (data-first-error).
func fieldAttrs(p PolicyEditPage, path, id string, within bool) templ.Attributes {
	if errorAt(p.Errors, path, within) == "" {
		return templ.Attributes{}
	}
	a := templ.Attributes{"aria-invalid": "true", "aria-describedby": id + "-error"}
	if firstErrorID(p) == id {
		a["data-first-error"] = "true"
	}
	return a
}

// opAttrs points Add statement at an error about the statement list as a
// whole ("at least one statement"), the control that fixes it: marked first
// when no field has an error.
func opAttrs(p PolicyEditPage, op string) templ.Attributes {
	if op != "add" || p.Errors.For(policy.PolicyField) == "" {
		return templ.Attributes{}
	}
	a := templ.Attributes{"aria-describedby": "policy-statement-error"}
	if firstErrorID(p) == "" {
		a["data-first-error"] = "true"
	}
	return a
}

// jsonErrorHeadline says why the raw JSON cannot be shown in the form.
func jsonErrorHeadline(msg string) string {
	if strings.HasPrefix(msg, "The JSON has an error") || strings.HasPrefix(msg, "Not well-formed") {
		return msg
	}
	return "The raw JSON cannot be shown in the form: " + msg
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// diffContext is how many unchanged lines a line diff shows around a change.
const diffContext = 3

func unchangedLabel(n int) string {
	if n == 1 {
		return "1 unchanged line"
	}
	return strconv.Itoa(n) + " unchanged lines"
}

// statementNumber is a diff row's statement number as the editor shows it;
// a removed statement's is its number in the policy before.
func statementNumber(c policy.StatementChange) string {
	if c.Kind == policy.Removed {
		return "was " + strconv.Itoa(c.BeforeNumber)
	}
	return strconv.Itoa(c.Number)
}

func lineClass(op string) string {
	switch op {
	case "+":
		return "line-added"
	case "-":
		return "line-removed"
	}
	return "line-same"
}

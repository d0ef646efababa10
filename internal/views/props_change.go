package views

import (
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
}

// PolicyEditPage is /endpoints/{id}/policy/edit.
type PolicyEditPage struct {
	Base
	Endpoint *vpcep.Endpoint
	Form     EditorForm
	Errors   policy.FieldErrors
	Notice   string
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

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
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

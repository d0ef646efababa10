package change

import (
	"fmt"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// NotRestorableError says why an entry cannot be rolled back to the side asked.
type NotRestorableError struct{ Reason string }

func (e *NotRestorableError) Error() string { return "change: cannot roll back: " + e.Reason }

// Rollback is a planned rollback of one audit entry: which policy it
// restores and what the live policy is expected to be.
type Rollback struct {
	Of       *audit.Entry
	Restores string        // audit.RestoresBefore (undo it) or audit.RestoresAfter (go back to its version)
	Target   policy.Policy // the policy the rollback puts back
	// Left is the policy the rolled-back entry left behind (its requested
	// one), which an undo expects to find live.
	Left policy.Policy
}

// ParseRestores reads the side to restore: "" or "before" undoes the entry,
// "after" goes back to the version it made.
func ParseRestores(v string) (string, error) {
	switch v {
	case "", audit.RestoresBefore:
		return audit.RestoresBefore, nil
	case audit.RestoresAfter:
		return audit.RestoresAfter, nil
	}
	return "", &NotRestorableError{Reason: `"restores" must be "before" or "after".`}
}

// PlanRollback plans the rollback of e to the side restores names. Only a
// succeeded entry can be rolled back, and only to a known, non-empty policy.
func PlanRollback(e *audit.Entry, restores string) (*Rollback, error) {
	if e.Outcome != audit.OutcomeSucceeded {
		return nil, &NotRestorableError{Reason: fmt.Sprintf("Entry #%d did not succeed (%s): there is nothing of it to roll back.", e.ID, e.Outcome)}
	}
	raw := e.PolicyBefore
	if restores == audit.RestoresAfter {
		raw = e.PolicyRequested
	}
	target, err := policy.FromJSON(raw)
	if err != nil {
		return nil, &NotRestorableError{Reason: fmt.Sprintf("The policy before entry #%d is not known, so it cannot be restored.", e.ID)}
	}
	if len(target) == 0 {
		return nil, &NotRestorableError{Reason: "That version of the policy had no statements; a policy needs at least one, so it cannot be restored."}
	}
	left, _ := policy.FromJSON(e.PolicyRequested)
	return &Rollback{Of: e, Restores: restores, Target: target, Left: left}, nil
}

// DefaultReason is the reason a rollback records when the admin gives none.
func (r *Rollback) DefaultReason() string {
	if r.Restores == audit.RestoresAfter {
		return fmt.Sprintf("Restore of the version after #%d", r.Of.ID)
	}
	return fmt.Sprintf("Rollback of #%d", r.Of.ID)
}

// Drifted reports whether an undo would also discard changes made after the
// entry: the live policy is no longer what the entry left.
func (r *Rollback) Drifted(live policy.Policy) bool {
	return r.Restores == audit.RestoresBefore && !policy.Equal(r.Left, live)
}

// Request is the change that carries out the rollback. fingerprint is the
// live policy the admin saw when confirming it; without one, an undo is
// checked against what the entry left (so it never discards a later change
// unseen), and a restore of a version is not checked.
func (r *Rollback) Request(actor, reason, fingerprint, submissionKey string) Request {
	if fingerprint == "" && r.Restores == audit.RestoresBefore && r.Left != nil {
		fingerprint = policy.Fingerprint(r.Left)
	}
	if reason == "" {
		reason = r.DefaultReason()
	}
	return Request{
		Actor: actor, EndpointID: r.Of.EndpointID, Policy: r.Target, Reason: reason,
		Fingerprint: fingerprint, SubmissionKey: submissionKey,
		Action: audit.ActionRollback, RollbackOf: &r.Of.ID, Restores: r.Restores,
	}
}

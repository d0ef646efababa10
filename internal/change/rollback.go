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
// "after" goes back to the version it made, "known" reverts a drift to the
// version the console knew (planned by PlanRevert, not PlanRollback).
func ParseRestores(v string) (string, error) {
	switch v {
	case "", audit.RestoresBefore:
		return audit.RestoresBefore, nil
	case audit.RestoresAfter:
		return audit.RestoresAfter, nil
	case audit.RestoresKnown:
		return audit.RestoresKnown, nil
	}
	return "", &NotRestorableError{Reason: `"restores" must be "before", "after" or (for a drift entry) "known".`}
}

// PlanRollback plans the rollback of e to the side restores names. Only a
// succeeded entry can be rolled back, and only to a known, non-empty policy.
func PlanRollback(e *audit.Entry, restores string) (*Rollback, error) {
	switch {
	case e.Action == audit.ActionAttribute:
		return nil, &NotRestorableError{Reason: fmt.Sprintf("Entry #%d only says who made a change outside the console; it changed no policy. Roll back the drift entry #%s instead.", e.ID, refersTo(e))}
	case e.Action == audit.ActionBaseline && restores == audit.RestoresBefore:
		return nil, &NotRestorableError{Reason: fmt.Sprintf("Entry #%d is the policy as the console first found it; it changed nothing, so there is nothing to undo. Restore its version (\"restores\": \"after\") to go back to it.", e.ID)}
	case restores == audit.RestoresKnown:
		return nil, &NotRestorableError{Reason: fmt.Sprintf("Only an open drift can be reverted to the known version; entry #%d is a %s entry.", e.ID, e.Action)}
	}
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

// refersTo is e's refers_to, as text.
func refersTo(e *audit.Entry) string {
	if e.RefersTo == nil {
		return "?"
	}
	return fmt.Sprint(*e.RefersTo)
}

// PlanRevert plans the revert of the drift entry e: restoring known, the
// last version the console established before it (the drift detector
// knows it: internal/drift's PlanRevert), checked against the drifted
// version e found live.
func PlanRevert(e *audit.Entry, known []byte) (*Rollback, error) {
	if e.Action != audit.ActionDrift {
		return nil, &NotRestorableError{Reason: fmt.Sprintf("Entry #%d is not a change made outside the console; only those are reverted.", e.ID)}
	}
	target, err := policy.FromJSON(known)
	if err != nil {
		return nil, &NotRestorableError{Reason: "The version the console knew before this change is not recorded, so it cannot be restored."}
	}
	if len(target) == 0 {
		return nil, &NotRestorableError{Reason: "The known version had no statements; a policy needs at least one, so it cannot be restored."}
	}
	left, _ := policy.FromJSON(e.PolicyRequested)
	return &Rollback{Of: e, Restores: audit.RestoresKnown, Target: target, Left: left}, nil
}

// DefaultReason is the reason a rollback records when the admin gives none.
func (r *Rollback) DefaultReason() string {
	if r.Restores == audit.RestoresKnown {
		return fmt.Sprintf("Revert of #%d, a change made outside the console", r.Of.ID)
	}
	if r.Restores == audit.RestoresAfter {
		return fmt.Sprintf("Restore of the version after #%d", r.Of.ID)
	}
	return fmt.Sprintf("Rollback of #%d", r.Of.ID)
}

// Drifted reports whether an undo would also discard changes made after the
// entry: the live policy is no longer what the entry left.
func (r *Rollback) Drifted(live policy.Policy) bool {
	return r.Restores != audit.RestoresAfter && !policy.Equal(r.Left, live)
}

// Request is the change that carries out the rollback. fingerprint is the
// live policy the admin saw when confirming it; without one, an undo is
// checked against what the entry left (so it never discards a later change
// unseen), and a restore of a version is not checked.
func (r *Rollback) Request(actor, reason, fingerprint, submissionKey string) Request {
	if fingerprint == "" && r.Restores != audit.RestoresAfter && r.Left != nil {
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

// Package change applies policy changes to gateway endpoints the one safe
// way: validated, under the endpoint's lock, checked against the live
// policy, written ahead to the audit log, sent, read back and finalised on a
// context no browser can cancel. Edits and rollbacks both go through Apply,
// which says what happened as one Outcome. The Reconciler settles entries a
// crash left pending.
package change

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is what a change needs of the VPCEP API.
type Upstream interface {
	GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error)
	UpdatePolicy(ctx context.Context, id string, statements []vpcep.PolicyStatement) (*vpcep.Endpoint, error)
}

// Inventory is where a change puts the endpoint it read back, so that the
// endpoint list shows the change before the next refresh.
type Inventory interface {
	PutInventoryEndpoint(ctx context.Context, ep *vpcep.Endpoint) error
}

// Request is one change as submitted.
type Request struct {
	Actor         string
	EndpointID    string
	Policy        policy.Policy
	Reason        string
	Fingerprint   string // of the live policy the change was made against; "" skips the check
	SubmissionKey string // one-time key: a repeat finds the first entry
	Action        string // audit.ActionUpdate or audit.ActionRollback
	RollbackOf    *int64
	Restores      string
	// Acknowledged are the codes of the lint warnings (policy.Lint) the
	// actor acknowledged; each must be a warning of Policy. The audit entry
	// records them, with the actor as who acknowledged them.
	Acknowledged []string
}

// AcknowledgedField is the field path of Request.Acknowledged in errors.
const AcknowledgedField = "acknowledged_warnings"

// checkAcknowledged refuses an acknowledged code that is not a warning of
// the policy: an entry must never say a warning was seen that was not shown.
func checkAcknowledged(req Request) policy.FieldErrors {
	if len(req.Acknowledged) == 0 {
		return nil
	}
	warned := map[string]bool{}
	for _, w := range policy.Lint(req.Policy) {
		warned[w.Code] = true
	}
	for _, code := range req.Acknowledged {
		if !warned[code] {
			return policy.FieldErrors{{Field: AcknowledgedField, Message: fmt.Sprintf("%q is not a warning of this policy, so it cannot be acknowledged.", code)}}
		}
	}
	return nil
}

// Outcome is what a change did. Every Outcome comes with an audit entry.
type Outcome string

// The outcomes of Apply. Adding one means adding its answer to the handlers'
// table of outcomes.
const (
	// Applied: sent, and the upstream holds the requested policy.
	Applied Outcome = "applied"
	// Unchanged: the live policy already was the requested one; nothing was sent.
	Unchanged Outcome = "unchanged"
	// Conflict: the live policy is no longer the one the change was made
	// against; nothing was sent.
	Conflict Outcome = "conflict"
	// Failed: the upstream refused the change, or the live policy could not
	// be read before it (then nothing was sent).
	Failed Outcome = "failed"
	// Unknown: sent, and what the upstream holds afterwards is neither the
	// policy before nor the one requested, or contradicts its answer (an
	// accepted change whose read-back differs is never a plain success).
	Unknown Outcome = "unknown"
	// Unsettled: sent, but the outcome could not be recorded yet; the entry
	// stays pending until the Reconciler settles it from the live policy.
	Unsettled Outcome = "unsettled"
	// Duplicate: this submission was recorded before; Entry is that entry.
	Duplicate Outcome = "duplicate"
	// LockLost: the console lost its hold on the endpoint (its database
	// session ended) before sending; nothing was sent.
	LockLost Outcome = "lock_lost"
	// Unrecorded: nothing was sent, but how the change ended could not be
	// recorded; the entry stays pending until the Reconciler settles it.
	Unrecorded Outcome = "unrecorded"
)

// Outcomes lists every Outcome, for tables that must answer each one.
var Outcomes = []Outcome{Applied, Unchanged, Conflict, Failed, Unknown, Unsettled, Duplicate, LockLost, Unrecorded}

// Result is a change that reached the audit log.
type Result struct {
	Outcome Outcome
	// Entry is the change's audit entry; for Duplicate, the earlier one.
	Entry *audit.Entry
	// Endpoint is the endpoint as read back after the PUT, or as it was
	// live when nothing was sent; nil when it could not be read.
	Endpoint *vpcep.Endpoint
	// Upstream is the upstream's failure, when it had one: a *vpcep.Error
	// with its status, code and request id, or a transport error.
	Upstream error
}

// UpstreamError is the upstream's failure as a *vpcep.Error, if it was one.
func (r *Result) UpstreamError() *vpcep.Error {
	var ue *vpcep.Error
	if errors.As(r.Upstream, &ue) {
		return ue
	}
	return nil
}

// Errors of Apply: each means nothing was recorded and nothing was sent.
var (
	// ErrBusy means another change to the same endpoint held its lock for
	// the whole wait.
	ErrBusy = errors.New("change: another change to this endpoint is in progress")
	// ErrAuditUnavailable means the audit log could not take the pending
	// entry, so nothing was sent: the log fails closed.
	ErrAuditUnavailable = errors.New("change: the audit log could not record the change, so nothing was sent")
	// ErrShuttingDown means the console is shutting down and takes no new
	// change; another replica, or this one once restarted, will.
	ErrShuttingDown = errors.New("change: the console is shutting down")
)

// PendingError means an earlier change to the endpoint is still in flight
// (or was left pending by a crash and is not yet old enough to settle):
// nothing was recorded or sent. Entry is that earlier change.
type PendingError struct{ Entry *audit.Entry }

func (e *PendingError) Error() string {
	return fmt.Sprintf("change: entry #%d for this endpoint is still pending", e.Entry.ID)
}

// Observer is told what changes and the Reconciler did, for metrics.
type Observer interface {
	// ChangeFinished is called once per Apply that recorded something.
	ChangeFinished(Outcome)
	// EntrySettled is called when the Reconciler settles an entry, with
	// the outcome recorded (succeeded, failed, unknown).
	EntrySettled(outcome string)
}

// InvalidError is a request that failed validation.
type InvalidError struct{ Errors policy.FieldErrors }

func (e *InvalidError) Error() string { return "change: invalid: " + e.Errors.Error() }

// NotEditableError says why the endpoint's policy cannot be changed.
type NotEditableError struct{ Reason string }

func (e *NotEditableError) Error() string { return "change: not editable: " + e.Reason }

// Editable says whether ep's policy_statement can be changed, and if not why.
// The API returns policy_statement (possibly empty) only for gateway
// endpoints whose service takes one (OBS or SFS with enable_policy on).
func Editable(ep *vpcep.Endpoint) (bool, string) {
	switch {
	case ep.ServiceType != vpcep.ServiceTypeGateway:
		return false, "Only gateway endpoints have a policy_statement; this is an " + ep.ServiceType + " endpoint (its policy, if any, is a policy_document)."
	case ep.PolicyStatement == nil:
		return false, "This gateway endpoint's service does not take a policy_statement: only OBS and SFS services with endpoint policies enabled do."
	}
	return true, ""
}

// CheckEditable is Editable as an error: a *NotEditableError, or nil.
func CheckEditable(ep *vpcep.Endpoint) error {
	if ok, why := Editable(ep); !ok {
		return &NotEditableError{Reason: why}
	}
	return nil
}

// EndpointLock names an endpoint's advisory lock. The name is part of the
// contract between replicas: changing it lets two versions edit at once.
// The drift detector takes it too, to record a drift exactly once.
func EndpointLock(endpointID string) string { return "vpcep-endpoint:" + endpointID }

// endpointLock is EndpointLock.
func endpointLock(endpointID string) string { return EndpointLock(endpointID) }

// DriftRecorder records a change made outside the console that a change
// finds live (internal/drift's Detector), and keeps the endpoint's state.
// Its calls come with the endpoint's lock held:
//   - SeenVersion, read while the live endpoint is: when the live policy is
//     that version, nothing moved and there is nothing to record.
//   - ObserveLocked: otherwise, after reading the live endpoint and before
//     the change's own entry (again after settling an earlier entry a crash
//     left pending, which kept it from deciding); after a change whose state
//     QueueChangeState did not write; and by the Reconciler after it settles
//     an entry, with the endpoint it read.
//   - QueueChangeState: the state a change leaves, written in the
//     transaction of its finalise.
//
// Before a change an error refuses the change (ErrAuditUnavailable):
// nothing recorded, nothing sent, no drift lost. Elsewhere it is logged,
// and the next look records the drift.
type DriftRecorder interface {
	SeenVersion(ctx context.Context, endpointID string) (fingerprint string, err error)
	ObserveLocked(ctx context.Context, ep *vpcep.Endpoint, how string) error
	QueueChangeState(b *pgx.Batch, ep *vpcep.Endpoint, e *audit.Entry) (settled bool, committed func())
}

// Package change applies policy changes to gateway endpoints the one safe
// way: validated, under the endpoint's lock, checked against the live
// policy, written ahead to the audit log, sent, read back and finalised on a
// context no browser can cancel. Edits and rollbacks both go through Apply.
// The Reconciler settles entries a crash left pending.
package change

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is what a change needs of the VPCEP API.
type Upstream interface {
	GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error)
	UpdatePolicy(ctx context.Context, id string, statements []vpcep.PolicyStatement) (*vpcep.Endpoint, error)
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
}

// Result is a change that reached the audit log.
type Result struct {
	Entry    *audit.Entry
	Endpoint *vpcep.Endpoint // as read back after the PUT, or live when nothing was sent
}

// InvalidError is a request that failed validation; nothing was recorded or sent.
type InvalidError struct{ Errors policy.FieldErrors }

func (e *InvalidError) Error() string { return "change: invalid: " + e.Errors.Error() }

// NotEditableError says why the endpoint's policy cannot be changed.
type NotEditableError struct{ Reason string }

func (e *NotEditableError) Error() string { return "change: not editable: " + e.Reason }

// ConflictError means the live policy is no longer the one the change was
// made against. It was recorded as failed; nothing was sent.
type ConflictError struct {
	Entry *audit.Entry
	Live  *vpcep.Endpoint
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("change: the live policy changed since the change was prepared (entry #%d)", e.Entry.ID)
}

// NoChangeError means the live policy already is the requested one. It was
// recorded; nothing was sent.
type NoChangeError struct {
	Entry *audit.Entry
	Live  *vpcep.Endpoint
}

func (e *NoChangeError) Error() string {
	return "change: the live policy already equals the requested one"
}

// RecordError means the audit log could not take the pending entry, so
// nothing was sent: the log fails closed.
type RecordError struct{ Err error }

func (e *RecordError) Error() string {
	return "change: the audit log could not record the change, so nothing was sent: " + e.Err.Error()
}
func (e *RecordError) Unwrap() error { return e.Err }

// UnsettledError means the change was sent but its outcome could not be
// recorded yet; the entry stays pending until the Reconciler settles it.
type UnsettledError struct {
	Entry *audit.Entry
	Err   error
}

func (e *UnsettledError) Error() string {
	return fmt.Sprintf("change: entry #%d was sent but its outcome is not yet known (%v); it will be settled from the live policy", e.Entry.ID, e.Err)
}
func (e *UnsettledError) Unwrap() error { return e.Err }

// Applier applies changes.
type Applier struct {
	upstream  Upstream
	log       *audit.Log
	locks     endpointLocks
	projectID string
	region    string
	deadline  time.Duration
	lockWait  time.Duration
	logger    *slog.Logger
}

// Config configures an Applier.
type Config struct {
	ProjectID, Region string
	// Deadline bounds the PUT, the read-back and the finalise together. They
	// run detached from the request: a closed browser never cuts them short.
	Deadline time.Duration
	// LockWait bounds the wait for another change to the same endpoint.
	LockWait time.Duration
}

// NewApplier returns an Applier.
func NewApplier(upstream Upstream, log *audit.Log, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) *Applier {
	if cfg.Deadline == 0 {
		cfg.Deadline = 90 * time.Second
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = 30 * time.Second
	}
	return &Applier{upstream: upstream, log: log, locks: endpointLocks{pool}, projectID: cfg.ProjectID,
		region: cfg.Region, deadline: cfg.Deadline, lockWait: cfg.LockWait, logger: logger}
}

// Deadline is how long a sent change may take to be finalised.
func (a *Applier) Deadline() time.Duration { return a.deadline }

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

// Apply validates, locks, checks and sends one change. On an upstream
// failure it returns both the Result (with the failed entry) and the error.
func (a *Applier) Apply(ctx context.Context, req Request) (*Result, error) {
	if errs := append(policy.Validate(req.Policy), policy.ValidateReason(req.Reason)...); len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}
	release, err := a.locks.lock(ctx, req.EndpointID, a.lockWait)
	if err != nil {
		return nil, err
	}
	defer release()

	live, readErr := a.upstream.GetEndpoint(ctx, req.EndpointID)
	before := "null"
	serviceName := ""
	if readErr == nil {
		if ok, why := Editable(live); !ok {
			return nil, &NotEditableError{Reason: why}
		}
		before, serviceName = policy.JSON(live.PolicyStatement), live.ServiceName
	} else if errors.Is(readErr, vpcep.ErrNotFound) {
		return nil, readErr // no such endpoint: nothing to record
	}

	entry, err := a.log.Begin(ctx, audit.Start{
		SubmissionKey: req.SubmissionKey, Actor: req.Actor, ProjectID: a.projectID, Region: a.region,
		EndpointID: req.EndpointID, EndpointServiceName: serviceName, Action: req.Action, Reason: req.Reason,
		RollbackOf: req.RollbackOf, Restores: req.Restores,
		PolicyBefore: before, PolicyRequested: policy.JSON(req.Policy),
	})
	var dup *audit.ErrDuplicateSubmission
	if errors.As(err, &dup) {
		return nil, err
	}
	if err != nil {
		return nil, &RecordError{Err: err}
	}
	started := time.Now()

	// From here on the entry exists: every path finalises it, on a context
	// the request cannot cancel.
	detached, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.deadline)
	defer cancel()
	finalise := func(f audit.Final) error {
		f.FinishedAt, f.Duration = time.Now(), time.Since(started)
		if err := a.log.Finalise(detached, entry, f); err != nil {
			a.logger.Error("finalise audit entry", "entry", entry.ID, "error", err)
			return &UnsettledError{Entry: entry, Err: err}
		}
		return nil
	}

	if readErr != nil {
		f := audit.Final{Outcome: audit.OutcomeFailed, Note: "The live policy could not be read before the change, so nothing was sent."}
		upstreamFields(&f, readErr)
		if err := finalise(f); err != nil {
			return nil, err
		}
		return &Result{Entry: entry}, readErr
	}
	if req.Fingerprint != "" && req.Fingerprint != policy.Fingerprint(live.PolicyStatement) {
		if err := finalise(audit.Final{Outcome: audit.OutcomeFailed,
			Note: "Conflict: the live policy changed after this change was prepared (someone else changed it), so nothing was sent."}); err != nil {
			return nil, err
		}
		return &Result{Entry: entry, Endpoint: live}, &ConflictError{Entry: entry, Live: live}
	}
	if policy.Equal(live.PolicyStatement, req.Policy) {
		matches := true
		if err := finalise(audit.Final{Outcome: audit.OutcomeSucceeded, ReadbackMatches: &matches, ReadbackPolicy: before,
			Note: "The live policy already equalled the requested one, so nothing was sent."}); err != nil {
			return nil, err
		}
		return &Result{Entry: entry, Endpoint: live}, &NoChangeError{Entry: entry, Live: live}
	}

	sendCtx, rec := vpcep.WithRecorder(detached)
	_, putErr := a.upstream.UpdatePolicy(sendCtx, req.EndpointID, req.Policy)
	readback, readbackErr := a.upstream.GetEndpoint(detached, req.EndpointID)

	var f audit.Final
	if xs := rec.Exchanges(); len(xs) > 0 {
		x := xs[len(xs)-1]
		f.RequestBody, f.ResponseStatus, f.ResponseBody, f.RequestID = string(x.RequestBody), x.Status, string(x.ResponseBody), x.RequestID()
	}
	upstreamFields(&f, putErr)
	liveAfter := ""
	if readbackErr == nil {
		liveAfter = policy.CanonicalJSON(readback.PolicyStatement)
		matches := policy.Equal(readback.PolicyStatement, req.Policy)
		f.ReadbackMatches, f.ReadbackPolicy = &matches, policy.JSON(readback.PolicyStatement)
	}
	requested := policy.CanonicalJSON(req.Policy)
	var upstreamErr *vpcep.Error
	errors.As(putErr, &upstreamErr)
	switch {
	case putErr == nil:
		f.Outcome = audit.OutcomeSucceeded
		if f.ReadbackMatches == nil {
			f.Note = "The upstream accepted the change; reading it back failed: " + readbackErr.Error()
		} else if !*f.ReadbackMatches {
			f.Note = "The upstream accepted the change, but the policy read back differs from the one requested."
		}
	case upstreamErr != nil && upstreamErr.Status >= 400:
		f.Outcome = audit.OutcomeFailed
		if liveAfter == requested {
			f.Outcome, f.Note = audit.OutcomeUnknown, "The upstream answered with an error, yet the policy read back is the requested one."
		}
	case readbackErr != nil:
		// No answer and no read-back: leave the entry pending for the Reconciler.
		return &Result{Entry: entry}, &UnsettledError{Entry: entry, Err: putErr}
	default:
		f.Outcome, f.Note = settle(liveAfter, policy.CanonicalJSON(live.PolicyStatement), requested, "The upstream did not answer the PUT; the read-back shows")
	}
	if err := finalise(f); err != nil {
		return nil, err
	}
	if putErr != nil {
		return &Result{Entry: entry, Endpoint: readback}, putErr
	}
	return &Result{Entry: entry, Endpoint: readback}, nil
}

// settle decides an outcome from the live policy (all three in canonical
// form): the requested one means the change took, the one before means it
// did not, anything else is unknown.
func settle(live, before, requested, prefix string) (outcome, note string) {
	switch live {
	case requested:
		return audit.OutcomeSucceeded, prefix + " the requested policy: the change was applied."
	case before:
		return audit.OutcomeFailed, prefix + " the policy from before: the change was not applied."
	default:
		return audit.OutcomeUnknown, prefix + " a policy that is neither the one before nor the one requested."
	}
}

// upstreamFields records an upstream error's status, code, message and request id.
func upstreamFields(f *audit.Final, err error) {
	if err == nil {
		return
	}
	var ue *vpcep.Error
	if !errors.As(err, &ue) {
		f.ErrorMessage = err.Error()
		return
	}
	if ue.Status != 0 {
		f.ResponseStatus = ue.Status
	}
	f.ErrorCode, f.ErrorMessage = ue.Code, ue.Message
	if ue.RequestID != "" {
		f.RequestID = ue.RequestID
	}
}

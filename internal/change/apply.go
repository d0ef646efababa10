package change

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Applier applies changes.
type Applier struct {
	upstream  Upstream
	log       *audit.Log
	pool      *pgxpool.Pool
	inventory Inventory
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
	// Inventory, when set, gets the endpoint as read back after a change.
	Inventory Inventory
}

// NewApplier returns an Applier.
func NewApplier(upstream Upstream, log *audit.Log, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) *Applier {
	if cfg.Deadline == 0 {
		cfg.Deadline = 90 * time.Second
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = 30 * time.Second
	}
	return &Applier{upstream: upstream, log: log, pool: pool, inventory: cfg.Inventory, projectID: cfg.ProjectID,
		region: cfg.Region, deadline: cfg.Deadline, lockWait: cfg.LockWait, logger: logger}
}

// Deadline is how long a sent change may take to be finalised.
func (a *Applier) Deadline() time.Duration { return a.deadline }

// Apply validates, locks, checks and sends one change, and says in the
// Result's Outcome what happened. An error means nothing was recorded and
// nothing sent: an *InvalidError, a *NotEditableError, the upstream's
// not-found (vpcep.ErrNotFound), ErrBusy, or ErrAuditUnavailable.
func (a *Applier) Apply(ctx context.Context, req Request) (*Result, error) {
	if errs := append(policy.Validate(req.Policy), policy.ValidateReason(req.Reason)...); len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}
	release, err := pglock.Lock(ctx, a.pool, endpointLock(req.EndpointID), a.lockWait)
	if errors.Is(err, pglock.ErrBusy) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, fmt.Errorf("change: lock endpoint: %w", err)
	}
	defer release()

	ch, dup, err := a.begin(ctx, req)
	if dup != nil || err != nil {
		return dup, err
	}
	defer ch.cancel()
	res := ch.checkBeforeSending()
	if res == nil {
		res = ch.send()
	}
	if res.Outcome == Applied && a.inventory != nil && res.Endpoint != nil {
		// Best effort: the next refresh would bring the same.
		if err := a.inventory.PutInventoryEndpoint(ch.detached, res.Endpoint); err != nil {
			a.logger.Warn("update inventory after a change", "endpoint", req.EndpointID, "error", err)
		}
	}
	return res, nil
}

// inFlight is a change whose pending entry is recorded: from here on every
// path finalises it, on a context the request cannot cancel.
type inFlight struct {
	*Applier
	req      Request
	entry    *audit.Entry
	live     *vpcep.Endpoint // nil when readErr is set
	readErr  error
	started  time.Time
	detached context.Context
	cancel   context.CancelFunc
}

// begin reads the live endpoint and records the pending entry. It returns
// the in-flight change; or a Result for a submission recorded before; or an
// error when nothing could be recorded.
func (a *Applier) begin(ctx context.Context, req Request) (*inFlight, *Result, error) {
	live, readErr := a.upstream.GetEndpoint(ctx, req.EndpointID)
	before, serviceName := "null", ""
	switch {
	case errors.Is(readErr, vpcep.ErrNotFound):
		return nil, nil, readErr // no such endpoint: nothing to record
	case readErr == nil:
		if err := CheckEditable(live); err != nil {
			return nil, nil, err
		}
		before, serviceName = policy.JSON(live.PolicyStatement), live.ServiceName
	default:
		live = nil // recorded below as a change that could not be checked
	}

	entry, err := a.log.Begin(ctx, audit.Start{
		SubmissionKey: req.SubmissionKey, Actor: req.Actor, ProjectID: a.projectID, Region: a.region,
		EndpointID: req.EndpointID, EndpointServiceName: serviceName, Action: req.Action, Reason: req.Reason,
		RollbackOf: req.RollbackOf, Restores: req.Restores,
		PolicyBefore: before, PolicyRequested: policy.JSON(req.Policy),
	})
	var dup *audit.ErrDuplicateSubmission
	if errors.As(err, &dup) {
		earlier, err := a.log.Get(ctx, dup.Existing)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
		}
		return nil, &Result{Outcome: Duplicate, Entry: earlier}, nil
	}
	if err != nil {
		a.logger.Error("audit log unavailable; change not sent", "endpoint", req.EndpointID, "error", err)
		return nil, nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	detached, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.deadline)
	return &inFlight{Applier: a, req: req, entry: entry, live: live, readErr: readErr,
		started: time.Now(), detached: detached, cancel: cancel}, nil, nil
}

// checkBeforeSending settles the change without sending it when the live
// policy could not be read, has moved, or already is the requested one.
func (c *inFlight) checkBeforeSending() *Result {
	switch {
	case c.readErr != nil:
		f := audit.Final{Outcome: audit.OutcomeFailed, Note: "The live policy could not be read before the change, so nothing was sent."}
		upstreamFields(&f, c.readErr)
		return c.settle(Failed, f, nil, c.readErr)
	case c.req.Fingerprint != "" && c.req.Fingerprint != policy.Fingerprint(c.live.PolicyStatement):
		return c.settle(Conflict, audit.Final{Outcome: audit.OutcomeFailed,
			Note: "Conflict: the live policy changed after this change was prepared (someone else changed it), so nothing was sent."}, c.live, nil)
	case policy.Equal(c.live.PolicyStatement, c.req.Policy):
		matches := true
		return c.settle(Unchanged, audit.Final{Outcome: audit.OutcomeSucceeded, ReadbackMatches: &matches,
			ReadbackPolicy: policy.JSON(c.live.PolicyStatement),
			Note:           "The live policy already equalled the requested one, so nothing was sent."}, c.live, nil)
	}
	return nil
}

// send PUTs the policy, reads it back and settles the entry from both.
func (c *inFlight) send() *Result {
	sendCtx, rec := vpcep.WithRecorder(c.detached)
	_, putErr := c.upstream.UpdatePolicy(sendCtx, c.req.EndpointID, c.req.Policy)
	readback, readbackErr := c.upstream.GetEndpoint(c.detached, c.req.EndpointID)
	if readbackErr != nil {
		readback = nil
	}

	var f audit.Final
	if xs := rec.Exchanges(); len(xs) > 0 {
		x := xs[len(xs)-1]
		f.RequestBody, f.ResponseStatus, f.ResponseBody, f.RequestID = string(x.RequestBody), x.Status, string(x.ResponseBody), x.RequestID()
	}
	upstreamFields(&f, putErr)
	if readback != nil {
		matches := policy.Equal(readback.PolicyStatement, c.req.Policy)
		f.ReadbackMatches, f.ReadbackPolicy = &matches, policy.JSON(readback.PolicyStatement)
	}
	requested := policy.CanonicalJSON(c.req.Policy)
	var upstreamErr *vpcep.Error
	errors.As(putErr, &upstreamErr)
	switch {
	case putErr == nil:
		f.Outcome = audit.OutcomeSucceeded
		if readback == nil {
			f.Note = "The upstream accepted the change; reading it back failed: " + readbackErr.Error()
		} else if !*f.ReadbackMatches {
			f.Note = "The upstream accepted the change, but the policy read back differs from the one requested."
		}
	case upstreamErr != nil && upstreamErr.Status >= 400:
		f.Outcome = audit.OutcomeFailed
		if readback != nil && policy.CanonicalJSON(readback.PolicyStatement) == requested {
			f.Outcome, f.Note = audit.OutcomeUnknown, "The upstream answered with an error, yet the policy read back is the requested one."
		}
	case readback == nil:
		// No answer and no read-back: leave the entry pending for the Reconciler.
		return &Result{Outcome: Unsettled, Entry: c.entry, Upstream: putErr}
	default:
		f.Outcome, f.Note = judgeLive(policy.CanonicalJSON(readback.PolicyStatement), policy.CanonicalJSON(c.live.PolicyStatement),
			requested, "The upstream did not answer the PUT; the read-back shows")
	}
	return c.settle(outcomeOf(f.Outcome), f, readback, putErr)
}

// settle finalises the entry. When that fails the entry stays pending (the
// Reconciler settles it later) and the Result says Unsettled.
func (c *inFlight) settle(outcome Outcome, f audit.Final, ep *vpcep.Endpoint, upstreamErr error) *Result {
	f.FinishedAt, f.Duration = time.Now(), time.Since(c.started)
	pending := *c.entry
	if err := c.log.Finalise(c.detached, c.entry, f); err != nil {
		c.logger.Error("finalise audit entry", "entry", c.entry.ID, "error", err)
		return &Result{Outcome: Unsettled, Entry: &pending, Endpoint: ep, Upstream: upstreamErr}
	}
	return &Result{Outcome: outcome, Entry: c.entry, Endpoint: ep, Upstream: upstreamErr}
}

// outcomeOf is the Outcome of a sent change recorded as outcome.
func outcomeOf(outcome string) Outcome {
	switch outcome {
	case audit.OutcomeSucceeded:
		return Applied
	case audit.OutcomeFailed:
		return Failed
	case audit.OutcomeUnknown:
		return Unknown
	}
	return Unsettled
}

// judgeLive decides an outcome from the live policy (all three in
// canonical form): the requested one means the change took, the one before
// means it did not, anything else is unknown.
func judgeLive(live, before, requested, prefix string) (outcome, note string) {
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

package change

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Applier applies changes.
type Applier struct {
	upstream     Upstream
	log          *audit.Log
	pool         *pgxpool.Pool
	inventory    Inventory
	observer     Observer
	drift        DriftRecorder
	projectID    string
	region       string
	deadline     time.Duration
	lockWait     time.Duration
	settleMargin time.Duration
	logger       *slog.Logger

	// closed ends when the console shuts down: no change starts after it.
	closed  context.Context
	closeFn context.CancelFunc
	// mu orders Close against the start of a change, so Wait sees every
	// change that started.
	mu       sync.Mutex
	inFlight sync.WaitGroup
	// slots bounds the changes holding an endpoint lock at once: each holds
	// a pooled connection for its lock and needs another at a time (the
	// seen version, the entry, the inventory's copy), and a third only
	// after its finalise's batch failed (the pool's finalise, or the
	// observation after it, while the copy is written).
	slots chan struct{}
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
	// Observer, when set, is told every change's outcome.
	Observer Observer
	// Drift, when set, records a change made outside the console that a
	// change finds live, before the change's own entry, and is told the
	// endpoint as read back after a change.
	Drift DriftRecorder
	// SettleMargin is added to Deadline before a pending entry counts as
	// abandoned (see SettleAfter): a change's deadline starts before its
	// entry's started_at, on another clock; the margin covers the clocks'
	// rates and the database's time to answer. 1 s when zero.
	SettleMargin time.Duration
	// MaxConcurrent bounds the changes under way at once, below the
	// database pool's size; 8 when zero.
	MaxConcurrent int
}

// NewApplier returns an Applier.
func NewApplier(upstream Upstream, log *audit.Log, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) *Applier {
	if cfg.Deadline == 0 {
		cfg.Deadline = 90 * time.Second
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = 30 * time.Second
	}
	if cfg.SettleMargin == 0 {
		cfg.SettleMargin = time.Second
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 8
	}
	closed, closeFn := context.WithCancel(context.Background())
	return &Applier{closed: closed, closeFn: closeFn, slots: make(chan struct{}, cfg.MaxConcurrent), upstream: upstream, log: log, pool: pool, inventory: cfg.Inventory, observer: cfg.Observer, drift: cfg.Drift,
		projectID: cfg.ProjectID, region: cfg.Region, deadline: cfg.Deadline, lockWait: cfg.LockWait,
		settleMargin: cfg.SettleMargin, logger: logger}
}

// Close makes the Applier refuse new changes with ErrShuttingDown, also
// those waiting for an endpoint's lock; changes already recorded run to
// their end. Call it when the console starts shutting down.
func (a *Applier) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closeFn()
}

// Wait waits, after Close, until every change under way has been answered
// and recorded: only then may the database pool close.
func (a *Applier) Wait() { a.inFlight.Wait() }

// start counts a change as under way, unless the Applier is closed.
func (a *Applier) start() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed.Err() != nil {
		return false
	}
	a.inFlight.Add(1)
	return true
}

// Deadline is how long a sent change may take to be finalised.
func (a *Applier) Deadline() time.Duration { return a.deadline }

// SettleAfter is how old a pending entry must be before anything settles
// it: older than any change may take, so none still in flight is touched.
// Ages are on the database's clock.
func (a *Applier) SettleAfter() time.Duration { return a.deadline + a.settleMargin }

// Apply validates, locks, checks and sends one change, and says in the
// Result's Outcome what happened. An error means nothing was recorded and
// nothing sent: an *InvalidError, a *NotEditableError, the upstream's
// not-found (vpcep.ErrNotFound), a *PendingError, ErrBusy, or
// ErrAuditUnavailable (also when drift detection before the change failed).
func (a *Applier) Apply(ctx context.Context, req Request) (*Result, error) {
	errs := append(policy.Validate(req.Policy), policy.ValidateReason(req.Reason)...)
	if len(errs) == 0 {
		errs = checkAcknowledged(req)
	}
	if len(errs) > 0 {
		return nil, &InvalidError{Errors: errs}
	}
	if !a.start() {
		return nil, ErrShuttingDown
	}
	defer a.inFlight.Done()
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-a.closed.Done():
		return nil, ErrShuttingDown
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	lockCtx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(a.closed, cancel)()
	lock, err := pglock.Wait(lockCtx, a.pool, endpointLock(req.EndpointID), a.lockWait)
	cancel()
	switch {
	case a.closed.Err() != nil:
		if lock != nil {
			lock.Release()
		}
		return nil, ErrShuttingDown
	case errors.Is(err, pglock.ErrBusy):
		return nil, ErrBusy
	case err != nil:
		return nil, fmt.Errorf("%w: lock endpoint: %w", ErrAuditUnavailable, err)
	}
	defer lock.Release()

	ch, dup, err := a.begin(ctx, req, lock)
	if dup != nil || err != nil {
		return dup, err
	}
	defer ch.cancel()
	// Before the lock is released or the context the check runs on ends.
	defer ch.firstCheck()
	res := ch.checkBeforeSending()
	if res == nil {
		res = ch.send()
	}
	if a.drift != nil && res.Endpoint != nil && !ch.stateKept && ch.stillLocked() && res.Outcome != Unsettled && res.Outcome != Unrecorded {
		// Still under the lock: the version the change left is the one
		// seen now (and a drift it reverted is closed). Without the lock
		// nothing is observed: another change may have come since the
		// read-back, which would pass for a drift. The state row stays
		// behind the log, and the next look derives it again.
		if err := a.drift.ObserveLocked(ch.detached, res.Endpoint, "change"); err != nil {
			a.logger.Warn("drift state after a change", "endpoint", req.EndpointID, "error", err)
		}
	}
	_ = ch.firstCheck() // it runs on the lock's session
	lock.Release()
	ch.inventoryPut()
	if a.observer != nil {
		a.observer.ChangeFinished(res.Outcome)
	}
	return res, nil
}

// inFlight is a change whose pending entry is recorded: from here on every
// path finalises it, on a context the request cannot cancel.
type inFlight struct {
	*Applier
	req      Request
	lock     *pglock.Lock
	entry    *audit.Entry
	live     *vpcep.Endpoint // nil when readErr is set
	readErr  error
	sent     bool // a PUT went out
	started  time.Time
	detached context.Context
	cancel   context.CancelFunc
	// checked is the lock check made while the entry was recorded: the
	// first PUT waits on it instead of a check of its own. It runs on the
	// lock's session, so it is waited for before anything else uses it.
	checked   <-chan error
	checkErr  error
	checkDone bool
	// stateKept: the endpoint's state was written with the finalise.
	stateKept bool
	// lockLost: a check found the lock lost, or the finalise's batch on
	// the lock's session failed and its session no longer holds it.
	lockLost bool
	// inventoryPut waits for the inventory's copy of the endpoint.
	inventoryPut func()
}

// begin reads the live endpoint and records the pending entry, settling an
// earlier change to the endpoint first when a crash left it pending. It
// returns the in-flight change; or a Result for a submission recorded
// before; or an error when nothing could be recorded.
func (a *Applier) begin(ctx context.Context, req Request, lock *pglock.Lock) (*inFlight, *Result, error) {
	seen := a.seenVersion(ctx, req.EndpointID)
	live, readErr := a.upstream.GetEndpoint(ctx, req.EndpointID)
	seenFP := seen()
	before, serviceName := "null", ""
	switch {
	case errors.Is(readErr, vpcep.ErrNotFound):
		return nil, nil, readErr // no such endpoint: nothing to record
	case readErr == nil:
		if err := CheckEditable(live); err != nil {
			return nil, nil, err
		}
		before, serviceName = policy.JSON(live.PolicyStatement), live.ServiceName
		if err := a.observeBefore(ctx, live, seenFP); err != nil {
			return nil, nil, err
		}
	default:
		live = nil // recorded below as a change that could not be checked
	}
	start := audit.Start{
		SubmissionKey: req.SubmissionKey, Actor: req.Actor, ProjectID: a.projectID, Region: a.region,
		EndpointID: req.EndpointID, EndpointServiceName: serviceName, Action: req.Action, Reason: req.Reason,
		RollbackOf: req.RollbackOf, Restores: req.Restores,
		PolicyBefore: before, PolicyRequested: policy.JSON(req.Policy), AcknowledgedWarnings: req.Acknowledged,
	}
	// The change's deadline starts before its entry is recorded, so it
	// ends before the entry's age passes the deadline on any clock: no one
	// settles an entry whose change may still send.
	var (
		entry   *audit.Entry
		err     error
		pending *audit.PendingEntryError
	)
	for attempt := 0; ; attempt++ {
		detached, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.deadline)
		started := time.Now()
		// The lock is checked on its own session while the entry is
		// recorded on another: one wait instead of two. Either way the
		// check precedes the PUT and follows every step that could take
		// long (the live read).
		checked := make(chan error, 1)
		go func() { checked <- lock.Check(detached) }()
		entry, err = a.log.Begin(ctx, start)
		if err == nil {
			return &inFlight{Applier: a, req: req, lock: lock, entry: entry, live: live, readErr: readErr,
				started: started, detached: detached, cancel: cancel, checked: checked, inventoryPut: func() {}}, nil, nil
		}
		<-checked // the lock's session is the caller's again once this returns
		cancel()
		if !errors.As(err, &pending) || attempt == maxEarlierPending {
			break
		}
		if err := a.settleEarlier(ctx, pending.Existing, live); err != nil {
			return nil, nil, err
		}
		// The pending entry kept detection from deciding (it returned
		// "unchecked"); now it is settled, a change made outside the
		// console meanwhile is recorded before this one.
		if err := a.observeBefore(ctx, live, ""); err != nil {
			return nil, nil, err
		}
	}
	var dup *audit.ErrDuplicateSubmission
	switch {
	case errors.As(err, &dup):
		earlier, err := a.log.Get(ctx, dup.Existing)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
		}
		return nil, &Result{Outcome: Duplicate, Entry: earlier}, nil
	case errors.As(err, &pending):
		return nil, nil, a.pendingError(ctx, pending.Existing)
	default:
		return nil, nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err) // logged by the caller, with its request
	}
}

// seenVersion starts reading the drift recorder's SeenVersion of the
// endpoint, to run while the endpoint is read live (under its lock neither
// moves); the func returned waits for it. "" without a recorder, or when
// it failed: then the endpoint is observed in full.
func (a *Applier) seenVersion(ctx context.Context, endpointID string) func() string {
	if a.drift == nil {
		return func() string { return "" }
	}
	done := make(chan string, 1)
	go func() {
		fp, err := a.drift.SeenVersion(ctx, endpointID)
		if err != nil {
			fp = ""
		}
		done <- fp
	}()
	return func() string { return <-done }
}

// observeBefore records a change made outside the console that live (read
// under the endpoint's lock) shows, before the change's own entry; nothing
// moved when live is the version seen last (seenFP, "" when unknown). When
// detection fails the change is refused: recorded, its policy_before would
// be the drifted policy, and the drift would be lost.
func (a *Applier) observeBefore(ctx context.Context, live *vpcep.Endpoint, seenFP string) error {
	if a.drift == nil || (seenFP != "" && seenFP == policy.Fingerprint(live.PolicyStatement)) {
		return nil
	}
	if err := a.drift.ObserveLocked(ctx, live, "change"); err != nil {
		return fmt.Errorf("%w: drift detection before the change failed: %w", ErrAuditUnavailable, err)
	}
	return nil
}

// maxEarlierPending bounds the earlier pending entries of one endpoint a
// change settles before its own: an earlier version could leave several.
const maxEarlierPending = 3

// settleEarlier settles an earlier change to the endpoint that a crash left
// pending, from the live endpoint, before the next change is recorded: a
// new change never overtakes one whose outcome is not known. An earlier
// change that may still be in flight (on a replica that lost its lock) is
// left alone, and the new one refused with a *PendingError.
func (a *Applier) settleEarlier(ctx context.Context, id int64, live *vpcep.Endpoint) error {
	e, err := a.log.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	age, err := a.log.Age(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	if live == nil || age < a.SettleAfter() {
		return &PendingError{Entry: e}
	}
	err = settlePending(ctx, a.log, a.observer, e, live, "the next change to this endpoint, before it was recorded")
	if err != nil && !errors.Is(err, audit.ErrNotPending) {
		return fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	a.logger.Info("settled an earlier pending change before the next", "entry", e.ID, "outcome", e.Outcome)
	return nil
}

// pendingError loads the pending entry that blocks a change.
func (a *Applier) pendingError(ctx context.Context, id int64) error {
	e, err := a.log.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	return &PendingError{Entry: e}
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

// maxSends bounds the PUTs of one change: a PUT is sent again only when no
// answer came back and the live policy shows it did not take effect.
const maxSends = 2

// finaliseReserve is the part of the deadline the PUT and the read-back
// leave to the finalise, so the upstream's answer is recorded in time.
func (c *inFlight) finaliseReserve() time.Duration { return min(c.deadline/4, 10*time.Second) }

// send PUTs the policy, reads it back and settles the entry from both.
// Before each PUT it checks that it still holds the endpoint's lock.
func (c *inFlight) send() *Result {
	sendBy, _ := c.detached.Deadline()
	sendBy = sendBy.Add(-c.finaliseReserve())
	sendCtx, cancel := context.WithDeadline(c.detached, sendBy)
	defer cancel()
	var first *sendResult // the first PUT's, when a second is tried
	for attempt := 1; ; attempt++ {
		if err := c.checkLock(attempt); err != nil {
			c.logger.Error("lost the endpoint's lock before sending", "entry", c.entry.ID, "attempt", attempt, "error", err)
			if first != nil {
				// The first PUT went out: record what it did, not "nothing sent".
				first.f.Note = strings.TrimSpace(first.f.Note + " It was not sent again: the console lost its hold on the endpoint first.")
				return c.settle(first.outcome, first.f, first.readback, first.err)
			}
			return c.settle(LockLost, audit.Final{Outcome: audit.OutcomeFailed,
				Note: "The console lost its hold on the endpoint (its database session ended) before sending, so nothing was sent."}, c.live, nil)
		}
		tried := time.Now()
		r := c.sendOnce(sendCtx)
		if attempt > 1 {
			r.f.Note = strings.TrimSpace(r.f.Note + " Sent twice: the first PUT got no answer and did not take effect.")
		}
		if r.outcome == Unsettled {
			return &Result{Outcome: Unsettled, Entry: c.entry, Upstream: r.err}
		}
		// Send again only when nothing of an answer came back, the
		// read-back shows the change did not take, and a second try fits.
		if r.outcome == Failed && !r.answered && r.readback != nil && attempt < maxSends && time.Until(sendBy) > 2*time.Since(tried) {
			c.logger.Warn("no answer to the PUT and the policy is unchanged: sending again", "entry", c.entry.ID, "error", r.err)
			first = r
			continue
		}
		return c.settle(r.outcome, r.f, r.readback, r.err)
	}
}

// checkLock confirms the endpoint's lock is still held before a PUT: for
// the first, the check made while the entry was recorded.
func (c *inFlight) checkLock(attempt int) error {
	err := c.firstCheck()
	if err == nil && attempt > 1 {
		err = c.lock.Check(c.detached)
	}
	c.lockLost = c.lockLost || err != nil
	return err
}

// stillLocked says whether the change still holds the endpoint's lock: no
// check found it lost and the finalise's batch did not give it back.
func (c *inFlight) stillLocked() bool {
	return c.firstCheck() == nil && !c.lockLost && !c.lock.Released()
}

// firstCheck is the result of the check made while the entry was recorded.
func (c *inFlight) firstCheck() error {
	if !c.checkDone {
		c.checkErr, c.checkDone = <-c.checked, true
	}
	return c.checkErr
}

// sendResult is what one PUT and its read-back did.
type sendResult struct {
	f        audit.Final
	outcome  Outcome
	readback *vpcep.Endpoint
	err      error // the PUT's
	answered bool  // some answer to the PUT came back
}

// sendOnce PUTs the policy and reads the endpoint back.
func (c *inFlight) sendOnce(ctx context.Context) *sendResult {
	recCtx, rec := vpcep.WithRecorder(ctx)
	c.sent = true
	_, putErr := c.upstream.UpdatePolicy(recCtx, c.req.EndpointID, c.req.Policy)
	readback, readbackErr := c.upstream.GetEndpoint(ctx, c.req.EndpointID)
	if readbackErr != nil {
		readback = nil
	}
	xs := rec.Exchanges()
	f, outcome := c.judgeSent(xs, putErr, readback, readbackErr)
	return &sendResult{f: f, outcome: outcome, readback: readback, err: putErr, answered: answered(xs)}
}

// answered reports whether any byte of an answer to the PUT came back: its
// exchange has a status. Only a PUT with no answer at all is sent again.
func answered(xs []vpcep.Exchange) bool {
	return len(xs) > 0 && xs[len(xs)-1].Status != 0
}

// judgeSent decides what a sent PUT did, from its answer and the read-back.
func (c *inFlight) judgeSent(xs []vpcep.Exchange, putErr error, readback *vpcep.Endpoint, readbackErr error) (audit.Final, Outcome) {
	var f audit.Final
	if len(xs) > 0 {
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
	case putErr == nil && readback == nil:
		f.Outcome, f.Note = audit.OutcomeSucceeded, "The upstream accepted the change; reading it back failed: "+readbackErr.Error()
	case putErr == nil && !*f.ReadbackMatches:
		// Never a plain success: something else holds the endpoint now.
		f.Outcome, f.Note = audit.OutcomeUnknown, "The upstream accepted the change, but the policy read back differs from the one requested."
	case putErr == nil:
		f.Outcome = audit.OutcomeSucceeded
	case upstreamErr != nil && upstreamErr.Status >= 400:
		f.Outcome = audit.OutcomeFailed
		if readback != nil && policy.CanonicalJSON(readback.PolicyStatement) == requested {
			f.Outcome, f.Note = audit.OutcomeUnknown, "The upstream answered with an error, yet the policy read back is the requested one."
		}
	case readback == nil:
		// No answer and no read-back: leave the entry pending for the Reconciler.
		return f, Unsettled
	default:
		f.Outcome, f.Note = judgeLive(policy.CanonicalJSON(readback.PolicyStatement), policy.CanonicalJSON(c.live.PolicyStatement),
			requested, "The upstream did not answer the PUT; the read-back shows")
	}
	return f, outcomeOf(f.Outcome)
}

// settle finalises the entry, retrying until the change's deadline. When
// that fails the entry stays pending (the Reconciler settles it later) and
// the Result says Unsettled.
func (c *inFlight) settle(outcome Outcome, f audit.Final, ep *vpcep.Endpoint, upstreamErr error) *Result {
	f.Duration = time.Since(c.started)
	if outcome == Applied && ep != nil {
		c.putInventory(ep)
	}
	pending := *c.entry
	err := c.finaliseOnLock(f, ep)
	if errors.Is(err, audit.ErrNotPending) {
		err = c.loadSettled()
	}
	if err != nil && !errors.Is(err, audit.ErrNotPending) {
		if !errors.Is(err, pglock.ErrLost) { // a lost lock is logged where it is found
			c.logger.Warn("finalise audit entry on the lock's session failed: retrying through the pool", "entry", c.entry.ID, "error", err)
		}
		err = finaliseRetrying(c.detached, c.log, c.entry, f, func(err error) {
			c.logger.Warn("finalise audit entry: retrying", "entry", c.entry.ID, "error", err)
		})
	}
	switch {
	case errors.Is(err, audit.ErrNotPending):
		// Settled by someone else meanwhile: answer what is recorded.
		return &Result{Outcome: outcomeOf(c.entry.Outcome), Entry: c.entry, Endpoint: ep, Upstream: upstreamErr}
	case err != nil:
		// Keep the upstream's answer somewhere: the log.
		c.logger.Error("finalise audit entry: giving up at the change's deadline; the entry stays pending",
			"entry", c.entry.ID, "error", err, "sent", c.sent, "outcome", f.Outcome,
			"response_status", f.ResponseStatus, "request_id", f.RequestID, "error_code", f.ErrorCode)
		if c.sent {
			return &Result{Outcome: Unsettled, Entry: &pending, Endpoint: ep, Upstream: upstreamErr}
		}
		return &Result{Outcome: Unrecorded, Entry: &pending, Endpoint: ep, Upstream: upstreamErr}
	}
	return &Result{Outcome: outcome, Entry: c.entry, Endpoint: ep, Upstream: upstreamErr}
}

// finaliseOnLock records f in one round trip on the lock's session: the
// finalise and, in its transaction, the endpoint's state the change leaves
// (when the drift recorder can write it from the entry alone); then, when
// nothing more is to be done under the lock, the unlock. On an error the
// caller finalises through the pool, which finds an entry this recorded
// before the error final with the same hash: success. Half of what is left
// of the change's time bounds it, so a hung session leaves time for that;
// when that bound cuts it short, the session ends, and its lock with it.
func (c *inFlight) finaliseOnLock(f audit.Final, ep *vpcep.Endpoint) error {
	if err := c.checkLock(1); err != nil {
		return err // the lock's session is no place to write
	}
	if c.lockLost {
		return pglock.ErrLost // found lost before a second PUT
	}
	final := *c.entry
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	took, err := c.log.QueueFinalise(b, &final, f)
	if err != nil {
		return err
	}
	settled, stateCommitted := c.drift == nil || ep == nil, func() {}
	if !settled {
		settled, stateCommitted = c.drift.QueueChangeState(b, ep, &final)
	}
	b.Queue(`COMMIT`)
	if settled {
		c.lock.QueueRelease(b)
	}
	deadline, _ := c.detached.Deadline()
	ctx, cancel := context.WithTimeout(c.detached, time.Until(deadline)/2)
	defer cancel()
	if err := c.lock.SendBatch(ctx, b).Close(); err != nil {
		// What ran is unknown: whether the session lives on, and holds
		// the lock, is asked of it.
		c.lockLost = c.lock.Check(c.detached) != nil
		return err
	}
	if err := took(); err != nil {
		return err // settled by someone else: nothing of it was written
	}
	*c.entry = final
	if settled {
		stateCommitted()
		c.stateKept = true
	}
	return nil
}

// loadSettled loads the entry someone else settled meanwhile (the batch's
// finalise took nothing) and returns audit.ErrNotPending; or the error of
// the load, for the caller to finalise through the pool.
func (c *inFlight) loadSettled() error {
	stored, err := c.log.Get(c.detached, c.entry.ID)
	if err != nil {
		return err
	}
	*c.entry = *stored
	return audit.ErrNotPending
}

// putInventory writes the endpoint as read back after the change into the
// inventory while the change is finalised (it needs no lock); the answer
// waits for it (inventoryPut), so the list shows the change.
func (c *inFlight) putInventory(ep *vpcep.Endpoint) {
	if c.inventory == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Best effort: the next refresh would bring the same.
		if err := c.inventory.PutInventoryEndpoint(c.detached, ep); err != nil {
			c.logger.Warn("update inventory after a change", "endpoint", c.req.EndpointID, "error", err)
		}
	}()
	c.inventoryPut = func() { <-done }
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

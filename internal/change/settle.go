package change

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// settleFromEvidence decides the outcome of an entry left pending, from the
// endpoint as it is live (live nil with liveErr vpcep.ErrNotFound: it is
// gone) and, when the live policy is neither the one before nor the one
// requested, from the next entry for the endpoint: what that change found
// live is what this one left. who says who settles it ("the reconciler").
func settleFromEvidence(e *audit.Entry, live *vpcep.Endpoint, next *audit.Entry, who string) audit.Final {
	var f audit.Final // its duration is left to Finalise: from started_at, on the database's clock
	before, requested := canonicalStored(e.PolicyBefore), canonicalStored(e.PolicyRequested)
	if live != nil {
		matches := policy.CanonicalJSON(live.PolicyStatement) == requested
		f.ReadbackMatches, f.ReadbackPolicy = &matches, policy.JSON(live.PolicyStatement)
	}
	switch {
	case before == "null":
		// The live policy could not be read before it: such a change is
		// never sent.
		f.Outcome, f.Note = audit.OutcomeFailed, "Settled by "+who+": the live policy could not be read before this change, so nothing was sent."
	case next != nil && canonicalStored(next.PolicyBefore) == requested:
		// The next change is the nearest evidence: what it found live is
		// what this one left.
		f.Outcome, f.Note = audit.OutcomeSucceeded, "Settled by "+who+": the next change, #"+itoa(next.ID)+", found the requested policy live: this change was applied."
	case next != nil && canonicalStored(next.PolicyBefore) == before:
		f.Outcome, f.Note = audit.OutcomeFailed, "Settled by "+who+": the next change, #"+itoa(next.ID)+", found the policy from before live: this change was not applied."
	case live == nil:
		f.Outcome, f.Note = audit.OutcomeUnknown, "Settled by "+who+": the endpoint no longer exists."
	default:
		f.Outcome, f.Note = judgeLive(policy.CanonicalJSON(live.PolicyStatement), before, requested, "Settled by "+who+": the live policy is")
		if f.Outcome == audit.OutcomeUnknown {
			// Found long after the change, not read back after its PUT:
			// not a version this change made (the history would take it
			// as one the console established), but one made outside the
			// console, which drift detection records next.
			f.ReadbackPolicy = ""
			f.Note += " It is not recorded as this change's result: it was changed outside the console."
		}
	}
	return f
}

// settlePending settles e, left pending, from live (nil: the endpoint is
// gone) and from the next entry for its endpoint, as who: the one way the
// Reconciler and a next change settle an earlier one. It returns
// audit.ErrNotPending when someone settled e first.
func settlePending(ctx context.Context, log *audit.Log, observer Observer, e *audit.Entry, live *vpcep.Endpoint, who string) error {
	next, err := log.NextForEndpoint(ctx, e.EndpointID, e.ID)
	if err != nil && !errors.Is(err, audit.ErrNotFound) {
		return err
	}
	if err := log.Finalise(ctx, e, settleFromEvidence(e, live, next, who)); err != nil {
		return err
	}
	if observer != nil {
		observer.EntrySettled(e.Outcome)
	}
	return nil
}

// canonicalStored is the canonical form of a policy as the log stores it,
// or "null" when it was not known.
func canonicalStored(raw []byte) string {
	p, err := policy.FromJSON(raw)
	if err != nil {
		return "null"
	}
	return policy.CanonicalJSON(p)
}

// finaliseRetrying records f on e, retrying with jittered backoff until ctx
// ends: the upstream's answer is held here, in memory, until the database
// takes it. A finalise whose commit was acknowledged too late finds the
// entry already final with the same content, which is success. An entry
// settled by someone else is loaded into e and ErrNotPending returned.
func finaliseRetrying(ctx context.Context, log *audit.Log, e *audit.Entry, f audit.Final, onRetry func(error)) error {
	pending := *e
	for attempt := 0; ; attempt++ {
		try := pending
		err := log.Finalise(ctx, &try, f)
		if err == nil {
			*e = try
			return nil
		}
		if errors.Is(err, audit.ErrNotPending) {
			stored, getErr := log.Get(ctx, e.ID)
			if getErr == nil && stored.FinalHash == try.FinalHash {
				*e = *stored
				return nil
			}
			if getErr != nil {
				return errors.Join(err, getErr)
			}
			*e = *stored // settled by someone else: that is what was recorded
			return err
		}
		if !store.Unavailable(err) {
			return err // it would fail the same way again
		}
		onRetry(err)
		backoff := min(50*time.Millisecond<<min(attempt, 6), 2*time.Second)
		backoff = backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

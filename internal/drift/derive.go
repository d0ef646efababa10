package drift

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// historyLimit bounds the entries of one endpoint read to derive its state:
// the walk stops at the newest version the console established, which is
// almost always among the newest few.
const historyLimit = 200

// derived is an endpoint's state as its audit history says, newest first.
type derived struct {
	hasHistory bool         // any entry (attribute entries aside)
	pending    *audit.Entry // a change in flight (or left by a crash): nothing can be decided
	newestID   int64        // the newest entry read
	// newestDone is when the newest entry finished (zero while pending):
	// a list read after it shows what that change left.
	newestDone time.Time
	// seen is the version last seen live (compact JSON as recorded), with
	// seenFP its fingerprint and seenEntry the entry that recorded it; nil
	// when no entry records a version.
	seen      json.RawMessage
	seenFP    string
	seenEntry *audit.Entry
	// known is the last version the console established, knownEntry its entry.
	known      json.RawMessage
	knownEntry *audit.Entry
	// drift is the open drift: the newest drift entry after knownEntry.
	drift *audit.Entry
}

// versionOf is the policy an entry leaves live, and whether the entry
// establishes it (closing a drift): a succeeded entry leaves its requested
// policy (established, but for a drift); a failed one leaves the policy it
// found (not established: nothing of it took); an unknown one what was
// read back, when that is the requested policy (established) or the one
// found (seen). ok is false when the entry says nothing of the live policy
// the log can vouch for.
func versionOf(e *audit.Entry) (v json.RawMessage, established, ok bool) {
	switch e.Outcome {
	case audit.OutcomeSucceeded:
		return e.PolicyRequested, e.Action != audit.ActionDrift, true
	case audit.OutcomeFailed:
		if _, err := policy.FromJSON(e.PolicyBefore); err != nil {
			return nil, false, false // the live policy could not be read before it
		}
		return e.PolicyBefore, false, true
	case audit.OutcomeUnknown:
		// What was read back is the console's only when it is what the
		// change requested (established) or what it found (seen: nothing
		// took). Anything else someone else made, between the PUT and the
		// read-back or before a crash-left entry was settled: it is no
		// version the log knows, so the next check records it as a drift.
		switch fp := fingerprintOf(e.ReadbackPolicy); {
		case len(e.ReadbackPolicy) == 0 || fp == "":
			return nil, false, false
		case fp == fingerprintOf(e.PolicyRequested):
			return e.ReadbackPolicy, true, true
		case fp == fingerprintOf(e.PolicyBefore):
			return e.ReadbackPolicy, false, true
		}
		return nil, false, false
	}
	return nil, false, false
}

// fingerprintOf is the fingerprint of a recorded policy ("" when it is not one).
func fingerprintOf(raw json.RawMessage) string {
	p, err := policy.FromJSON(raw)
	if err != nil {
		return ""
	}
	return policy.Fingerprint(p)
}

// historyPeek is how many entries derive reads first: an endpoint's
// newest entry is nearly always the version the console established, and
// the walk stops there, so the long read is for the rare rest.
const historyPeek = 8

// derive reads the endpoint's history through q and says what it knows.
func (d *Detector) derive(ctx context.Context, q audit.Querier, endpointID string) (*derived, error) {
	entries, err := d.log.History(ctx, q, endpointID, historyPeek)
	if err != nil {
		return nil, err
	}
	// The walk ends at a pending or an established entry: when the peek
	// holds one, the entries after it never mattered.
	if s := deriveFrom(entries); len(entries) < historyPeek || s.pending != nil || s.knownEntry != nil {
		return s, nil
	}
	if entries, err = d.log.History(ctx, q, endpointID, historyLimit); err != nil {
		return nil, err
	}
	return deriveFrom(entries), nil
}

// deriveFrom is derive over entries, newest first.
func deriveFrom(entries []*audit.Entry) *derived {
	s := &derived{hasHistory: len(entries) > 0}
	if len(entries) > 0 {
		s.newestID = entries[0].ID
		if entries[0].FinishedAt != nil {
			s.newestDone = *entries[0].FinishedAt
		}
	}
	var oldestSeen json.RawMessage
	var oldestSeenEntry *audit.Entry
	for _, e := range entries {
		if e.Outcome == audit.OutcomePending {
			s.pending = e
			return s
		}
		v, established, ok := versionOf(e)
		if !ok {
			continue
		}
		if s.seen == nil {
			s.seen, s.seenEntry = v, e
		}
		oldestSeen, oldestSeenEntry = v, e
		if e.Action == audit.ActionDrift {
			if s.drift == nil {
				s.drift = e
			}
			continue
		}
		if established {
			s.known, s.knownEntry = v, e
			break
		}
	}
	if s.seen != nil {
		s.seenFP = fingerprintOf(s.seen)
	}
	if s.known == nil && oldestSeen != nil {
		// A history of only failed changes (or longer than the walk): the
		// oldest version seen stands for the known one.
		s.known, s.knownEntry = oldestSeen, oldestSeenEntry
		if s.drift == oldestSeenEntry {
			s.known = s.drift.PolicyBefore
		}
	}
	return s
}

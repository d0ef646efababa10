package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/store"
)

// State says how far the inventory can be trusted: the pages and the JSON
// API show it beside every list, so that an empty or old list is never
// mistaken for the upstream's answer.
type State string

// The inventory's states.
const (
	// Fresh: the newest refresh succeeded, within StaleAfter refresh intervals.
	Fresh State = "fresh"
	// Stale: the inventory holds the list of an earlier refresh, but the
	// newest refresh failed or the last success is older than StaleAfter
	// refresh intervals (the refresher is not running, or is stuck).
	Stale State = "stale"
	// NeverLoaded: no refresh has succeeded yet. The inventory is empty
	// because the upstream could not be read, not because it has no
	// endpoints, so no list is served.
	NeverLoaded State = "never_loaded"
)

// StaleAfter is how many refresh intervals old the last success may be
// before the inventory is stale: one interval passes between refreshes, the
// second leaves room for a slow one.
const StaleAfter = 2

// ReadyWithin is how many refresh intervals old the last success may be,
// when refreshes have failed since, for /readyz to still call the console
// ready: a short upstream outage does not take the console out of service.
const ReadyWithin = 3

// Status is the inventory's state and what it rests on.
type Status struct {
	State         State
	RefreshedAt   time.Time             // when the last successful refresh finished; zero when never
	Count         int                   // how many endpoints that refresh found
	LastAttemptAt time.Time             // when the newest attempt finished; zero before the first
	LastFailure   *store.RefreshFailure // why the newest attempt failed; nil when it succeeded or there was none
	Interval      time.Duration         // the refresh interval the state was judged by
	// Ready is /readyz's verdict: loaded, and either the newest refresh
	// succeeded or the last success is within ReadyWithin intervals.
	Ready bool
}

// StatusOf judges st at now, for a refresher that runs every interval.
func StatusOf(st store.RefreshState, interval time.Duration, now time.Time) Status {
	s := Status{RefreshedAt: st.LastSuccessAt, Count: st.LastSuccessSize, Interval: interval}
	if st.Last != nil {
		s.LastAttemptAt = st.Last.FinishedAt
		if !st.Last.Succeeded {
			s.LastFailure = st.Last.Failure // store.RefreshState sets it on every failed attempt
		}
	}
	age := now.Sub(st.LastSuccessAt)
	switch {
	case st.LastSuccessAt.IsZero():
		s.State = NeverLoaded
	case s.LastFailure != nil || age > StaleAfter*interval:
		s.State = Stale
	default:
		s.State = Fresh
	}
	s.Ready = s.State != NeverLoaded && (s.LastFailure == nil || age <= ReadyWithin*interval)
	return s
}

// Status reads the refresh history and judges it at now.
func (r *Refresher) Status(ctx context.Context, now time.Time) (Status, error) {
	st, err := r.store.RefreshState(ctx)
	if err != nil {
		return Status{}, err
	}
	return StatusOf(st, r.interval, now), nil
}

// Reason says in a line why the inventory is in its state, for the log.
func (s Status) Reason() string {
	var b strings.Builder
	switch s.State {
	case NeverLoaded:
		b.WriteString("never loaded")
	default:
		fmt.Fprintf(&b, "%s: last loaded at %s", s.State, s.RefreshedAt.UTC().Format(time.RFC3339))
	}
	switch f := s.LastFailure; {
	case f != nil:
		b.WriteString("; the newest refresh failed: ")
		b.WriteString(DescribeFailure(f))
	case s.State == NeverLoaded:
		b.WriteString("; the first refresh has not finished")
	case s.State == Stale:
		fmt.Fprintf(&b, "; no refresh since (the refresh interval is %s)", s.Interval)
	}
	return b.String()
}

// DescribeFailure writes f as a line: HTTP status, code, message and request id.
func DescribeFailure(f *store.RefreshFailure) string {
	var parts []string
	if f.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", f.Status))
	}
	if f.Code != "" {
		parts = append(parts, f.Code)
	}
	msg := strings.Join(parts, " ")
	if f.Message != "" {
		if msg != "" {
			msg += ": "
		}
		msg += f.Message
	}
	if f.RequestID != "" {
		msg += " (request id " + f.RequestID + ")"
	}
	return msg
}

// Err is a *NotLoadedError when the inventory was never loaded, else nil.
func (s Status) Err() error {
	if s.State != NeverLoaded {
		return nil
	}
	return &NotLoadedError{Status: s}
}

// NotLoadedError means no refresh has succeeded yet, so the console has no
// list to serve: it says why (the newest attempt's failure), rather than
// answering with an empty list.
type NotLoadedError struct {
	Status Status
}

func (e *NotLoadedError) Error() string { return "inventory: " + e.Status.Reason() }

// RetryAfter is when asking again may find the inventory loaded: at the
// next scheduled refresh, or shortly when the first is still running.
func (e *NotLoadedError) RetryAfter() time.Duration {
	if e.Status.LastFailure == nil || e.Status.Interval <= 0 {
		return 5 * time.Second
	}
	return e.Status.Interval
}

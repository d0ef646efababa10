// Package drift notices policy changes made outside the console (the Huawei
// Cloud console, Terraform, the CLI, scripts) and records each in the audit
// log once: a `baseline` entry the first time an editable endpoint is seen,
// a `drift` entry (actor "external") each time its live policy is no longer
// the version the console last saw, an `adopt` entry when an editor accepts
// the drifted version, and an `attribute` entry (actor "cts") when Cloud
// Trace Service says who made it. A revert is the change path's rollback of
// the drift entry (restores "before").
//
// Exactly once: each decision is taken under the endpoint's advisory lock
// (the one the change path holds, tried, never waited for), re-deriving the
// last seen version from the audit log inside the transaction that appends
// the entry and writes the endpoint's state row (endpoint_versions), so no
// replica, race or crash records one change twice.
package drift

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// How a difference was seen: the audit entry's detected_by.
const (
	ByRefresh  = "refresh"  // an inventory refresh
	ByDetail   = "detail"   // the endpoint's detail page (or the API's GET)
	ByEditor   = "editor"   // the policy editor
	ByChange   = "change"   // a change (update or rollback), under its lock
	ByBaseline = "baseline" // the first sight of an endpoint
)

// Actors of the entries this package records.
const (
	ActorConsole  = "console"  // baseline
	ActorExternal = "external" // drift: someone outside the console
	ActorCTS      = "cts"      // attribute: what CTS said
)

// Attribution states of a drift (Status.AttributionState).
const (
	AttributionDisabled = "disabled" // CTS is not enabled: nobody is asked
	AttributionPending  = "pending"  // CTS has not answered with the change yet; asked again later
	AttributionFailed   = "failed"   // the last question to CTS failed (LastError); asked again later
	AttributionFound    = "found"    // an attribute entry names who did it
	AttributionNone     = "none"     // CTS had no record of it within the retry window
)

// Status is what the console knows about an endpoint's drift.
type Status struct {
	EndpointID string
	// Drifted: the live policy is not the one the console established, and
	// nobody has adopted or reverted it yet.
	Drifted bool
	// Drift is the open drift entry (the newest, when there were several);
	// nil when not drifted. Its PolicyBefore is the previously seen version,
	// its PolicyRequested the drifted (live) one.
	Drift *audit.Entry
	// Known is the last version the console established (baseline, update,
	// rollback or adopt), compact JSON; a revert restores it. KnownEntryID
	// is that entry; KnownFingerprint its policy.Fingerprint.
	Known            json.RawMessage
	KnownEntryID     int64
	KnownFingerprint string
	// Attribution is who made the drift, per CTS: the traces of the
	// attribute entry, when one was recorded.
	Attribution      []cts.Trace
	AttributionState string
	// LastError is the last failure of detection or of asking CTS about
	// this endpoint ("" when none), to show on the endpoint; it is retried.
	LastError string
	// CheckedAt is when the live policy was last compared (zero: never).
	CheckedAt time.Time
	// Recorded is the entry this call recorded (a baseline or a drift), nil
	// when it recorded none. Only Observe sets it.
	Recorded *audit.Entry
	// Unchecked says Observe could not compare now (the endpoint's lock was
	// held by a change, or a change is pending); the status is the stored
	// one and the next pass checks again.
	Unchecked bool
}

// Errors of Adopt.
var (
	// ErrBusy means a change to the endpoint held its lock: try again.
	ErrBusy = errors.New("drift: the endpoint is being changed right now; try again")
	// ErrNotDrift means the entry is not a drift entry.
	ErrNotDrift = errors.New("drift: only a drift entry can be adopted")
)

// NotOpenError means the drift entry is no longer the endpoint's open
// drift: it was adopted, reverted, superseded by a later drift or by a
// change made through the console. Current is the endpoint's status now.
type NotOpenError struct{ Current *Status }

func (e *NotOpenError) Error() string {
	return "drift: this drift is no longer open (it was adopted, reverted or superseded)"
}

// MovedError means the live policy changed again since the drift entry:
// adopting it would accept a version nobody looked at. The new difference
// was recorded first, as Drift; adopt that one after looking at it.
type MovedError struct{ Drift *audit.Entry }

func (e *MovedError) Error() string {
	if e.Drift == nil {
		return "drift: the live policy changed again since this drift; look at it again"
	}
	return fmt.Sprintf("drift: the live policy changed again since this drift; it was recorded as entry #%d", e.Drift.ID)
}

// InvalidError is a request that failed validation (a reason is required).
type InvalidError struct{ Field, Message string }

func (e *InvalidError) Error() string { return "drift: invalid " + e.Field + ": " + e.Message }

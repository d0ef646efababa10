// Package audit is the policy change log in Postgres: every change that
// passed validation, written ahead as pending and finalised with the
// upstream's answer. The database refuses DELETE and any UPDATE but the one
// finalise; each entry is chained to the previous one by SHA-256 so Verify
// names the first entry altered by hand. Each entry records the format
// version it was hashed with (format.go lists the fields of every version),
// so adding a field never changes what an old entry's hash covers.
package audit

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// Actions of an entry.
const (
	ActionUpdate   = "update"
	ActionRollback = "rollback"
	// ActionBaseline is the policy as the console first found it (actor
	// "console"): every editable endpoint's history starts from a version.
	ActionBaseline = "baseline"
	// ActionDrift is a change made outside the console (actor "external"):
	// the version last seen as before, the live one as requested.
	ActionDrift = "drift"
	// ActionAdopt accepts a drift (refers_to): its version becomes the known one.
	ActionAdopt = "adopt"
	// ActionAttribute says who made a drift (refers_to), per CTS (actor "cts").
	ActionAttribute = "attribute"
)

// Actions lists every action, in the order filters offer them.
var Actions = []string{ActionUpdate, ActionRollback, ActionBaseline, ActionDrift, ActionAdopt, ActionAttribute}

// Outcomes of an entry.
const (
	OutcomePending   = "pending"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeUnknown   = "unknown"
)

// Sides of a rolled-back entry a rollback restores.
const (
	RestoresBefore = "before" // the rolled-back entry's policy_before: undo it
	RestoresAfter  = "after"  // its policy_requested: go back to that version
	// RestoresKnown reverts a drift entry: it restores the last version the
	// console established before it (a baseline, update, rollback or
	// adopt), which is the drift's policy_before unless drifts followed one
	// another.
	RestoresKnown = "known"
)

// genesisHash is the prev_hash of the first entry.
var genesisHash = strings.Repeat("0", 64)

// Entry is one audit log entry. Empty strings are NULL in the database.
type Entry struct {
	ID                  int64      `json:"id"`
	SubmissionKey       string     `json:"-"`
	StartedAt           time.Time  `json:"started_at"`
	FinishedAt          *time.Time `json:"finished_at"`
	Actor               string     `json:"actor"`
	ProjectID           string     `json:"project_id"`
	Region              string     `json:"region"`
	EndpointID          string     `json:"endpoint_id"`
	EndpointServiceName string     `json:"endpoint_service_name"`
	Action              string     `json:"action"`
	Reason              string     `json:"reason"`
	// AcknowledgedWarnings are the lint warning codes the actor
	// acknowledged (format version 3 on; empty before).
	AcknowledgedWarnings []string `json:"acknowledged_warnings"`
	RollbackOf           *int64   `json:"rollback_of"`
	// DetectedBy is how a difference was seen (drift, baseline: refresh,
	// detail, editor, change or baseline); format version 4 on.
	DetectedBy string `json:"detected_by,omitempty"`
	// RefersTo is the drift entry an adopt or attribute entry is about.
	RefersTo *int64 `json:"refers_to,omitempty"`
	// Attribution is who made a drift, per CTS (attribute entries), as read
	// from the text stored (attributionText): the hash covers that text.
	Attribution     []cts.Trace     `json:"attribution,omitempty"`
	attributionText string          // the attribution column as stored, "" for NULL (see tracesColumn)
	Restores        string          `json:"restores,omitempty"`
	PolicyBefore    json.RawMessage `json:"policy_before"`
	PolicyRequested json.RawMessage `json:"policy_requested"`
	RequestBody     string          `json:"request_body"`
	ResponseStatus  *int            `json:"response_status"`
	ResponseBody    string          `json:"response_body"`
	RequestID       string          `json:"request_id"`
	ErrorCode       string          `json:"error_code"`
	ErrorMessage    string          `json:"error_message"`
	ReadbackMatches *bool           `json:"readback_matches"`
	ReadbackPolicy  json.RawMessage `json:"readback_policy,omitempty"`
	DurationMS      *int            `json:"duration_ms"`
	Outcome         string          `json:"outcome"`
	Note            string          `json:"note"`
	Hash            string          `json:"hash"`
	PrevHash        string          `json:"prev_hash"`
	FinalHash       string          `json:"final_hash,omitempty"`
	FormatVersion   int             `json:"format_version"` // the audit format its hashes were made with
}

// Final is what finalising an entry records.
type Final struct {
	Outcome         string
	RequestBody     string
	ResponseStatus  int // 0: no answer
	ResponseBody    string
	RequestID       string
	ErrorCode       string
	ErrorMessage    string
	ReadbackMatches *bool
	ReadbackPolicy  string        // the policy read back, compact JSON
	Duration        time.Duration // measured; 0 when not (finished_at is then the database's now)
	Note            string
}

// apply records f, finished at finished, on e as finalising does, all but
// the final hash.
func (e *Entry) apply(f Final, finished time.Time) {
	finished = finished.UTC().Truncate(time.Microsecond)
	e.Outcome, e.FinishedAt = f.Outcome, &finished
	e.RequestBody, e.ResponseBody, e.RequestID = f.RequestBody, f.ResponseBody, f.RequestID
	e.ErrorCode, e.ErrorMessage, e.Note = f.ErrorCode, f.ErrorMessage, f.Note
	e.ResponseStatus = nil
	if f.ResponseStatus != 0 {
		status := f.ResponseStatus
		e.ResponseStatus = &status
	}
	e.ReadbackMatches = f.ReadbackMatches
	e.ReadbackPolicy = nil
	if f.ReadbackPolicy != "" {
		e.ReadbackPolicy = json.RawMessage(f.ReadbackPolicy)
	}
	ms := int(f.Duration.Milliseconds())
	e.DurationMS = &ms
}

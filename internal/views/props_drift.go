package views

import (
	"strconv"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// Attribution states of a drift, as internal/drift names them.
const (
	AttributionDisabled = "disabled"
	AttributionPending  = "pending"
	AttributionFailed   = "failed"
	AttributionFound    = "found"
	AttributionNone     = "none"
)

// ActorExternal is the actor of a drift entry: someone outside the console.
const ActorExternal = "external"

// DriftMark is an endpoint's open drift as the list shows it: its drift
// entry, and when it was seen (zero when not read for this page).
type DriftMark struct {
	EntryID int64
	SeenAt  time.Time
}

// key is what a kept row rendered with this mark carries (data-drift), so
// a row kept from before a drift opened, closed or moved is not reused.
func (m DriftMark) key() string {
	k := strconv.FormatInt(m.EntryID, 10)
	if m.SeenAt.IsZero() {
		k += "-"
	}
	return k
}

// driftRowCache is a row cache that keeps only rows rendered with the
// drift mark the page has now: the read model's renderings are per
// endpoint, and the mark comes from the drift map read for this page.
type driftRowCache struct {
	inner RowCache
	mark  *DriftMark
}

// Row returns the kept row when it carries this page's drift state, else
// renders it afresh (the read model keeps the newer rendering when it is
// reloaded, which a drift opening or closing makes it do).
func (c driftRowCache) Row(render func() (string, error)) (string, error) {
	html, err := c.inner.Row(render)
	if err != nil {
		return "", err
	}
	if rowDriftKey(html) == c.wantKey() {
		return html, nil
	}
	return render()
}

func (c driftRowCache) wantKey() string {
	if c.mark == nil {
		return ""
	}
	return c.mark.key()
}

// rowDriftKey is the data-drift value a rendered row carries ("" if none).
func rowDriftKey(html string) string {
	const attr = `data-drift="`
	// The attribute is on the row's start tag: the rest of the row (most
	// of it) is never searched. Attribute values are escaped: no '>'.
	if end := strings.IndexByte(html, '>'); end >= 0 {
		html = html[:end]
	}
	i := strings.Index(html, attr)
	if i < 0 {
		return ""
	}
	rest := html[i+len(attr):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// DriftBanner is the open drift of an endpoint, shown before everything
// else on its page and in the editor: when and how it was seen, who made
// it (per CTS), the diff from the known version to the live one, and, for
// editors, Adopt and Revert.
type DriftBanner struct {
	EndpointID string
	Drift      *audit.Entry // the open drift entry
	// KnownEntryID is the entry that established the known version (0: not known).
	KnownEntryID int64
	Diff         policy.Diff // known -> live
	DiffKnown    bool
	Attribution  []cts.Trace
	// AttributionState is one of the Attribution* states.
	AttributionState string
	LastError        string // the last failure of detection or of asking CTS
	// Back is the page Adopt returns to: "endpoint" or "editor".
	Back string
	// Adopt form: what was typed and the error at it.
	Reason string
	Errors policy.FieldErrors
}

// Seen is when the drift was recorded.
func (b DriftBanner) Seen() time.Time { return b.Drift.StartedAt }

// adoptURL is where the Adopt form posts.
func (b DriftBanner) adoptURL() string { return entryURL(b.Drift.ID) + "/adopt" }

// detectedByWords says how a difference was seen.
func detectedByWords(how string) string {
	switch how {
	case "refresh":
		return "by an inventory refresh"
	case "detail":
		return "when the endpoint's page read it live"
	case "editor":
		return "when the policy editor read it live"
	case "change":
		return "when a change through the console read it live"
	case "reconciler":
		return "when the console settled a change a crash left pending"
	case "baseline":
		return "the first time the console saw this endpoint"
	case "":
		return "—"
	}
	return "by " + how
}

// actorWords says who an entry's actor is, in words where the actor is
// not a person: a drift's "external" reads "outside the console".
func actorWords(actor string) string {
	switch actor {
	case ActorExternal:
		return "outside the console"
	case "cts":
		return "Cloud Trace Service"
	case "console":
		return "the console"
	}
	return actor
}

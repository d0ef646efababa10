package views

import (
	"net/url"
	"strconv"

	"github.com/a-h/templ"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// AuditFilter is the audit list's query, as typed, with an error at each
// field that is not valid.
type AuditFilter struct {
	Endpoint, Actor, Action, Outcome, Text, From, To string
	// Project (a name) and Region, when the console serves several projects.
	Project, Region string
	Errors          policy.FieldErrors
}

// Query returns the filter as a query string, with cursor when set.
func (f AuditFilter) Query(cursor string) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("endpoint", f.Endpoint)
	set("actor", f.Actor)
	set("action", f.Action)
	set("outcome", f.Outcome)
	set("q", f.Text)
	set("from", f.From)
	set("to", f.To)
	set("project", f.Project)
	set("region", f.Region)
	set("cursor", cursor)
	return v.Encode()
}

// URL returns path with the filter's query.
func (f AuditFilter) URL(path, cursor string) string {
	if q := f.Query(cursor); q != "" {
		return path + "?" + q
	}
	return path
}

// AuditListPage is /audit.
type AuditListPage struct {
	Base
	Filter     AuditFilter
	Entries    []*audit.Entry
	NextCursor string
	Paged      bool // this is not the first page
	Count      int  // entries matching, exact up to audit.CountLimit
	CountMore  bool // more than audit.CountLimit match
	// RowCaches keep each entry's rendered row (none: render every row).
	RowCaches []RowCache
	// The project and region filters' choices; none with one project.
	ProjectOptions, RegionOptions []string
}

// cachedAuditRow is auditRow, rendered once per cache.
func cachedAuditRow(e *audit.Entry, cache RowCache) templ.Component {
	return cachedRow(auditRow(e), cache)
}

// rowCache is the i-th entry's row cache; nil when there is none.
func (p AuditListPage) rowCache(i int) RowCache {
	if i < len(p.RowCaches) {
		return p.RowCaches[i]
	}
	return nil
}

// AuditEntryPage is /audit/{id}.
type AuditEntryPage struct {
	Base
	Entry        *audit.Entry
	Diff         policy.Diff
	BeforeKnown  bool
	RequestBody  string         // pretty-printed
	ResponseBody string         // pretty-printed
	RolledBack   *audit.Entry   // the entry this one rolls back
	RolledBackBy []*audit.Entry // the entries that roll this one back
	Banner       string
	// RefersTo is the drift an adopt or attribute entry is about.
	RefersTo *audit.Entry
	// Of a drift entry: its adopt and attribute entries, whether it is
	// still open, and the state of asking CTS who made it.
	Adopts           []*audit.Entry
	Attributions     []*audit.Entry
	DriftOpen        bool
	AttributionState string
	// FoundJSON is a baseline's policy, pretty-printed.
	FoundJSON string
}

// RollbackPage confirms a rollback or a version restore.
type RollbackPage struct {
	Base
	Entry        *audit.Entry
	Restores     string
	Live         *vpcep.Endpoint
	TargetJSON   string
	Diff         policy.Diff // live -> target
	Drifted      bool        // live is no longer what the entry left
	DriftDiff    policy.Diff // what the entry left -> live
	AlreadyThere bool
	Warnings     []policy.Warning
	Form         EditorForm // Reason, Fingerprint, SubmissionKey
	Errors       policy.FieldErrors
}

// HistoryPage is /endpoints/{id}/history: the endpoint's versions as the
// console made them, newest first.
type HistoryPage struct {
	Base
	EndpointID  string
	ServiceName string
	Versions    []HistoryVersion // newest first
	// Complete is false when the endpoint has more changes than the page
	// reads: the oldest version shown is then not the first.
	Complete bool
	// LiveKnown says whether the live policy was read; LiveErr why not.
	LiveKnown bool
	LiveErr   string
	// Outside is set when the live policy is none of the versions: it was
	// changed outside the console. OutsideDiff is newest version -> live.
	Outside     bool
	OutsideDiff policy.Diff
	LiveJSON    string
	// OtherChanges is how many listed changes made no version (failed,
	// unknown or pending): they are in the audit log.
	OtherChanges int
}

// HistoryVersion is one version of an endpoint's policy: made by Entry
// (a succeeded change), or, when Original, the policy found before the
// first of them.
type HistoryVersion struct {
	Entry       *audit.Entry
	Original    bool
	Diff        policy.Diff // from the version before; unknown when !BeforeKnown
	BeforeKnown bool
	JSON        string // the version itself, pretty
	Current     bool   // the live policy is this version
	RestoreURL  string // "" when it cannot be restored (or is live)
}

// auditFieldAttrs mark a filter that is not valid: aria-invalid, the id
// of its error, and data-first-error on the first one (the shell's script
// focuses it).
func auditFieldAttrs(f AuditFilter, name string) templ.Attributes {
	if f.Errors.For(name) == "" {
		return templ.Attributes{}
	}
	a := templ.Attributes{"aria-invalid": "true", "aria-describedby": "audit-" + name + "-error"}
	if f.Errors[0].Field == name {
		a["data-first-error"] = true
	}
	return a
}

// countWords says how many entries match: exact up to audit.CountLimit.
func countWords(n int, more bool) string {
	switch {
	case more:
		return groupThousands(n) + "+ entries match"
	case n == 1:
		return "1 entry matches"
	}
	return groupThousands(n) + " entries match"
}

// groupThousands writes n with commas between thousands: 10,000.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func entryURL(id int64) string { return "/audit/" + strconv.FormatInt(id, 10) }

func entryLabel(id int64) string { return "#" + strconv.FormatInt(id, 10) }

func optInt(n *int) string {
	if n == nil {
		return "—"
	}
	return strconv.Itoa(*n)
}

func optBool(b *bool) string {
	if b == nil {
		return "—"
	}
	return yesNo(*b)
}

func outcomeClass(outcome string) string { return "badge outcome-" + outcome }

// outcomeWords says an entry's outcome in plain words.
func outcomeWords(e *audit.Entry) string {
	switch e.Outcome {
	case audit.OutcomeSucceeded:
		return "The upstream holds the requested policy."
	case audit.OutcomeFailed:
		return "The change did not take effect."
	case audit.OutcomeUnknown:
		return "It is not known whether the change took effect: the live policy is neither the one before nor the one requested."
	default:
		return "The change was sent and its outcome is being settled."
	}
}

func actionWords(e *audit.Entry) string {
	switch e.Action {
	case audit.ActionBaseline:
		return "baseline: the policy as the console first found it"
	case audit.ActionDrift:
		return "changed outside the console"
	case audit.ActionAdopt:
		if e.RefersTo != nil {
			return "adopt of " + entryLabel(*e.RefersTo) + ", a change made outside the console"
		}
		return "adopt of a change made outside the console"
	case audit.ActionAttribute:
		if e.RefersTo != nil {
			return "who made " + entryLabel(*e.RefersTo) + ", per Cloud Trace Service"
		}
		return "who made a change outside the console, per Cloud Trace Service"
	}
	if e.Action != audit.ActionRollback || e.RollbackOf == nil {
		return "update"
	}
	if e.Restores == audit.RestoresKnown {
		return "revert of " + entryLabel(*e.RollbackOf) + ", a change made outside the console"
	}
	if e.Restores == audit.RestoresAfter {
		return "restore of the version after " + entryLabel(*e.RollbackOf)
	}
	return "rollback of " + entryLabel(*e.RollbackOf)
}

func rollbackURL(id int64, restores string) string {
	return entryURL(id) + "/rollback?restores=" + restores
}

// auditActions are the actions the audit filter offers.
var auditActions = audit.Actions

// changesPolicy reports whether an entry's policy_before is a version it
// changed from, so "Roll back" can undo it: a baseline, adopt or attribute
// entry changed nothing upstream, and a drift is reverted instead.
func changesPolicy(e *audit.Entry) bool {
	return e.Action == "" || e.Action == audit.ActionUpdate || e.Action == audit.ActionRollback
}

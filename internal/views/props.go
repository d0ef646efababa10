// Package views renders the console's pages and the fragments htmx swaps in.
// Every page takes typed props that embed Base; nothing here knows about
// HTTP or Echo.
package views

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Base is what every page's frame shows.
type Base struct {
	Title     string
	ProjectID string
	Region    string
	Demo      bool
	RequestID string // the console's id for this request, shown on error pages
	CSRF      string // the CSRF token every state-changing form and htmx request carries
	Account   *Account
	// Project is the name of the page's project; "" on a page of every
	// project (or with only one).
	Project string
	// Projects is the project switcher: every project the account may
	// view, when the console serves more than one.
	Projects []ProjectTab
	// Notices are warnings about the credentials of the page's project
	// (every project's on a page of all): a token about to expire, a
	// renewal that failed. Shown to every signed-in reader.
	Notices []string
}

// ProjectTab is one project in the switcher.
type ProjectTab struct {
	Name, Region string
	Href         string // the same page in this project, where there is one
	Current      bool
	// State is the project's inventory: fresh, stale, never_loaded (as
	// inventory.State), or "" when unknown.
	State string
	// Problem is why the project's inventory is not fresh, in plain words.
	Problem string
}

// Account is the signed-in account, as the frame shows it.
type Account struct {
	Name string
	Role auth.Role
}

// Can reports whether the signed-in account has at least role. The server
// enforces roles on every route; this only hides what would be refused.
func (b Base) Can(role auth.Role) bool { return b.Account != nil && b.Account.Role.Allows(role) }

// htmxHeaders puts the CSRF token on every htmx request.
func htmxHeaders(b Base) string {
	return `{"X-CSRF-Token": "` + b.CSRF + `"}`
}

// EndpointFilter is the list page's query: every field is a query parameter,
// so a filtered view is a link one can share.
type EndpointFilter struct {
	Type   string
	Status string
	VpcID  string
	Search string
	// Drifted shows only endpoints changed outside the console (an open
	// drift): drifted=true.
	Drifted bool
	Page    int
}

// Query returns the filter as a query string for page (no leading "?").
func (f EndpointFilter) Query(page int) string {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("type", f.Type)
	set("status", f.Status)
	set("vpc", f.VpcID)
	set("q", f.Search)
	if f.Drifted {
		v.Set("drifted", "true")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

// FilterError is a bad filter value, shown at its control ("type",
// "status", "vpc", "q" or "page"); Value is what was typed, kept in the
// control.
type FilterError struct {
	Field   string
	Value   string
	Message string
}

// On reports whether the error belongs to field.
func (e *FilterError) On(field string) bool { return e != nil && e.Field == field }

// invalidAttrs marks the control of field invalid when the error is its
// own: aria-invalid with a value, the error text as its description, and
// data-first-error for copy.js to focus it.
func invalidAttrs(e *FilterError, field string) templ.Attributes {
	if !e.On(field) {
		return templ.Attributes{}
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": "filter-error", "data-first-error": "true"}
}

// ShortID is an id as a table shows it: its first 8 characters and "…";
// the whole id goes in the title and the copy button.
func ShortID(id string) string {
	r := []rune(id)
	if len(r) <= 9 {
		return id
	}
	return string(r[:8]) + "…"
}

// Hidden is the filter as name/value pairs (no page), for a form that
// keeps it while changing the page.
func (f EndpointFilter) Hidden() [][2]string {
	var out [][2]string
	for _, kv := range [][2]string{{"type", f.Type}, {"status", f.Status}, {"vpc", f.VpcID}, {"q", f.Search}} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	if f.Drifted {
		out = append(out, [2]string{"drifted", "true"})
	}
	return out
}

// URL returns the list page's URL for this filter at page.
func (f EndpointFilter) URL(page int) string {
	if q := f.Query(page); q != "" {
		return "/endpoints?" + q
	}
	return "/endpoints"
}

// Freshness says how current the inventory is, and why it is not when it
// is not (inventory.Status, for people).
type Freshness struct {
	State         string    // fresh | stale | never_loaded
	LastSuccessAt time.Time // zero when never loaded
	Count         int       // endpoints at the last success
	Interval      time.Duration
	LastFailure   *RefreshFailure // the newest attempt's failure; nil when it succeeded
	Now           time.Time
}

// Loaded reports whether a refresh has succeeded at least once.
func (f Freshness) Loaded() bool { return f.State != "never_loaded" }

// Stale reports whether the list may be out of date: the newest refresh
// failed, or the last success is older than two refresh intervals.
func (f Freshness) Stale() bool { return f.State == "stale" }

// Every says how often something happens every d, in words: "every minute",
// "every 5 minutes", "every 30 seconds".
func Every(d time.Duration) string {
	unit, n := "second", int(d/time.Second)
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		unit, n = "hour", int(d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		unit, n = "minute", int(d/time.Minute)
	}
	if n == 1 {
		return "every " + unit
	}
	return fmt.Sprintf("every %d %ss", n, unit)
}

// RefreshFailure is why a refresh failed: in plain words, and as the
// upstream answered.
type RefreshFailure struct {
	At        time.Time
	Heading   string // what failed, e.g. "The VPCEP API rejected the console's credentials"
	Upstream  bool   // the upstream failed (an error answer, or none), not the console
	Status    int    // the upstream's HTTP status; 0 when no answer arrived
	Code      string
	Message   string
	RequestID string
}

// InventoryProblem is shown in place of the table while the inventory has
// never been loaded: an empty table would say "no endpoints" where the
// truth is that the upstream could not be read.
type InventoryProblem struct {
	Heading   string
	Message   string
	RequestID string // the console's request id
}

// EndpointList is the list page's results: the part htmx swaps on filter
// changes and refreshes.
type EndpointList struct {
	Filter    EndpointFilter
	Endpoints []vpcep.Endpoint
	Total     int
	Page      int
	Pages     int
	PerPage   int
	Freshness Freshness
	NotLoaded *InventoryProblem // set, instead of a list, while the inventory was never loaded
	Notice    string            // e.g. that a refresh was already running
	CSRF      string
	Error     *FilterError // a bad filter value; the list is shown without it
	// RowCaches, beside Endpoints when the inventory was read from memory,
	// keep each endpoint's rendered row for the next page that shows it.
	RowCaches []RowCache
	// Drifts are the endpoints with an open drift (read once per page),
	// for the rows' badges.
	Drifts map[string]DriftMark
}

// RowCache keeps the rendered row of one endpoint for as long as the
// endpoint is unchanged (store.Renderings: one per endpoint and inventory
// generation).
type RowCache interface {
	Row(render func() (string, error)) (string, error)
}

// rowCache is the cache of the i-th endpoint's row; nil when there is none.
func (r EndpointList) rowCache(i int) RowCache {
	if i < len(r.RowCaches) {
		return r.RowCaches[i]
	}
	return nil
}

// driftOf is the endpoint's open drift, nil when it has none.
func (r EndpointList) driftOf(id string) *DriftMark {
	if m, ok := r.Drifts[id]; ok {
		return &m
	}
	return nil
}

// cachedEndpointRow is endpointRow, rendered once per cache and drift
// state: a kept row is reused only when it was rendered with the same
// drift mark, so a badge appears and disappears as drifts open and close.
func cachedEndpointRow(ep vpcep.Endpoint, mark *DriftMark, cache RowCache) templ.Component {
	if cache != nil {
		cache = driftRowCache{inner: cache, mark: mark}
	}
	return cachedRow(endpointRow(ep, mark), cache)
}

// cachedRow is row, rendered once per cache: for rows that depend on their
// data alone, never on the request.
func cachedRow(row templ.Component, cache RowCache) templ.Component {
	if cache == nil {
		return row
	}
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		html, err := cache.Row(func() (string, error) {
			var b strings.Builder
			err := row.Render(ctx, &b)
			return b.String(), err
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, html)
		return err
	})
}

// Narrowed says whether the filter leaves any endpoint out (the page aside).
func (f EndpointFilter) Narrowed() bool {
	return f.Type != "" || f.Status != "" || f.VpcID != "" || f.Search != "" || f.Drifted
}

// CountText says how many endpoints the list holds: of how many in the
// inventory when a filter narrows it, so the inventory's size above the
// list is never read as the filter's.
func (r EndpointList) CountText() string {
	if r.Filter.Narrowed() && r.Freshness.Loaded() {
		return itoa(r.Total) + " of " + itoa(r.Freshness.Count) + " endpoints match"
	}
	return itoa(r.Total) + " endpoints"
}

// JumpValue is what the page-number box shows: what was typed when it was
// wrong, else the page shown.
func (r EndpointList) JumpValue() string {
	if r.Error.On("page") {
		return r.Error.Value
	}
	return strconv.Itoa(r.Page)
}

// EndpointsPage is the /endpoints page.
type EndpointsPage struct {
	Base
	Results  EndpointList
	VpcIDs   []string
	Statuses []string
}

// EndpointPage is the /endpoints/{id} page.
type EndpointPage struct {
	Base
	Endpoint    *vpcep.Endpoint
	PolicyJSON  string // policy_statement, pretty-printed
	DocJSON     string // policy_document, pretty-printed, when present
	RawJSON     string // the upstream's answer, pretty-printed
	Editable    bool
	NotEditable string // why not, when not
	// Drift is the open drift, shown before everything else; nil when none.
	Drift *DriftBanner
	// DriftError says why the check for a change made outside the console
	// failed ("" when it did not); the page is shown anyway.
	DriftError string
	// Notice is a one-time message, e.g. after an adopt.
	Notice string
}

// UpstreamError is an upstream failure in plain words.
type UpstreamError struct {
	Op        string
	Status    int
	Code      string
	Message   string
	RequestID string
}

// ErrorPage is every error page.
type ErrorPage struct {
	Base
	Status   int
	Heading  string
	Message  string
	Upstream *UpstreamError
}

// ago says how long before now t was, in words.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds ago", int(d.Seconds()))
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 2*time.Hour:
		return "1 hour ago"
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

// timestamp formats t as the API does, or "—" for the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func itoa(n int) string { return strconv.Itoa(n) }

func statusClass(status string) string { return "badge status-" + status }

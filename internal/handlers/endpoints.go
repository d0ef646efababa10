package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// maxSearchLength bounds the search text; the upstream's names and ids are at most 128.
const maxSearchLength = 128

// manualRefreshTimeout bounds a Refresh button press.
const manualRefreshTimeout = 2 * time.Minute

// parseFilter reads the list filters for the API, where a bad value is a
// 400 naming the parameter.
func parseFilter(c echo.Context) (views.EndpointFilter, error) {
	f, ferr := parseListFilter(c)
	if ferr != nil && ferr.Field != "drifted" { // the API reads drifted itself, naming the field
		return f, badRequest(ferr.Message)
	}
	return f, nil
}

// parseListFilter reads the list filters from query or form values. A bad value
// is a FilterError naming its control: the list is then shown without that
// filter, and the form shows the error where it was made, keeping what was
// typed. An absent page means the first.
func parseListFilter(c echo.Context) (views.EndpointFilter, *views.FilterError) {
	f := views.EndpointFilter{
		Type:   c.FormValue("type"),
		Status: c.FormValue("status"),
		VpcID:  c.FormValue("vpc"),
		Search: c.FormValue("q"),
		Page:   1,
	}
	switch {
	case f.Type != "" && f.Type != vpcep.ServiceTypeGateway && f.Type != vpcep.ServiceTypeInterface:
		f.Type = ""
		return f, &views.FilterError{Field: "type", Message: `The type filter must be "gateway" or "interface".`}
	case len(f.Search) > maxSearchLength:
		return f, &views.FilterError{Field: "q", Message: fmt.Sprintf("Search text is at most %d characters.", maxSearchLength)}
	case len(f.VpcID) > 64:
		f.VpcID = ""
		return f, &views.FilterError{Field: "vpc", Message: "A VPC id is at most 64 characters."}
	case len(f.Status) > 64:
		f.Status = ""
		return f, &views.FilterError{Field: "status", Message: "A status is at most 64 characters."}
	}
	switch d := c.FormValue("drifted"); d {
	case "", "false":
	case "true":
		f.Drifted = true
	default:
		return f, &views.FilterError{Field: "drifted", Message: `The drifted filter must be "true" (only endpoints changed outside the console) or left out.`}
	}
	if p := c.FormValue("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxPage {
			return f, &views.FilterError{Field: "page", Value: p,
				Message: fmt.Sprintf("The page must be a whole number from 1 up. No list has more than %d pages.", maxPage)}
		}
		f.Page = n
	}
	return f, nil
}

// queryFilter is the filter the list is read with: a field in error is left out.
func queryFilter(f views.EndpointFilter, ferr *views.FilterError) views.EndpointFilter {
	if ferr != nil && ferr.Field == "q" {
		f.Search = ""
	}
	return f
}

// listEndpoints serves /endpoints from the inventory; htmx requests get only
// the results fragment. Until a refresh has succeeded the answer is the
// error table's (503 inventory_unavailable), with the newest refresh's
// failure where the table would be. A bad filter answers 422 with the whole
// page, the error at the filter. A page past the end shows the last page.
func (s *Server) listEndpoints(c echo.Context) error {
	f, ferr := parseListFilter(c)
	results, status, err := s.endpointList(c, f, ferr)
	if err != nil {
		return err
	}
	if results.Page != f.Page && isFragment(c) {
		// htmx pushes the URL it asked for; the page shown is another.
		c.Response().Header().Set("HX-Push-Url", here(c, results.Filter.URL(results.Page)))
	}
	if isFragment(c) {
		return render(c, status, views.EndpointResults(results))
	}
	facets, err := scoped(c).Store.InventoryFacets(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, status, views.EndpointsView(views.EndpointsPage{
		Base:     s.base(c, "Endpoints"),
		Results:  results,
		VpcIDs:   facets.VpcIDs,
		Statuses: facets.Statuses,
	}))
}

// refreshEndpoints re-reads the upstream now. A failure is not an error
// page: it is recorded and shown in the freshness line above the last good
// inventory (or in its place, when there is none). htmx gets the results
// fragment; a plain form post is redirected back to the list
// (POST-redirect-GET).
func (s *Server) refreshEndpoints(c echo.Context) error {
	f, ferr := parseListFilter(c)
	ctx, cancel := context.WithTimeout(c.Request().Context(), manualRefreshTimeout)
	defer cancel()
	notice := ""
	who := actor(c)
	if a := account(c); a != nil {
		who = strconv.FormatInt(a.ID, 10)
	}
	var throttled *inventory.ThrottledError
	switch outcome, err := scoped(c).Refresher.RefreshManual(ctx, who); {
	case errors.As(err, &throttled):
		return err // 429 with Retry-After, through the error table
	case outcome == inventory.Running:
		notice = "A refresh was already running; the list below is the latest complete one."
	case outcome == inventory.Reused:
		notice = "The list was refreshed moments ago; it is shown as that refresh left it."
	case err != nil:
		var upstreamErr *vpcep.Error
		if !errors.As(err, &upstreamErr) {
			return err
		}
	}
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, here(c, f.URL(f.Page)))
	}
	results, status, err := s.endpointList(c, f, ferr)
	if err != nil {
		return err
	}
	if results.Page != f.Page {
		c.Response().Header().Set("HX-Replace-Url", here(c, results.Filter.URL(results.Page)))
	}
	results.Notice = notice
	return render(c, status, views.EndpointResults(results))
}

// endpointList reads one page of the inventory and its state, and the
// status to answer with: 200 (422 with a filter error), or, while the
// inventory was never loaded, the error table's status for that (with its
// Retry-After) and no list. A page past the last is read as the last.
func (s *Server) endpointList(c echo.Context, f views.EndpointFilter, ferr *views.FilterError) (views.EndpointList, int, error) {
	ctx := c.Request().Context()
	// The state is read before the list: should a refresh land in between,
	// the list is newer than the state says, never older.
	p := scoped(c)
	st, err := p.Refresher.Status(ctx, s.Now())
	if err != nil {
		return views.EndpointList{}, 0, err
	}
	list := views.EndpointList{Filter: f, Page: f.Page, PerPage: s.PerPage, Freshness: s.freshness(st), CSRF: csrfToken(c), Error: ferr}
	if err := st.Err(); err != nil {
		p := problemFor(err)
		p.setRetryAfter(c)
		list.NotLoaded = &views.InventoryProblem{Heading: p.heading, Message: p.message,
			RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
		return list, p.status, nil
	}
	q := queryFilter(f, ferr)
	read := func(n int) (store.InventoryPage, error) {
		return p.Store.ListInventory(ctx, store.InventoryFilter{
			Type: q.Type, Status: q.Status, VpcID: q.VpcID, Search: q.Search, Drifted: q.Drifted, Page: n, PerPage: s.PerPage,
		})
	}
	page, err := read(f.Page)
	if err != nil {
		return views.EndpointList{}, 0, err
	}
	list.Pages = (page.Total + s.PerPage - 1) / s.PerPage
	if list.Pages > 0 && f.Page > list.Pages {
		list.Page, list.Filter.Page = list.Pages, list.Pages
		if page, err = read(list.Pages); err != nil {
			return views.EndpointList{}, 0, err
		}
	}
	list.Endpoints, list.Total = page.Endpoints, page.Total
	list.RowCaches = rowCaches(page.Renderings)
	if list.Drifts, err = s.driftMarks(ctx, p.Store, page.Endpoints); err != nil {
		return views.EndpointList{}, 0, err
	}
	status := http.StatusOK
	if ferr != nil {
		status = http.StatusUnprocessableEntity
	}
	return list, status, nil
}

// rowCaches are the read model's renderings as the list's row caches; none
// when the page was read from the database.
func rowCaches(renderings []*store.Renderings) []views.RowCache {
	if len(renderings) == 0 {
		return nil
	}
	out := make([]views.RowCache, len(renderings))
	for i, r := range renderings {
		if r != nil { // a nil *Renderings would make a non-nil RowCache
			out[i] = r
		}
	}
	return out
}

// freshness describes the inventory's state for people.
func (s *Server) freshness(st inventory.Status) views.Freshness {
	f := views.Freshness{
		State:         string(st.State),
		LastSuccessAt: st.RefreshedAt,
		Count:         st.Count,
		Interval:      st.Interval,
		Now:           s.Now(),
	}
	if lf := st.LastFailure; lf != nil {
		f.LastFailure = &views.RefreshFailure{
			At: st.LastAttemptAt, Heading: refreshFailureHeading(lf), Upstream: lf.Source == store.FailureUpstream,
			Status: lf.Status, Code: lf.Code, Message: lf.Message, RequestID: lf.RequestID,
		}
	}
	return f
}

// refreshFailureHeading says in plain words what failed in a refresh, in
// the words of the error table for the upstream's failures.
func refreshFailureHeading(f *store.RefreshFailure) string {
	if f.Source != store.FailureUpstream {
		return "The console could not store the endpoint list"
	}
	return describeUpstream(refreshUpstreamError(f)).heading
}

// refreshUpstreamError is a refresh's recorded upstream failure as the
// upstream error it was.
func refreshUpstreamError(f *store.RefreshFailure) *vpcep.Error {
	return &vpcep.Error{Op: "list endpoints (inventory refresh)", Status: f.Status, Code: f.Code, Message: f.Message, RequestID: f.RequestID}
}

// inventoryNotLoaded is the error table's answer while no refresh has
// succeeded: 503 inventory_unavailable, saying why in the words the error
// table has for the upstream's failure, with its status, code and request
// id. The console retries by itself at every refresh interval.
func inventoryNotLoaded(e *inventory.NotLoadedError) problem {
	p := problem{status: http.StatusServiceUnavailable, code: "inventory_unavailable", retryAfter: e.RetryAfter()}
	again := fmt.Sprintf("The console tries again %s; until a refresh succeeds it has no endpoint list to show.", views.Every(e.Status.Interval))
	switch f := e.Status.LastFailure; {
	case f == nil:
		p.heading = "The endpoint list is being loaded"
		p.message = "The console has not finished reading the endpoint list from the VPCEP API for the first time. Try again in a few seconds."
	case f.Source != store.FailureUpstream:
		p.heading = "The endpoint list could not be loaded"
		p.message = "The console read the endpoint list but could not store it: " + f.Message + ". " + again
	default:
		ue := refreshUpstreamError(f)
		d := describeUpstream(ue)
		p.heading = "The endpoint list could not be loaded from the VPCEP API"
		p.message = d.heading + ". " + d.message + " "
		if f.Status != 0 && f.Message != "" {
			p.message += "It said: “" + f.Message + "”. "
		}
		p.message += again
		p.upstream = ue
	}
	return p
}

// showEndpoint reads one endpoint live from the upstream, and checks it for
// a change made outside the console.
func (s *Server) showEndpoint(c echo.Context) error {
	p, err := s.endpointPage(c, c.Param("id"))
	if err != nil {
		return err
	}
	p.Notice = adoptNotice(c)
	return render(c, http.StatusOK, views.EndpointView(p))
}

// endpointPage reads the endpoint live and builds its page, with the drift
// banner when its policy was changed outside the console.
func (s *Server) endpointPage(c echo.Context, id string) (views.EndpointPage, error) {
	if len(id) > 64 {
		// The API's ids are at most 64 characters: no such endpoint can exist.
		return views.EndpointPage{}, echo.NewHTTPError(http.StatusNotFound)
	}
	ctx, rec := vpcep.WithRecorder(c.Request().Context())
	ep, err := scoped(c).Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return views.EndpointPage{}, err
	}
	p := views.EndpointPage{Base: s.base(c, ep.ServiceName), Endpoint: ep}
	p.Editable, p.NotEditable = change.Editable(ep)
	if len(ep.PolicyStatement) > 0 {
		p.PolicyJSON = prettyJSON(ep.PolicyStatement)
	}
	if len(ep.PolicyDocument) > 0 && string(ep.PolicyDocument) != "null" {
		p.DocJSON = prettyJSON(ep.PolicyDocument)
	}
	if xs := rec.Exchanges(); len(xs) > 0 {
		p.RawJSON = prettyJSON(json.RawMessage(xs[len(xs)-1].ResponseBody))
	}
	if p.Editable {
		p.Drift, p.DriftError = s.observeDriftPage(c, ep, drift.ByDetail, backEndpoint)
	}
	return p, nil
}

// prettyJSON indents v; raw JSON is re-indented as is, keeping every field.
func prettyJSON(v any) string {
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return ""
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return string(raw)
	}
	return out.String()
}

package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// maxSearchLength bounds the search text; the upstream's names and ids are at most 128.
const maxSearchLength = 128

// manualRefreshTimeout bounds a Refresh button press.
const manualRefreshTimeout = 2 * time.Minute

// parseFilter reads the list filters from query or form values. Bad values
// are errors that name the parameter; an absent page means the first.
func parseFilter(c echo.Context) (views.EndpointFilter, error) {
	f := views.EndpointFilter{
		Type:   c.FormValue("type"),
		Status: c.FormValue("status"),
		VpcID:  c.FormValue("vpc"),
		Search: c.FormValue("q"),
		Page:   1,
	}
	if f.Type != "" && f.Type != vpcep.ServiceTypeGateway && f.Type != vpcep.ServiceTypeInterface {
		return f, badRequest(`The type filter must be "gateway" or "interface".`)
	}
	if len(f.Search) > maxSearchLength || len(f.VpcID) > 64 || len(f.Status) > 64 {
		return f, badRequest("A filter value is too long: search text is at most 128 characters, VPC and status at most 64.")
	}
	if p := c.FormValue("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return f, badRequest("The page must be a whole number from 1 up.")
		}
		f.Page = n
	}
	return f, nil
}

// listEndpoints serves /endpoints from the inventory; htmx requests get only
// the results fragment.
func (s *Server) listEndpoints(c echo.Context) error {
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	results, err := s.endpointList(c.Request().Context(), f)
	if err != nil {
		return err
	}
	results.CSRF = csrfToken(c)
	if isFragment(c) {
		return render(c, http.StatusOK, views.EndpointResults(results))
	}
	facets, err := s.Store.InventoryFacets(c.Request().Context())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.EndpointsView(views.EndpointsPage{
		Base:     s.base(c, "Endpoints"),
		Results:  results,
		VpcIDs:   facets.VpcIDs,
		Statuses: facets.Statuses,
	}))
}

// refreshEndpoints re-reads the upstream now. A failure is not an error
// page: it is recorded and shown in the freshness line above the last good
// inventory. htmx gets the results fragment; a plain form post is redirected
// back to the list (POST-redirect-GET).
func (s *Server) refreshEndpoints(c echo.Context) error {
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), manualRefreshTimeout)
	defer cancel()
	notice := ""
	switch err := s.Refresher.Refresh(ctx, inventory.TriggerManual); {
	case errors.Is(err, inventory.ErrBusy):
		notice = "A refresh was already running; the list below is the latest complete one."
	case err != nil:
		var upstreamErr *vpcep.Error
		if !errors.As(err, &upstreamErr) {
			return err
		}
	}
	if !isFragment(c) {
		return c.Redirect(http.StatusSeeOther, f.URL(f.Page))
	}
	results, err := s.endpointList(c.Request().Context(), f)
	if err != nil {
		return err
	}
	results.Notice, results.CSRF = notice, csrfToken(c)
	return render(c, http.StatusOK, views.EndpointResults(results))
}

func (s *Server) endpointList(ctx context.Context, f views.EndpointFilter) (views.EndpointList, error) {
	page, err := s.Store.ListInventory(ctx, store.InventoryFilter{
		Type: f.Type, Status: f.Status, VpcID: f.VpcID, Search: f.Search, Page: f.Page, PerPage: s.PerPage,
	})
	if err != nil {
		return views.EndpointList{}, err
	}
	state, err := s.Store.RefreshState(ctx)
	if err != nil {
		return views.EndpointList{}, err
	}
	return views.EndpointList{
		Filter:    f,
		Endpoints: page.Endpoints,
		Total:     page.Total,
		Page:      f.Page,
		PerPage:   s.PerPage,
		Pages:     (page.Total + s.PerPage - 1) / s.PerPage,
		Freshness: s.freshness(state),
	}, nil
}

// freshness describes state for people. The inventory is stale when the
// last success is older than three refresh intervals.
func (s *Server) freshness(state store.RefreshState) views.Freshness {
	now := s.Now()
	f := views.Freshness{
		Loaded:        !state.LastSuccessAt.IsZero(),
		LastSuccessAt: state.LastSuccessAt,
		Count:         state.LastSuccessSize,
		Now:           now,
	}
	f.Stale = f.Loaded && now.Sub(state.LastSuccessAt) > 3*s.Refresher.Interval()
	if state.Last != nil && !state.Last.Succeeded {
		f.LastError, f.LastErrorAt = state.Last.Error, state.Last.FinishedAt
	}
	return f
}

// showEndpoint reads one endpoint live from the upstream.
func (s *Server) showEndpoint(c echo.Context) error {
	id := c.Param("id")
	if len(id) > 64 {
		// The API's ids are at most 64 characters: no such endpoint can exist.
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ctx, rec := vpcep.WithRecorder(c.Request().Context())
	ep, err := s.Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return err
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
	return render(c, http.StatusOK, views.EndpointView(p))
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

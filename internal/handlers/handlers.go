// Package handlers is the console's HTTP surface: routes, middleware, the
// handlers and the one error handler. Echo lives here and nowhere else, so a
// move to another router or Echo v5 stays inside this package.
package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is what the handlers ask of the VPCEP API.
type Upstream interface {
	GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error)
}

// SchemaChecker reports whether the database schema is current.
type SchemaChecker interface {
	CheckCurrent(ctx context.Context) error
}

// Deps are the handlers' dependencies, built in main.
type Deps struct {
	Store     *store.Store
	Upstream  Upstream
	Audit     *audit.Log
	Applier   *change.Applier
	Refresher *inventory.Refresher
	Schema    SchemaChecker
	Logger    *slog.Logger
	ProjectID string
	Region    string
	Demo      bool
	// PerPage is the list page size; 50 when zero.
	PerPage int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
}

// New returns the console's HTTP handler.
func New(d Deps) http.Handler {
	if d.PerPage == 0 {
		d.PerPage = 50
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{Deps: d}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	s.routes(e)
	return e
}

// base returns the frame every page shares.
func (s *Server) base(c echo.Context, title string) views.Base {
	return views.Base{
		Title:     title,
		ProjectID: s.ProjectID,
		Region:    s.Region,
		Demo:      s.Demo,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	}
}

// render is the only code that writes HTML. It renders into a buffer first,
// so a failing template becomes an error page rather than half a page.
func render(c echo.Context, status int, component templ.Component) error {
	var buf bytes.Buffer
	if err := component.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// isFragment reports whether htmx asked for a fragment rather than a page.
// History restores and boosted links want the whole page.
func isFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true" && h.Get("HX-Boosted") != "true"
}

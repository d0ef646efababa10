// Package handlers is the console's HTTP surface: routes, middleware, the
// handlers and the one error handler. Echo lives here and nowhere else, so a
// move to another router or Echo v5 stays inside this package.
package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/sso"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is what the handlers ask of the VPCEP API.
type Upstream interface {
	GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error)
}

// RequestObserver is told about every answered request, for metrics.
type RequestObserver interface {
	// ObserveRequest gets the route's template (e.g. /endpoints/:id, ""
	// when no route matched), never the URL with its ids and query.
	ObserveRequest(route, method string, status int, elapsed time.Duration)
}

// SchemaChecker reports whether the database schema is current.
type SchemaChecker interface {
	CheckCurrent(ctx context.Context) error
}

// Deps are the handlers' dependencies, built in main.
type Deps struct {
	// Store is a store over the shared database: /readyz pings it. Each
	// project's parts are in Projects.
	Store  *store.Store
	Audit  *audit.Log
	Schema SchemaChecker
	Logger *slog.Logger
	Auth   *auth.Store
	// SSO is single sign-on through OpenID Connect; nil when not set up.
	SSO      *sso.Provider
	Sessions auth.SessionConfig
	// CookieSecure marks cookies Secure (and __Host-); off only for a
	// plain-http local demo.
	CookieSecure bool
	// TLS says the server is reached over HTTPS: answers carry HSTS.
	TLS bool
	// TrustedProxies may set X-Forwarded-For; from anyone else it is ignored.
	TrustedProxies []*net.IPNet
	// Projects are every project served (at least one), the first the
	// default.
	Projects []*Project
	Demo     bool
	// Metrics, when set, is told about every request answered.
	Metrics RequestObserver
	// PerPage is the list page size; 50 when zero.
	PerPage int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	auditRows auditRows // rendered rows of the audit list (auditrows.go)
	ssoStarts ssoStarts // single sign-on attempts started per address (sso.go)
}

// Handler is the console's HTTP handler.
type Handler struct {
	e      *echo.Echo
	access map[string]auth.Role // "METHOD path" -> the role required ("" public)
	scoped map[string]bool      // "METHOD path" of the routes of one project (needProject)
}

// ServeHTTP serves a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.e.ServeHTTP(w, r) }

// Route is a registered route and the role it requires ("" public).
type Route struct {
	Method, Path string
	Role         auth.Role
	Checked      bool // registered with an access rule
	// Scoped: the route acts in one project, named by /p/{name}/ (or the
	// only one), and its role is the account's in that project.
	Scoped bool
}

// Routes lists every route the router serves, with its access rule, so a
// test can prove none was registered without one.
func (h *Handler) Routes() []Route {
	var out []Route
	for _, r := range h.e.Routes() {
		role, ok := h.access[r.Method+" "+r.Path]
		out = append(out, Route{Method: r.Method, Path: r.Path, Role: role, Checked: ok, Scoped: h.scoped[r.Method+" "+r.Path]})
	}
	return out
}

// New returns the console's HTTP handler.
func New(d Deps) *Handler {
	if d.PerPage == 0 {
		d.PerPage = 50
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Sessions.Idle == 0 {
		d.Sessions.Idle = 30 * time.Minute
	}
	if d.Sessions.Absolute == 0 {
		d.Sessions.Absolute = 12 * time.Hour
	}
	s := &Server{Deps: d}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	h := &Handler{e: e, access: map[string]auth.Role{}, scoped: map[string]bool{}}
	s.routes(e, h.access, h.scoped)
	return h
}

// ipExtractor reads the client address from the connection, or from
// X-Forwarded-For only when the connection comes from a trusted proxy, so a
// rotated header resets no throttle.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// base returns the frame every page shares.
func (s *Server) base(c echo.Context, title string) views.Base {
	b := views.Base{
		Title:     title,
		Demo:      s.Demo,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	}
	b.CSRF = csrfToken(c)
	a := account(c)
	if a == nil {
		return b
	}
	here := scoped(c)
	if here != nil && !a.RoleIn(here.Name).Allows(viewer) {
		// A refusal names nothing of the project refused, and its links
		// lead out of it (to a project the account may view), not back.
		here = nil
		r := c.Request()
		c.SetRequest(r.WithContext(views.WithPrefix(r.Context(), "")))
	}
	if here != nil {
		b.ProjectID, b.Region = here.ProjectID, here.Region
		if len(s.Projects) > 1 {
			b.Project = here.Name
		}
	}
	role := s.bestRole(a) // on a page of no project (or of one refused)
	if here != nil {
		role = a.RoleIn(here.Name)
	}
	b.Account = &views.Account{Name: a.Name, Role: role}
	for _, p := range s.viewable(a) {
		if p.Credential == nil || (here != nil && p != here) {
			continue
		}
		if n := p.Credential(s.Now()); n.Warning != "" {
			if len(s.Projects) > 1 {
				n.Warning = "Project " + p.Name + ": " + n.Warning
			}
			b.Notices = append(b.Notices, n.Warning)
		}
	}
	if len(s.Projects) > 1 {
		if here == nil && c.Request().URL.Path == "/audit" {
			// /audit?project=X is X's audit log: say so in the frame.
			if p := s.projectNamed(c.QueryParam("project")); p != nil && a.RoleIn(p.Name).Allows(viewer) {
				here, b.Project = p, p.Name
			}
		}
		b.Projects = s.switcher(c, a, here)
	}
	return b
}

// switcher is the project switcher of a page: each project the account
// may view, linking to this page's kind (the endpoint list, or the audit
// log) in that project, with the state of its inventory.
func (s *Server) switcher(c echo.Context, a *auth.Account, here *Project) []views.ProjectTab {
	page := "/endpoints"
	if strings.HasPrefix(c.Request().URL.Path, "/audit") {
		page = "/audit"
	}
	ctx := c.Request().Context()
	var tabs []views.ProjectTab
	for _, p := range s.viewable(a) {
		t := views.ProjectTab{Name: p.Name, Region: p.Region, Href: "/p/" + p.Name + page, Current: p == here}
		if st, err := p.Refresher.Status(ctx, s.Now()); err == nil {
			t.State = string(st.State)
			if st.State != inventory.Fresh {
				t.Problem = st.Reason()
			}
		}
		tabs = append(tabs, t)
	}
	return tabs
}

// csrfToken is the token the CSRF middleware left for this request's forms.
func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfContextKey).(string)
	return t
}

// render is the only code that writes HTML. It renders into a buffer first,
// so a failing template becomes an error page rather than half a page.
func render(c echo.Context, status int, component templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	buf.Reset()
	if err := component.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBuffers are render's buffers, reused: a list page is about 50 KB,
// and growing a fresh buffer to that for every view was a tenth of its
// cost in allocations alone.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender bounds the buffers kept: a rare huge page is not held.
const maxPooledRender = 1 << 20

func putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledRender {
		renderBuffers.Put(buf)
	}
}

// isFragment reports whether htmx asked for a fragment rather than a page.
// History restores and boosted links want the whole page.
func isFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true" && h.Get("HX-Boosted") != "true"
}

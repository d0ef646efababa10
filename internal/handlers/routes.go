package handlers

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/static"
)

// csrfContextKey is where the CSRF middleware leaves the token for the views.
const csrfContextKey = "csrf"

// Access levels of a route.
const (
	public = auth.Role("")
	viewer = auth.Viewer
	editor = auth.Editor
	admin  = auth.Admin
)

// routes registers every route with the role it requires, and the middleware
// around them. The whole surface reads here in one screen.
func (s *Server) routes(e *echo.Echo, access map[string]auth.Role, scopedRoutes map[string]bool) {
	e.Pre(s.scopeProject) // /p/{name}/... is that project's (projects.go)
	if s.Metrics != nil {
		e.Use(s.measureRequests) // outermost: it sees the answer a panic became
	}
	e.Use(middleware.Recover())
	e.Use(requestID)
	e.Use(s.logRequests())
	e.Use(s.securityHeaders)
	e.Use(compress())
	// Bodies are small: a policy is at most 64 KiB (the API checks that
	// itself, with a field-level answer); anything far larger is refused
	// with 413 before a handler reads it.
	e.Use(middleware.BodyLimit("256K"))
	e.Use(s.authenticate)
	e.Use(s.csrf())
	e.Use(s.validateInput) // clean text in every query, path and form value (input.go)
	// Routes on one endpoint (:id below /endpoints) check its id (endpointID, input.go).

	// route adds a route: mw (the endpoint id check) runs before the role
	// is checked, as the global middleware does. A route of one project's
	// endpoints is scoped: it needs a project (needProject), and its role
	// is the one the account has in that project.
	route := func(method, path string, role auth.Role, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		access[method+" "+path] = role
		if projectScoped(path) {
			scopedRoutes[method+" "+path] = true
			mw = append([]echo.MiddlewareFunc{s.needProject}, mw...)
		}
		e.Add(method, path, h, append(mw, s.require(role))...)
	}
	get := func(path string, role auth.Role, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		route(http.MethodGet, path, role, h, mw...)
	}
	post := func(path string, role auth.Role, h echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
		route(http.MethodPost, path, role, h, mw...)
	}

	// Signing in and out; health; assets
	get("/login", public, s.showLogin)
	post("/login", public, s.login)
	post("/logout", public, s.logout)
	get("/login/sso", public, s.startSSO)           // to the identity provider (sso.go)
	get("/login/sso/callback", public, s.finishSSO) // and back
	get("/healthz", public, s.healthz)
	get("/readyz", public, s.readyz)
	// Asset URLs carry a content hash (static.Path): cacheable for a year.
	get("/static/*", public, func(c echo.Context) error {
		if static.IsCurrent(c.Param("*"), c.QueryParam("v")) {
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		return echo.StaticDirectoryHandler(static.FS, false)(c)
	})
	// Browsers ask for /favicon.ico by themselves, whatever the page links.
	get("/favicon.ico", public, serveFavicon)

	// Browsing
	get("/", viewer, func(c echo.Context) error {
		return c.Redirect(http.StatusFound, views.Prefix(c.Request().Context())+"/endpoints")
	})
	get("/endpoints", viewer, s.listEndpoints)
	post("/endpoints/refresh", viewer, s.refreshEndpoints) // re-reads the upstream; changes no policy
	get("/endpoints/:id", viewer, s.showEndpoint, endpointID)
	get("/endpoints/:id/history", viewer, s.endpointHistory, endpointID)

	// Policy editing: editor, its buttons and syncs, preview, apply
	get("/endpoints/:id/policy/edit", editor, s.editPolicy, endpointID)
	post("/endpoints/:id/policy/edit", editor, s.editorOp, endpointID)
	post("/endpoints/:id/policy/preview", editor, s.previewPolicy, endpointID)
	post("/endpoints/:id/policy", editor, s.updatePolicy, endpointID)

	// Audit log and rollback
	get("/audit", viewer, s.listAudit)
	get("/audit.csv", viewer, s.exportCSV)
	get("/audit.json", viewer, s.exportJSON)
	get("/audit/:id", viewer, s.showEntry)
	get("/audit/:id/rollback", editor, s.confirmRollback)
	post("/audit/:id/rollback", editor, s.rollbackEntry)
	post("/audit/:id/adopt", editor, s.adoptDrift) // accepts a change made outside the console (drift_pages.go)

	// The signed-in account
	get("/account", viewer, s.showAccount)
	post("/account/password", viewer, s.changeOwnPassword)
	post("/account/tokens", viewer, s.createOwnToken) // read-only tokens, for every role
	post("/account/tokens/:id/revoke", viewer, s.revokeOwnToken)

	// Administration
	get("/admin/accounts", admin, s.adminAccounts)
	post("/admin/accounts", admin, s.addAccount)
	post("/admin/accounts/:name/:op", admin, s.changeAccount)
	post("/admin/accounts/:name/tokens", admin, s.createToken)
	post("/admin/tokens/:id/revoke", admin, s.revokeAnyToken)
	get("/security-events", admin, s.securityEvents)

	// JSON API (Bearer token or session)
	get("/api/v1/projects", viewer, s.apiListProjects)
	get("/api/v1/endpoints", viewer, s.apiListEndpoints)
	get("/api/v1/endpoints/:id", viewer, s.apiGetEndpoint, endpointID)
	route(http.MethodPut, "/api/v1/endpoints/:id/policy", editor, s.apiUpdatePolicy, endpointID)
	get("/api/v1/audit", viewer, s.apiListAudit)
	get("/api/v1/audit/:id", viewer, s.apiGetAudit)
	post("/api/v1/audit/:id/rollback", editor, s.apiRollback)
	post("/api/v1/audit/:id/adopt", editor, s.apiAdopt)
}

// projectScoped reports whether a route acts on one project's endpoints:
// the endpoint pages, the editor, the refresh and the endpoint API.
func projectScoped(path string) bool {
	return path == "/" || path == "/endpoints" || strings.HasPrefix(path, "/endpoints/") ||
		path == "/api/v1/endpoints" || strings.HasPrefix(path, "/api/v1/endpoints/")
}

// compress gzips every answer for a client that accepts it: pages, assets
// and the exports. The gzip writer flushes through, so /audit.csv and
// /audit.json still stream. Tiny answers (redirects, 204s) are left alone.
// The fastest level: at 5, compressing a 50 KB list page cost about twice
// as much CPU as at 1, which made it about 12% smaller (5.4 KB against
// 4.9 KB), far from worth it on a loopback or LAN.
func compress() echo.MiddlewareFunc {
	return middleware.GzipWithConfig(middleware.GzipConfig{Level: gzip.BestSpeed, MinLength: 512})
}

// serveFavicon answers /favicon.ico with the SVG icon the pages link.
func serveFavicon(c echo.Context) error {
	icon, err := static.FS.ReadFile("favicon.svg")
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.Blob(http.StatusOK, "image/svg+xml", icon)
}

// securityHeaders sets the headers every answer carries, errors included.
func (s *Server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; img-src 'self' data:")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.TLS {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if p := c.Request().URL.Path; !strings.HasPrefix(p, "/static/") && p != "/favicon.ico" {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// requestIDPattern is a request id from a proxy worth keeping: short and
// plain, so it can neither forge log lines nor swell them.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID gives every request an id, answered in X-Request-Id and logged.
// A proxy's id is kept when it looks like one, so logs line up across hops;
// anything else is replaced by a fresh one, in the request too (the request
// logger reads it there).
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDPattern.MatchString(id) {
			var b [16]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
			c.Request().Header.Set(echo.HeaderXRequestID, id)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// logRequests logs one line per request with its id and actor. The query
// string is left out: it is the admin's search text, not something to keep.
func (s *Server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true,
		LogLatency:   true,
		LogRequestID: true,
		LogError:     true,
		HandleError:  true,
		Skipper: func(c echo.Context) bool {
			return strings.HasPrefix(c.Path(), "/static") || c.Path() == "/healthz"
		},
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// The level follows the answer given: a client's mistake (a 4xx,
			// whatever error produced it) is no outage alarm.
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.Logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method),
				slog.String("path", here(c, v.URIPath)), // as asked for, the project's prefix included
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
				slog.String("actor", actor(c)),
			)
			return nil
		},
	})
}

// measureRequests tells Metrics how long each request took and how it was
// answered, by route template. An error is turned into its answer here (the
// error handler does nothing to an answer already written), so the status
// recorded is the one the client got.
func (s *Server) measureRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		start := time.Now()
		// Deferred: a request aborted by a panic (an export broken midway)
		// is measured too.
		defer func() {
			s.Metrics.ObserveRequest(c.Path(), c.Request().Method, c.Response().Status, time.Since(start))
		}()
		err = next(c)
		if err != nil && !c.Response().Committed {
			c.Error(err)
		}
		return err
	}
}

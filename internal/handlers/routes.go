package handlers

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/vpcep-console/vpcep-console/static"
)

// routes registers every route and the middleware around them.
func (s *Server) routes(e *echo.Echo) {
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(s.logRequests())
	e.Use(securityHeaders)
	// Bodies are small: a policy is at most 64 KiB (the API checks that
	// itself, with a field-level answer); anything far larger is refused
	// before a handler reads it.
	e.Use(middleware.BodyLimit("256K"))

	// Pages
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/endpoints") })
	e.GET("/endpoints", s.listEndpoints)
	e.POST("/endpoints/refresh", s.refreshEndpoints)
	e.GET("/endpoints/:id", s.showEndpoint)
	e.GET("/endpoints/:id/history", s.endpointHistory)

	// Policy editing: editor, its buttons and syncs, preview, apply
	e.GET("/endpoints/:id/policy/edit", s.editPolicy)
	e.POST("/endpoints/:id/policy/edit", s.editorOp)
	e.POST("/endpoints/:id/policy/preview", s.previewPolicy)
	e.POST("/endpoints/:id/policy", s.updatePolicy)

	// Audit log
	e.GET("/audit", s.listAudit)
	e.GET("/audit.csv", s.exportCSV)
	e.GET("/audit.json", s.exportJSON)
	e.GET("/audit/:id", s.showEntry)
	e.GET("/audit/:id/rollback", s.confirmRollback)
	e.POST("/audit/:id/rollback", s.rollbackEntry)

	// JSON API
	api := e.Group("/api/v1")
	api.GET("/endpoints", s.apiListEndpoints)
	api.GET("/endpoints/:id", s.apiGetEndpoint)
	api.PUT("/endpoints/:id/policy", s.apiUpdatePolicy)
	api.GET("/audit", s.apiListAudit)
	api.GET("/audit/:id", s.apiGetAudit)
	api.POST("/audit/:id/rollback", s.apiRollback)

	// Health
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)

	// Assets: URLs carry a content hash (static.Path), so they can be cached for a year.
	assets := e.Group("/static", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.QueryParam("v") != "" {
				c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			return next(c)
		}
	})
	assets.StaticFS("/", static.FS)
}

// securityHeaders sets the headers every answer carries, errors included.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		return next(c)
	}
}

// logRequests logs one line per request with its id. The query string is
// left out: it is the admin's search text, not something to keep.
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
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			s.Logger.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("request_id", v.RequestID),
			)
			return nil
		},
	})
}

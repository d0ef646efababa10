package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz answers while the process is up.
func (s *Server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// readiness is /readyz's answer.
type readiness struct {
	Status string            `json:"status"` // ok | unavailable
	Checks map[string]string `json:"checks"`
}

// readyz answers 200 when the database answers, its schema is current and
// the inventory is usable: the last refresh succeeded, or the last success
// is recent (within three refresh intervals).
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	r := readiness{Status: "ok", Checks: map[string]string{}}
	fail := func(check, why string) {
		r.Status = "unavailable"
		r.Checks[check] = why
	}

	if err := s.Store.Ping(ctx); err != nil {
		fail("database", "not reachable")
		return c.JSON(http.StatusServiceUnavailable, r)
	}
	r.Checks["database"] = "ok"

	if err := s.Schema.CheckCurrent(ctx); err != nil {
		fail("migrations", err.Error())
	} else {
		r.Checks["migrations"] = "ok"
	}

	state, err := s.Store.RefreshState(ctx)
	switch {
	case err != nil:
		fail("inventory", "refresh state unreadable")
	case state.LastSuccessAt.IsZero():
		fail("inventory", "never refreshed successfully")
	case state.Last.Succeeded || s.Now().Sub(state.LastSuccessAt) <= 3*s.Refresher.Interval():
		r.Checks["inventory"] = "ok, refreshed at " + state.LastSuccessAt.UTC().Format(time.RFC3339)
	default:
		fail("inventory", "last success at "+state.LastSuccessAt.UTC().Format(time.RFC3339)+"; since then: "+state.Last.Error)
	}

	status := http.StatusOK
	if r.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, r)
}

package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/store"
)

// databaseRetryAfter is the Retry-After of an answer the database's absence
// made fail.
const databaseRetryAfter = 10 * time.Second

// healthz answers while the process is up.
func (s *Server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// readiness is /readyz's answer: each check's name and state, nothing more.
// /readyz is public, so why a check failed goes to the log only.
type readiness struct {
	Status string            `json:"status"` // ok | unavailable
	Checks map[string]string `json:"checks"`
	// Credentials are said to a signed-in admin only (session or token):
	// per project, what its credentials' notice says, when anything.
	Credentials map[string]apiCredential `json:"credentials,omitempty"`
}

// The states of /readyz's checks.
const (
	checkOK      = "ok"
	checkDown    = "down"    // database: it does not answer
	checkBehind  = "behind"  // schema: migrations are pending
	checkUnknown = "unknown" // could not be checked (the database is down, or the check failed)
)

// readyz answers 200 when the database answers, its schema is current and
// the inventory is usable (inventory.Status.Ready: loaded, and the newest
// refresh succeeded or the last success is within three refresh intervals);
// otherwise 503. The inventory check is the inventory's state: fresh, stale
// or never_loaded.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	requestID := c.Response().Header().Get(echo.HeaderXRequestID)
	r := readiness{Status: "ok", Checks: map[string]string{"database": checkOK, "schema": checkOK, "inventory": checkUnknown}}
	fail := func(check, state string, err error) {
		r.Status, r.Checks[check] = "unavailable", state
		if err != nil {
			s.Logger.Warn("readiness check failed", "check", check, "request_id", requestID, "error", err)
		}
	}

	if err := s.Store.Ping(ctx); err != nil {
		fail("database", checkDown, err)
		fail("schema", checkUnknown, nil)
		fail("inventory", checkUnknown, nil)
		problem{retryAfter: databaseRetryAfter}.setRetryAfter(c)
		return c.JSON(http.StatusServiceUnavailable, r)
	}

	switch err := s.Schema.CheckCurrent(ctx); {
	case errors.Is(err, store.ErrSchemaBehind):
		fail("schema", checkBehind, err)
	case err != nil:
		fail("schema", checkUnknown, err)
	}

	s.projectsReady(ctx, &r, requestID)
	if a := account(c); len(s.Projects) > 1 && (a == nil || a.Role != auth.Admin) {
		collapseProjects(&r) // the projects' names are for admins
	}
	if a := account(c); a != nil && a.Role == auth.Admin {
		for _, p := range s.Projects {
			if p.Credential == nil {
				continue
			}
			if r.Credentials == nil {
				r.Credentials = map[string]apiCredential{}
			}
			r.Credentials[p.Name] = *newAPICredential(p.Credential(s.Now()))
		}
	}

	status := http.StatusOK
	if r.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, r)
}

// projectsReady checks each project's inventory (check "inventory:NAME";
// "inventory" when there is one project). The console is ready while any
// project's inventory is usable: one project whose upstream or credentials
// fail must not take the others out of the load balancer. With none
// usable, it is not ready.
func (s *Server) projectsReady(ctx context.Context, r *readiness, requestID string) {
	ready := false
	if len(s.Projects) > 1 {
		delete(r.Checks, "inventory")
	}
	for _, p := range s.Projects {
		check := "inventory"
		if len(s.Projects) > 1 {
			check += ":" + p.Name
		}
		switch st, err := p.Refresher.Status(ctx, s.Now()); {
		case err != nil:
			r.Checks[check] = checkUnknown
			s.Logger.Warn("readiness check failed", "check", check, "request_id", requestID, "error", err)
		case !st.Ready:
			r.Checks[check] = string(st.State)
			s.Logger.Warn("readiness check failed", "check", check, "request_id", requestID, "error", st.Reason())
		default:
			r.Checks[check], ready = string(st.State), true
		}
	}
	if !ready {
		r.Status = "unavailable"
	}
}

// collapseProjects replaces the per-project inventory checks by one: the
// state all projects share, else partial (some usable) or unavailable
// (none usable).
func collapseProjects(r *readiness) {
	state := ""
	for name, st := range r.Checks {
		if !strings.HasPrefix(name, "inventory:") {
			continue
		}
		delete(r.Checks, name)
		switch {
		case state == "":
			state = st
		case state != st:
			state = "partial"
		}
	}
	if r.Status != "ok" && state == "partial" {
		state = "unavailable"
	}
	r.Checks["inventory"] = state
}

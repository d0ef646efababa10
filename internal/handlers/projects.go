package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// Project is one Huawei Cloud project the console serves, and the parts
// that serve it. Its pages and API live under /p/{Name}/.
type Project struct {
	Name      string // URL-safe; the key of per-project role grants
	Region    string
	ProjectID string
	Store     *store.Store // the project's inventory
	Upstream  Upstream
	Applier   *change.Applier
	Drift     *drift.Detector // nil: no detection
	Refresher *inventory.Refresher
	// Credential tells how the project's credentials stand, for the page
	// banner and /readyz; nil when there is nothing to tell (AK/SK).
	Credential func(now time.Time) CredentialNotice
}

// CredentialNotice is how a project's credentials stand. It holds no secret.
type CredentialNotice struct {
	// Warning is in plain words, "" when all is well: a fixed token about
	// to expire, or a renewal that failed.
	Warning   string
	ExpiresAt time.Time // of the token in use; zero when unknown or not a token
}

// projectKey is where scopeProject leaves the request's project in its
// context: the views read the URL prefix from there (views.WithPrefix).
type projectKey struct{}

// scopeProject runs before routing. A path under /p/{name}/ is the named
// project's: the prefix is taken off, so every route is registered once,
// and the project goes into the request's context. With one project every
// path is that project's, at today's URLs. With several, a path without a
// prefix names no project: project-scoped routes (needProject) send the
// browser to one, and /audit shows every project the reader may see.
func (s *Server) scopeProject(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var p *Project
		prefix := ""
		if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/p/"); ok {
			// The prefix is cut from the path as sent (escaped), so that the
			// path routed on and the project named are the same segment
			// whatever a client encoded in it.
			rawName, rawTail, _ := strings.Cut(rest, "/")
			name, err := url.PathUnescape(rawName)
			if err != nil {
				name = rawName
			}
			if p = s.projectNamed(name); p == nil {
				msg := fmt.Sprintf("This console serves no project named %q. GET /api/v1/projects lists the projects you may view.", visibleName(name))
				if strings.HasPrefix(rawTail, "api/") {
					return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "no_such_project", Message: msg}})
				}
				return echo.NewHTTPError(http.StatusNotFound, msg)
			}
			if m := r.Method; (m == http.MethodGet || m == http.MethodHead) && entryPage.MatchString("/"+rawTail) {
				// An audit entry belongs to its own project, whatever prefix
				// a link put before it: its page is at its unprefixed address.
				target := "/" + rawTail
				if r.URL.RawQuery != "" {
					target += "?" + r.URL.RawQuery
				}
				return c.Redirect(http.StatusFound, target)
			}
			tail, err := url.PathUnescape("/" + rawTail)
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "The address is not a valid URL path.")
			}
			prefix = "/p/" + name
			r.URL.Path, r.URL.RawPath = tail, ""
			if "/"+rawTail != tail {
				r.URL.RawPath = "/" + rawTail // keep what was escaped (an encoded slash stays one)
			}
		} else if len(s.Projects) == 1 {
			p = s.Projects[0]
		}
		switch {
		case len(s.Projects) > 1:
			ctx := views.WithEntryPrefixes(r.Context(), s.entryPrefix)
			if p != nil {
				ctx = views.WithPrefix(context.WithValue(ctx, projectKey{}, p), prefix)
			}
			c.SetRequest(r.WithContext(ctx))
		case p != nil:
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), projectKey{}, p)))
		}
		return next(c)
	}
}

// entryPage is an audit entry's page or rollback confirmation.
var entryPage = regexp.MustCompile(`^/audit/[0-9]+(/rollback)?$`)

// visibleName keeps a name that came in a URL printable and short.
func visibleName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, name)
}

// entryPrefix is the URL prefix of the project an audit entry belongs to
// ("" when the console no longer serves it).
func (s *Server) entryPrefix(projectID, region string) string {
	if p := s.projectWithID(projectID, region); p != nil {
		return s.prefixOf(p)
	}
	return ""
}

// projectNamed is the project with this name, nil when none.
func (s *Server) projectNamed(name string) *Project {
	for _, p := range s.Projects {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// projectWithID is the project an audit entry of this project id and
// region belongs to, nil when the console no longer serves it.
func (s *Server) projectWithID(projectID, region string) *Project {
	for _, p := range s.Projects {
		if p.ProjectID == projectID && (region == "" || p.Region == "" || p.Region == region) {
			return p
		}
	}
	return nil
}

// scoped is the request's project: on a project-scoped route always one
// (needProject made sure), or the project an audit entry acted on
// (entryProject entered it); nil when the URL names none (several
// projects, no /p/{name}/ prefix).
func scoped(c echo.Context) *Project {
	p, _ := c.Request().Context().Value(projectKey{}).(*Project)
	return p
}

// here is path (which starts with "/") in the request's project.
func here(c echo.Context, path string) string {
	return views.Prefix(c.Request().Context()) + path
}

// enter makes p the request's project, for what an audit entry's action
// reads and renders: the entry's project, whatever the URL said.
func (s *Server) enter(c echo.Context, p *Project) {
	if scoped(c) == p {
		return
	}
	r := c.Request()
	ctx := context.WithValue(r.Context(), projectKey{}, p)
	c.SetRequest(r.WithContext(views.WithPrefix(ctx, s.prefixOf(p))))
}

// prefixOf is p's URL prefix: none when it is the only project.
func (s *Server) prefixOf(p *Project) string {
	if len(s.Projects) == 1 {
		return ""
	}
	return "/p/" + p.Name
}

// needProject guards the project-scoped routes. Without a project in the
// URL (several projects), a page is sent to the first project the account
// may view, at the same path; the API answers 404 naming the projects.
func (s *Server) needProject(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if scoped(c) != nil {
			return next(c)
		}
		if isAPI(c) {
			return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "project_required",
				Message: "This console serves several projects: call /p/{project}/" + strings.TrimPrefix(c.Request().URL.Path, "/") +
					" with one of " + strings.Join(s.projectNames(), ", ") + " (GET /api/v1/projects lists them)."}})
		}
		a := account(c)
		if a == nil {
			return s.unauthenticated(c, "Sign in to use the console.")
		}
		if ps, r := s.viewable(a), c.Request(); len(ps) > 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			return c.Redirect(http.StatusFound, "/p/"+ps[0].Name+r.URL.RequestURI())
		}
		return echo.NewHTTPError(http.StatusNotFound,
			"Choose a project: this console serves several, and this address names none. Nothing was changed.")
	}
}

func (s *Server) projectNames() []string {
	names := make([]string, len(s.Projects))
	for i, p := range s.Projects {
		names[i] = p.Name
	}
	return names
}

// roleHere is what a may do where this request is: in its project, or with
// no project in the URL, the most a may do in any project (a handler then
// checks the project of what it acts on: mayIn).
func (s *Server) roleHere(c echo.Context, a *auth.Account) auth.Role {
	if p := scoped(c); p != nil {
		return a.RoleIn(p.Name)
	}
	return s.bestRole(a)
}

// viewableProjectIDs restricts what an account reads of the audit log:
// nil when it may view every project served (and what the log holds of
// projects no longer served), else the ids of the projects it may view.
func (s *Server) viewableProjectIDs(a *auth.Account) []string {
	ps := s.viewable(a)
	if a != nil && len(ps) == len(s.Projects) {
		return nil
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ProjectID
	}
	return ids
}

// viewable are the projects a may view, in order (none when a is nil).
func (s *Server) viewable(a *auth.Account) []*Project {
	var out []*Project
	for _, p := range s.Projects {
		if a != nil && a.RoleIn(p.Name).Allows(viewer) {
			out = append(out, p)
		}
	}
	return out
}

// mayIn checks that the caller may act as role in p (the project of the
// entry or endpoint acted on): when not, it records a security event and
// returns the 403 to answer. A project the console no longer serves is
// refused too: nothing could reach its upstream.
func (s *Server) mayIn(c echo.Context, p *Project, role auth.Role) error {
	a := account(c)
	if a == nil {
		return s.unauthenticated(c, "Sign in to use the console.")
	}
	var msg string
	switch {
	case p == nil:
		msg = "This console no longer serves that project, so nothing can be changed there. Nothing was changed."
		if role == viewer {
			msg = "This console no longer serves that project."
		}
	case !a.RoleIn(p.Name).Allows(role):
		return s.refuseRole(c, " in project "+p.Name, a.RoleIn(p.Name), role)
	default:
		return nil
	}
	return &forbiddenError{message: msg}
}

// refuseRole records that a role (have, where: "" or " in project NAME")
// cannot do what needs role, and is the refusal: the one wording of both
// the route rule (require) and the checks in handlers (mayIn).
func (s *Server) refuseRole(c echo.Context, where string, have, role auth.Role) error {
	words := accessWords(have)
	s.event(c, auth.EventAccessDenied, c.Request().Method+" "+here(c, c.Request().URL.Path),
		fmt.Sprintf("role%s %s, needs %s", where, words, role))
	return &forbiddenError{message: fmt.Sprintf("Your role%s (%s) cannot do this: it needs %s. Nothing was changed.", where, words, role)}
}

// accessWords is a role in words: "no access" for none (or no grant).
func accessWords(r auth.Role) string {
	if !r.Allows(viewer) {
		return "no access"
	}
	return string(r)
}

// forbiddenError is a refusal (refuseRole, mayIn), answered 403 (the error
// table) on a page as in the API. It is an error, never an answer written
// here: the handler that asked must stop.
type forbiddenError struct{ message string }

func (e *forbiddenError) Error() string { return "forbidden: " + e.message }

// apiProject is one project in GET /api/v1/projects.
type apiProject struct {
	Name      string        `json:"name"`
	Region    string        `json:"region"`
	ProjectID string        `json:"project_id"`
	Role      auth.Role     `json:"role"` // the caller's
	Prefix    string        `json:"prefix"`
	Inventory *apiInventory `json:"inventory,omitempty"`
	// Credential is said to admins only: how the project's credentials stand.
	Credential *apiCredential `json:"credential,omitempty"`
}

type apiCredential struct {
	Warning   string     `json:"warning,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// newAPICredential is n as the API and /readyz say it.
func newAPICredential(n CredentialNotice) *apiCredential {
	ac := &apiCredential{Warning: n.Warning}
	if !n.ExpiresAt.IsZero() {
		ac.ExpiresAt = &n.ExpiresAt
	}
	return ac
}

// apiListProjects is GET /api/v1/projects: the projects the caller may
// view, each with its URL prefix, the caller's role there and the state of
// its inventory.
func (s *Server) apiListProjects(c echo.Context) error {
	a := account(c)
	ctx := c.Request().Context()
	out := struct {
		Projects []apiProject `json:"projects"`
	}{Projects: []apiProject{}}
	for _, p := range s.Projects {
		role := a.RoleIn(p.Name)
		if !role.Allows(viewer) {
			continue
		}
		ap := apiProject{Name: p.Name, Region: p.Region, ProjectID: p.ProjectID, Role: role, Prefix: "/p/" + p.Name}
		if st, err := p.Refresher.Status(ctx, s.Now()); err == nil {
			inv := newAPIInventory(st)
			ap.Inventory = &inv
		} else if store.Unavailable(err) {
			return err
		}
		if a.Role == auth.Admin && p.Credential != nil {
			ap.Credential = newAPICredential(p.Credential(s.Now()))
		}
		out.Projects = append(out.Projects, ap)
	}
	return c.JSON(http.StatusOK, out)
}

// viewableNames are the names of the projects a may view, in order.
func (s *Server) viewableNames(a *auth.Account) []string {
	var names []string
	for _, p := range s.viewable(a) {
		names = append(names, p.Name)
	}
	return names
}

// bestRole is the most a may do in any project (its role on pages of no
// one project).
func (s *Server) bestRole(a *auth.Account) auth.Role {
	best := auth.Role("")
	for _, p := range s.Projects {
		if r := a.RoleIn(p.Name); r.Allows(viewer) && (best == "" || r.Allows(best)) {
			best = r
		}
	}
	return best
}

package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// Context keys set by authenticate.
const (
	ctxAccount      = "vpcep.account"
	ctxActor        = "vpcep.actor"
	ctxBearer       = "vpcep.bearer"
	ctxSessionToken = "vpcep.session"
)

// sessionCookie is the session cookie's name: the __Host- prefix makes the
// browser refuse it unless Secure, Path=/ and no Domain, so it is dropped
// only when Secure is off (plain-http local demo).
func (s *Server) sessionCookie() string {
	if s.CookieSecure {
		return "__Host-session"
	}
	return "session"
}

func (s *Server) csrfCookie() string {
	if s.CookieSecure {
		return "__Host-csrf"
	}
	return "csrf"
}

// account is the signed-in account, or nil.
func account(c echo.Context) *auth.Account {
	a, _ := c.Get(ctxAccount).(*auth.Account)
	return a
}

// actor names who acts, for the audit log: the account's name, or
// token:<id> for an API token.
func actor(c echo.Context) string {
	a, _ := c.Get(ctxActor).(string)
	return a
}

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

// authenticate identifies the caller, by API token (Authorization: Bearer)
// or by session cookie, without refusing anyone signed out: require does
// that per route. A token reads pages and exports (scripts download
// /audit.csv with one) and uses the API; a change through a page needs the
// signed-in browser and its CSRF token, so a token on a page's POST is
// refused. A token that acts for no one is refused here with one 401, never
// a redirect to the sign-in page.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		switch p := c.Request().URL.Path; {
		case strings.HasPrefix(p, "/static/") || p == "/healthz":
			return next(c) // public and frequent: no need to know who asks
		case p == "/readyz":
			// Public: an admin's session is asked for only to say more, and
			// a probe is never refused for a bad credential or a database
			// that cannot tell (readyz reports that itself).
			if cookie, err := c.Cookie(s.sessionCookie()); err == nil && cookie.Value != "" {
				if a, _, err := s.Auth.SessionAccount(ctx, cookie.Value, s.Sessions); err == nil {
					c.Set(ctxAccount, a)
				}
			} else if scheme, token, _ := strings.Cut(strings.TrimSpace(c.Request().Header.Get("Authorization")), " "); strings.EqualFold(scheme, "Bearer") && token != "" {
				// A monitoring script's token: an admin's sees the credentials too
				// (a read-only one acts as a viewer, which does not).
				if a, t, err := s.Auth.CheckToken(ctx, strings.TrimSpace(token), c.RealIP()); err == nil {
					c.Set(ctxAccount, tokenAccount(a, t))
				}
			}
			return next(c)
		}
		if h := c.Request().Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
			token = strings.TrimSpace(token)
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				return s.badToken(c, "The Authorization header takes only a Bearer token: Authorization: Bearer vpcep_...")
			}
			if m := c.Request().Method; !isAPI(c) && m != http.MethodGet && m != http.MethodHead {
				s.eventAs(c, "", auth.EventAccessDenied, m+" "+c.Request().URL.Path, "API token on a page's change")
				return echo.NewHTTPError(http.StatusForbidden,
					"An API token can read pages and exports, not change anything through them: use the JSON API, or sign in. Nothing was changed.")
			}
			a, t, err := s.Auth.CheckToken(ctx, token, c.RealIP())
			var throttled *auth.ThrottledError
			switch {
			case errors.As(err, &throttled):
				s.eventAs(c, "", auth.EventTokenLimited, c.Request().Method+" "+c.Request().URL.Path,
					fmt.Sprintf("retry after %d s", wholeSeconds(throttled.Wait)))
				return err
			case errors.Is(err, auth.ErrBadToken):
				s.eventAs(c, "", auth.EventTokenRejected, c.Request().Method+" "+c.Request().URL.Path, "unknown, revoked or expired API token")
				return s.badToken(c, "The API token is unknown, revoked or expired.")
			case err != nil:
				return err
			}
			a = tokenAccount(a, t)
			c.Set(ctxAccount, a)
			c.Set(ctxActor, "token:"+strconv.FormatInt(t.ID, 10))
			c.Set(ctxBearer, true)
			return next(c)
		}
		if cookie, err := c.Cookie(s.sessionCookie()); err == nil && cookie.Value != "" {
			a, _, err := s.Auth.SessionAccount(ctx, cookie.Value, s.Sessions)
			switch {
			case errors.Is(err, auth.ErrNoSession):
				s.clearSessionCookie(c)
			case err != nil:
				return err
			default:
				c.Set(ctxAccount, a)
				c.Set(ctxActor, actorName(a))
				c.Set(ctxSessionToken, cookie.Value)
			}
		}
		return next(c)
	}
}

// badToken answers a request whose Authorization header names no one: 401,
// once, on a page as in the API. Redirecting to the sign-in page would not
// help a script, and the header would come back with it.
func (s *Server) badToken(c echo.Context, msg string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="vpcep-console"`)
	if isAPI(c) {
		return apiFail(c, http.StatusUnauthorized, apiErrorBody{Error: apiError{Code: "unauthorized", Message: msg}})
	}
	return echo.NewHTTPError(http.StatusUnauthorized, msg)
}

// require refuses a caller without role: 401 (or the sign-in page) when
// signed out, 403 when the role is too weak. Every route goes through it.
func (s *Server) require(role auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if role == "" {
			return next
		}
		return func(c echo.Context) error {
			a := account(c)
			if a == nil {
				return s.unauthenticated(c, "Sign in to use the console.")
			}
			have := s.roleHere(c, a)
			if role == admin {
				have = a.Role // administration is console-wide: no project grant makes an admin
			}
			if !have.Allows(role) {
				where := ""
				if p := scoped(c); p != nil && len(s.Projects) > 1 {
					where = " in project " + p.Name
				}
				return s.refuseRole(c, where, have, role)
			}
			return next(c)
		}
	}
}

// unauthenticated answers a caller who is not signed in: 401 for the API,
// the sign-in page (coming back here after) for the browser. The sign-in
// page itself never redirects to itself.
func (s *Server) unauthenticated(c echo.Context, msg string) error {
	if isAPI(c) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="vpcep-console"`)
		return apiFail(c, http.StatusUnauthorized, apiErrorBody{Error: apiError{Code: "unauthorized", Message: msg}})
	}
	r := c.Request()
	if r.URL.Path == "/login" {
		return echo.NewHTTPError(http.StatusUnauthorized, msg)
	}
	target := "/login"
	// The address as asked for, its project prefix included (scopeProject
	// took it off the URL routed on).
	if next := here(c, r.URL.RequestURI()); (r.Method == http.MethodGet || r.Method == http.MethodHead) && safeNext(next) == next {
		target += "?next=" + url.QueryEscape(next)
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// defaultNext is where a sign-in leads when next is missing or refused.
const defaultNext = "/endpoints"

// maxNextLength bounds next, so no chain of redirects can grow a URL.
const maxNextLength = 2048

// safeNext keeps a post-sign-in destination on this site: a path beginning
// with exactly one '/', with no scheme or host, made only of printable
// ASCII with no backslash or space, and the same after percent-decoding
// (browsers drop tabs and newlines and read '\' as '/', so "/\t/evil"
// or "/\\evil" would leave the site). The sign-in page itself is refused, so
// it never loops. Anything else gives /endpoints: it is parsed, not
// pattern-matched.
func safeNext(next string) string {
	if next == "" || len(next) > maxNextLength {
		return defaultNext
	}
	// Decode until nothing changes (a few rounds at most), checking every
	// form: "/%2F", "/%252F" and "%2F%2F" all end as "//".
	for form, i := next, 0; ; i++ {
		if i > 4 || !localPath(form) {
			return defaultNext
		}
		decoded, err := url.PathUnescape(form)
		if err != nil {
			return defaultNext // a stray '%' is not a console URL either
		}
		if decoded == form {
			break
		}
		form = decoded
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !localPath(u.Path) {
		return defaultNext
	}
	if p := strings.TrimRight(u.Path, "/"); p == "/login" || p == "/logout" {
		return defaultNext
	}
	return next
}

// localPath says whether p starts with exactly one '/' and holds only
// printable ASCII other than '\\' and space.
func localPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || (len(p) > 1 && p[1] == '/') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return false
		}
	}
	return true
}

// event records a security event; a failure to record is logged, not shown.
func (s *Server) event(c echo.Context, kind, subject, detail string) {
	s.eventAs(c, actor(c), kind, subject, detail)
}

func (s *Server) eventAs(c echo.Context, who, kind, subject, detail string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
	defer cancel()
	if who == "" {
		who = "anonymous"
	}
	if err := s.Auth.RecordEvent(ctx, auth.Event{Kind: kind, Actor: who, Subject: subject, ClientIP: c.RealIP(), Detail: detail}); err != nil {
		s.Logger.Error("record security event", "kind", kind, "error", err)
	}
}

// startSession signs the browser in as accountID with a new session, and
// gives it the CSRF token bound to that session.
func (s *Server) startSession(c echo.Context, accountID int64) error {
	ctx := c.Request().Context()
	token, err := s.Auth.StartSession(ctx, accountID)
	if err != nil {
		return err
	}
	csrf, err := s.Auth.CSRFToken(ctx, token)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	s.setCSRFCookie(c, csrf)
	c.Set(ctxSessionToken, token)
	c.Set(csrfContextKey, csrf)
	return nil
}

func (s *Server) setSessionCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookie(), Value: token, Path: "/",
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: s.sessionCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) setCSRFCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name: s.csrfCookie(), Value: token, Path: "/", MaxAge: 12 * 3600,
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearCSRFCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: s.csrfCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteStrictMode,
	})
}

// csrf protects every state-changing request that relies on the session
// cookie, whatever Sec-Fetch-Site says: the token must come back in the
// form (_csrf) or in X-CSRF-Token (htmx sends it on every request). With a
// session, the token is the session's own (auth.Store.CSRFToken): it is
// checked against the session, never against a cookie, so a token from
// another session or one planted in a cookie is worth nothing. Before
// sign-in there is no session to bind to: the sign-in form uses a random
// token that must match the __Host-csrf cookie (double submit). The cookie
// also carries the session's token, for clients that read it from there.
// Browsers' Sec-Fetch-Site: cross-site is refused outright. Requests with an
// API token carry no ambient credential and are exempt (authenticate lets
// them change nothing but through the API).
func (s *Server) csrf() echo.MiddlewareFunc {
	refuse := func(c echo.Context, why string) error {
		s.event(c, auth.EventAccessDenied, c.Request().Method+" "+c.Request().URL.Path, why)
		return echo.NewHTTPError(http.StatusForbidden,
			"This request did not come from a console page (its security token is missing or wrong), so nothing was changed. Reload the page and try again.")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Get(ctxBearer) == true || formless(c) {
				return next(c)
			}
			want, err := s.expectedCSRF(c)
			if err != nil {
				return err
			}
			c.Set(csrfContextKey, want)
			r := c.Request()
			if m := r.Method; m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions {
				return next(c)
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				return refuse(c, "cross-site request")
			}
			for _, got := range []string{r.Header.Get(echo.HeaderXCSRFToken), c.FormValue("_csrf")} {
				if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1 {
					return next(c)
				}
			}
			return refuse(c, "CSRF token missing or wrong")
		}
	}
}

// formless reports a read of something that never carries a form: assets,
// the favicon and the probes. They get no CSRF cookie: an asset's answer is
// cacheable by anyone (public, immutable), and a cookie set on it could be
// handed by a shared cache to every visitor.
func formless(c echo.Context) bool {
	r := c.Request()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/static/") || p == "/favicon.ico" || p == "/healthz" || p == "/readyz"
}

// expectedCSRF returns the CSRF token this request's forms carry and its
// change must send back: the session's, or before sign-in the cookie's
// random one (made now when there is none).
func (s *Server) expectedCSRF(c echo.Context) (string, error) {
	cookie, _ := c.Cookie(s.csrfCookie())
	if session, ok := c.Get(ctxSessionToken).(string); ok {
		want, err := s.Auth.CSRFToken(c.Request().Context(), session)
		if err != nil {
			return "", err
		}
		if cookie == nil || cookie.Value != want {
			s.setCSRFCookie(c, want)
		}
		return want, nil
	}
	if cookie != nil && len(cookie.Value) >= 32 {
		return cookie.Value, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	want := base64.RawURLEncoding.EncodeToString(b)
	s.setCSRFCookie(c, want)
	return want, nil
}

// showLogin serves the sign-in form.
func (s *Server) showLogin(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if account(c) != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	p := views.LoginPage{Base: s.base(c, "Sign in"), Next: next, Local: c.QueryParam("local") == "1"}
	if c.QueryParam("done") == "signed-out" {
		p.Notice = "You are signed out."
	}
	s.ssoButton(&p)
	return render(c, http.StatusOK, views.LoginView(p))
}

// login signs an account in: throttled per account and per address
// (counted in Postgres before the password is checked), the same answer for
// an unknown name, a wrong password and a disabled account, and a new
// session token every time. A name no account has is recorded only as a
// keyed hash: people type passwords into the name box.
func (s *Server) login(c echo.Context) error {
	ctx := c.Request().Context()
	name := strings.ToLower(strings.TrimSpace(c.FormValue("name")))
	password := c.FormValue("password")
	// The password form posted: it stays on screen whatever SSO says.
	p := views.LoginPage{Base: s.base(c, "Sign in"), Name: name, Next: safeNext(c.FormValue("next")), Local: true}
	s.ssoButton(&p)
	if len(name) > 63 {
		name = name[:63]
	}

	a, subject, err := s.Auth.SignIn(ctx, name, password, c.RealIP())
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled), errors.Is(err, auth.ErrBusy):
		if throttled != nil {
			s.eventAs(c, subject, auth.EventSignInLimited, subject, fmt.Sprintf("retry after %d s", wholeSeconds(throttled.Wait)))
		}
		// The form again, with the error table's words and Retry-After.
		pr := problemFor(err)
		pr.setRetryAfter(c)
		p.Error = pr.message
		return render(c, pr.status, views.LoginView(p))
	case errors.Is(err, auth.ErrBadCredential), errors.Is(err, auth.ErrDisabled):
		detail := "wrong name or password"
		switch {
		case errors.Is(err, auth.ErrDisabled):
			detail = "account disabled"
		case errors.Is(err, auth.ErrSSOAccount):
			detail = "a password for a single sign-on account"
		}
		s.eventAs(c, subject, auth.EventSignInFailed, subject, detail)
		p.Error = "Wrong name or password."
		return render(c, http.StatusUnauthorized, views.LoginView(p))
	case err != nil:
		return err
	}
	if s.SSO != nil && s.SSO.Only() && a.Role != auth.Admin {
		// With OIDC_ONLY, passwords are the admins' way in while the
		// provider is down: no one else gets round its MFA and offboarding.
		s.eventAs(c, a.Name, auth.EventSignInFailed, a.Name, "password sign-in of a non-admin with OIDC_ONLY")
		p.Error = "Only admins sign in with a password on this console: use Sign in with " + s.SSO.Name() + "."
		return render(c, http.StatusForbidden, views.LoginView(p))
	}
	// A new token at every sign-in: a token planted before sign-in is worthless after.
	if old, ok := c.Get(ctxSessionToken).(string); ok {
		_ = s.Auth.EndSession(ctx, old)
	}
	if err := s.startSession(c, a.ID); err != nil {
		return err
	}
	s.eventAs(c, a.Name, auth.EventSignIn, a.Name, "")
	return c.Redirect(http.StatusSeeOther, p.Next)
}

// logout ends the session and its cookies.
func (s *Server) logout(c echo.Context) error {
	if token, ok := c.Get(ctxSessionToken).(string); ok {
		if err := s.Auth.EndSession(c.Request().Context(), token); err != nil {
			return err
		}
		s.event(c, auth.EventSignOut, actor(c), "")
	}
	s.clearSessionCookie(c)
	s.clearCSRFCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login?done=signed-out")
}

// tokenAccount is the account as token t acts for it: a token made on
// /account reads only, whatever the account may do, in every project.
func tokenAccount(a *auth.Account, t *auth.Token) *auth.Account {
	if !t.ReadOnly {
		return a
	}
	viewerOnly := *a
	viewerOnly.Role, viewerOnly.Projects = auth.Viewer, readOnlyGrants(a.Projects)
	return &viewerOnly
}

// readOnlyGrants are an account's per-project grants as a read-only token
// has them: a project it may see it may only read.
func readOnlyGrants(grants map[string]auth.Role) map[string]auth.Role {
	out := make(map[string]auth.Role, len(grants))
	for name, r := range grants {
		if r.Allows(viewer) {
			r = viewer
		}
		out[name] = r
	}
	return out
}

// actorName is how the audit log and the security events name a signed-in
// account: its name, and for a single sign-on account the provider's
// display name and subject as well, so an entry says who it was at the
// provider even after the account is renamed or gone there.
func actorName(a *auth.Account) string {
	if a.Source != auth.SourceOIDC {
		return a.Name
	}
	return fmt.Sprintf("%s (%s, sso subject %s)", a.Name, visibleName(a.DisplayName), visibleName(a.Subject))
}

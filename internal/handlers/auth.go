package handlers

import (
	"context"
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
// or by session cookie, without refusing anyone: require does that per route.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		if p := c.Request().URL.Path; strings.HasPrefix(p, "/static/") || p == "/healthz" || p == "/readyz" {
			return next(c) // public and frequent: no need to know who asks
		}
		if h := c.Request().Header.Get("Authorization"); h != "" {
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || !isAPI(c) {
				return s.unauthenticated(c, "Only the JSON API takes an Authorization header, and only a Bearer token.")
			}
			a, t, err := s.Auth.TokenAccount(ctx, strings.TrimSpace(token))
			if errors.Is(err, auth.ErrBadToken) {
				return s.unauthenticated(c, "The API token is unknown, revoked or expired.")
			}
			if err != nil {
				return err
			}
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
				c.Set(ctxActor, a.Name)
				c.Set(ctxSessionToken, cookie.Value)
			}
		}
		return next(c)
	}
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
			if !a.Role.Allows(role) {
				s.event(c, auth.EventAccessDenied, c.Request().Method+" "+c.Request().URL.Path,
					fmt.Sprintf("role %s, needs %s", a.Role, role))
				msg := fmt.Sprintf("Your role (%s) cannot do this: it needs %s. Nothing was changed.", a.Role, role)
				if isAPI(c) {
					return apiFail(c, http.StatusForbidden, apiErrorBody{Error: apiError{Code: "forbidden", Message: msg}})
				}
				return echo.NewHTTPError(http.StatusForbidden, msg)
			}
			return next(c)
		}
	}
}

// unauthenticated answers a caller who is not signed in: 401 for the API,
// the sign-in page (coming back here after) for the browser.
func (s *Server) unauthenticated(c echo.Context, msg string) error {
	if isAPI(c) {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="vpcep-console"`)
		return apiFail(c, http.StatusUnauthorized, apiErrorBody{Error: apiError{Code: "unauthorized", Message: msg}})
	}
	target := "/login"
	if r := c.Request(); r.Method == http.MethodGet || r.Method == http.MethodHead {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// safeNext keeps a post-sign-in destination on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/login") {
		return "/endpoints"
	}
	return next
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

// showLogin serves the sign-in form.
func (s *Server) showLogin(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if account(c) != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return render(c, http.StatusOK, views.LoginView(views.LoginPage{Base: s.base(c, "Sign in"), Next: next}))
}

// login signs an account in: throttled per account and per address
// (counted in Postgres), the same answer for an unknown name, a wrong
// password and a disabled account, and a new session token every time.
func (s *Server) login(c echo.Context) error {
	ctx := c.Request().Context()
	name := strings.ToLower(strings.TrimSpace(c.FormValue("name")))
	password := c.FormValue("password")
	p := views.LoginPage{Base: s.base(c, "Sign in"), Name: name, Next: safeNext(c.FormValue("next"))}
	if len(name) > 63 {
		name = name[:63]
	}

	wait, err := s.Auth.Throttle(ctx, name, c.RealIP())
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int(wait.Seconds()) + 1
		s.eventAs(c, name, auth.EventSignInLimited, name, fmt.Sprintf("retry after %d s", secs))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		p.Error = fmt.Sprintf("Too many failed sign-ins for this account or from this address. Try again in %d seconds.", secs)
		return render(c, http.StatusTooManyRequests, views.LoginView(p))
	}

	a, err := s.Auth.Authenticate(ctx, name, password)
	if errors.Is(err, auth.ErrBadCredential) || errors.Is(err, auth.ErrDisabled) {
		if recErr := s.Auth.RecordFailure(ctx, name, c.RealIP()); recErr != nil {
			return recErr
		}
		detail := "wrong name or password"
		if errors.Is(err, auth.ErrDisabled) {
			detail = "account disabled"
		}
		s.eventAs(c, name, auth.EventSignInFailed, name, detail)
		p.Error = "Wrong name or password."
		return render(c, http.StatusUnauthorized, views.LoginView(p))
	}
	if err != nil {
		return err
	}
	// A new token at every sign-in: a token planted before sign-in is worthless after.
	if old, ok := c.Get(ctxSessionToken).(string); ok {
		_ = s.Auth.EndSession(ctx, old)
	}
	token, err := s.Auth.StartSession(ctx, a.ID)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, token)
	_ = s.Auth.ClearFailures(ctx, a.Name)
	s.eventAs(c, a.Name, auth.EventSignIn, a.Name, "")
	return c.Redirect(http.StatusSeeOther, p.Next)
}

// logout ends the session and its cookie.
func (s *Server) logout(c echo.Context) error {
	if token, ok := c.Get(ctxSessionToken).(string); ok {
		if err := s.Auth.EndSession(c.Request().Context(), token); err != nil {
			return err
		}
		s.event(c, auth.EventSignOut, actor(c), "")
	}
	s.clearSessionCookie(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

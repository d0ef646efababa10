package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/sso"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// ssoStateCookie ties a sign-in at the provider to the browser that
// started it: the state it was sent with must come back to that browser
// (else a stranger's finished sign-in could be planted in it).
const ssoStateCookie = "__Host-vpcep-sso"

// startSSO is GET /login/sso: to the provider, to come back to next.
func (s *Server) startSSO(c echo.Context) error {
	if s.SSO == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Single sign-on is not set up on this console.")
	}
	if wait := s.ssoStarts.take(c.RealIP(), s.Now()); wait > 0 {
		// Each start stores an attempt: a flood from one address must not
		// grow the table (nor the provider's).
		s.eventAs(c, "", auth.EventSignInLimited, "single sign-on", fmt.Sprintf("retry after %d s", wholeSeconds(wait)))
		pr := tooManyRequests(wait, "Too many single sign-on attempts came from this address. Try again in %d seconds.")
		pr.setRetryAfter(c)
		return echo.NewHTTPError(pr.status, pr.message)
	}
	target, state, err := s.SSO.Begin(c.Request().Context(), safeNext(c.QueryParam("next")))
	if err != nil {
		return s.ssoRefused(c, err, "", "")
	}
	c.SetCookie(&http.Cookie{Name: s.ssoCookie(), Value: stateDigest(state), Path: "/",
		MaxAge: int(sso.StateLifetime / time.Second), HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteLaxMode})
	return c.Redirect(http.StatusSeeOther, target)
}

// finishSSO is GET /login/sso/callback: the provider sends the browser
// back with a code (or an error). The state must be one this console
// issued and not yet used; the ID token is verified (internal/sso); the
// groups decide the role, recomputed at every sign-in.
func (s *Server) finishSSO(c echo.Context) error {
	if s.SSO == nil {
		return echo.NewHTTPError(http.StatusNotFound, "Single sign-on is not set up on this console.")
	}
	ctx := c.Request().Context()
	q := c.Request().URL.Query()
	state := q.Get("state")
	cookie, _ := c.Cookie(s.ssoCookie())
	c.SetCookie(&http.Cookie{Name: s.ssoCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteLaxMode})
	if cookie == nil || state == "" || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(stateDigest(state))) != 1 {
		if state != "" {
			_, _, _ = s.SSO.Finish(ctx, state, "") // the attempt is used up either way
		}
		return s.ssoRefused(c, &sso.FlowError{Reason: sso.ReasonBadState,
			Message: "This sign-in was not started in this browser, or it was already used. Start again from the sign-in page."}, "", "")
	}
	if e := q.Get("error"); e != "" {
		_, next, _ := s.SSO.Finish(ctx, state, "")
		return s.ssoRefused(c, &sso.FlowError{Reason: sso.ReasonProviderRefused,
			Message: "The identity provider did not sign you in (" + visibleName(e) + ")."}, "", next)
	}
	id, next, err := s.SSO.Finish(ctx, state, q.Get("code"))
	if err != nil {
		return s.ssoRefused(c, err, "", next)
	}
	who := "sso subject " + visibleName(id.Subject) // the provider's, verified; short and printable in the event
	role, grants, err := s.SSO.Roles(id)
	if err != nil {
		// In no mapped group (Roles' one refusal): whatever the account
		// could do ends now, in every browser, not at its sessions' end.
		name, found, endErr := s.Auth.EndSSOAccess(ctx, id.Issuer, id.Subject)
		if endErr != nil {
			return endErr
		}
		if found {
			s.eventAs(c, name, auth.EventRoleChanged, name, "single sign-on: in no mapped group any more: no project, sessions ended")
		}
		return s.ssoRefused(c, err, who, next)
	}
	a, err := s.Auth.SignInSSO(ctx, id.SSOIdentity, role, grants)
	switch {
	case errors.Is(err, auth.ErrDisabled):
		return s.ssoRefused(c, &sso.FlowError{Reason: sso.ReasonDisabled,
			Message: "Your account on this console is disabled. Ask an admin."}, who, next)
	case errors.Is(err, auth.ErrBadSSOIdentity):
		return s.ssoRefused(c, &sso.FlowError{Reason: sso.ReasonInvalidToken,
			Message: "The identity provider's answer names no usable identity (its subject is missing or too long), so nobody was signed in.", Err: err}, "", next)
	case err != nil:
		return err
	}
	if old, ok := c.Get(ctxSessionToken).(string); ok {
		_ = s.Auth.EndSession(ctx, old)
	}
	if err := s.startSession(c, a.ID); err != nil {
		return err
	}
	s.eventAs(c, a.Name, auth.EventSignIn, a.Name, fmt.Sprintf("single sign-on as %s (subject %s), role %s%s",
		visibleName(id.DisplayName), visibleName(id.Subject), role, grantsWords(grants)))
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// ssoRefused answers a failed single sign-on: a plain page that signs
// nobody in, and a security event with the reason. next is where the
// sign-in was going (from its attempt), kept through the refusal; "" for
// the request's own next.
func (s *Server) ssoRefused(c echo.Context, err error, who, next string) error {
	var fe *sso.FlowError
	requestID := c.Response().Header().Get(echo.HeaderXRequestID)
	if !errors.As(err, &fe) {
		fe = &sso.FlowError{Reason: "internal", Message: "Single sign-on failed on the console's side.", Err: err}
		s.Logger.ErrorContext(c.Request().Context(), "single sign-on", "error", err, "request_id", requestID)
	} else {
		// The cause (a verification error, the token endpoint's answer) is
		// the operator's, never the page's: it holds no token or secret.
		s.Logger.WarnContext(c.Request().Context(), "single sign-on refused", "reason", fe.Reason, "error", fe.Err, "request_id", requestID)
	}
	s.eventAs(c, who, auth.EventSignInFailed, "single sign-on", "refused: "+fe.Reason)
	status := http.StatusUnauthorized
	switch fe.Reason {
	case sso.ReasonProviderUnreachable:
		status = http.StatusBadGateway
	case sso.ReasonNoGroup, sso.ReasonDisabled:
		status = http.StatusForbidden
	}
	if next == "" {
		next = c.QueryParam("next")
	}
	p := views.LoginPage{Base: s.base(c, "Sign in"), Next: safeNext(next), Error: fe.Message}
	s.ssoButton(&p)
	return render(c, status, views.LoginView(p))
}

// ssoButton offers single sign-on on the sign-in page.
func (s *Server) ssoButton(p *views.LoginPage) {
	if s.SSO == nil {
		return
	}
	p.SSOName, p.SSOOnly = s.SSO.Name(), s.SSO.Only()
}

// ssoCookie is the name of the sign-in's state cookie: __Host- needs
// Secure, which a plain-http local demo cannot have.
func (s *Server) ssoCookie() string {
	if s.CookieSecure {
		return ssoStateCookie
	}
	return strings.TrimPrefix(ssoStateCookie, "__Host-")
}

// stateDigest is what the state cookie holds: not the state itself.
func stateDigest(state string) string {
	sum := sha256.Sum256([]byte("vpcep-sso-state:" + state))
	return hex.EncodeToString(sum[:])
}

// grantsWords says per-project roles for a security event.
func grantsWords(grants map[string]auth.Role) string {
	if len(grants) == 0 {
		return ""
	}
	var parts []string
	for p, r := range grants {
		parts = append(parts, p+"="+string(r))
	}
	slices.Sort(parts)
	return " (projects: " + strings.Join(parts, ", ") + ")"
}

// ssoStartsPerMinute bounds the sign-ins one address starts: far above a
// person's, far below a flood's.
const ssoStartsPerMinute = 30

// ssoStarts counts the single sign-on attempts each address started in
// its current minute. Per replica: a bound, not an account of them.
type ssoStarts struct {
	mu        sync.Mutex
	seen      map[string]ssoWindow
	lastSweep time.Time
}

type ssoWindow struct {
	start time.Time
	n     int
}

// take counts a start from ip at now, or says how long until one is
// allowed again.
func (l *ssoStarts) take(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]ssoWindow{}
	}
	w := l.seen[ip]
	if now.Sub(w.start) >= time.Minute {
		if len(l.seen) > 10000 && now.Sub(l.lastSweep) >= time.Minute {
			l.lastSweep = now
			for k, old := range l.seen {
				if now.Sub(old.start) >= time.Minute {
					delete(l.seen, k)
				}
			}
		}
		w = ssoWindow{start: now}
	}
	if w.n >= ssoStartsPerMinute {
		return w.start.Add(time.Minute).Sub(now)
	}
	w.n++
	l.seen[ip] = w
	return 0
}

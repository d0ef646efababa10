package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// weakPassword says what a password must be.
var weakPassword = fmt.Sprintf("The password must be %d to %d characters.", auth.MinPasswordLength, auth.MaxPasswordLength)

func tokenRows(tokens []*auth.Token) []views.TokenRow {
	now := time.Now()
	var rows []views.TokenRow
	for _, t := range tokens {
		r := views.TokenRow{ID: t.ID, Account: t.AccountName, Name: t.Name, Created: stamp(&t.CreatedAt),
			Expires: stamp(t.ExpiresAt), LastUsed: stamp(t.LastUsedAt), Status: "active", ReadOnly: t.ReadOnly}
		switch {
		case t.RevokedAt != nil:
			r.Status = "revoked"
		case !t.Active(now):
			r.Status = "expired"
		}
		rows = append(rows, r)
	}
	return rows
}

func stamp(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// showAccount serves /account: who you are and your API tokens, and right
// after one was made, the new token, once.
func (s *Server) showAccount(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, views.AccountPage{Notice: accountNotices[c.QueryParam("done")], NewToken: s.takeNewToken(c)})
}

var accountNotices = map[string]string{
	"revoked":  "The token was revoked.",
	"password": "Your password was changed. Your other sessions were signed out.",
	"token":    "The token was created.",
}

func (s *Server) renderAccount(c echo.Context, status int, p views.AccountPage) error {
	a := account(c)
	tokens, err := s.Auth.Tokens(c.Request().Context(), a.ID)
	if err != nil {
		return err
	}
	p.Base, p.Tokens = s.base(c, "Your account"), tokenRows(tokens)
	p.SSO = a.Source == auth.SourceOIDC
	if len(s.Projects) > 1 {
		for _, proj := range s.Projects {
			p.ProjectRoles = append(p.ProjectRoles, proj.Name+": "+accessWords(a.RoleIn(proj.Name)))
		}
	}
	if p.TokenForm.ExpiresDays == "" {
		p.TokenForm.ExpiresDays = "90"
	}
	return render(c, status, views.AccountView(p))
}

// createOwnToken makes a read-only API token for the signed-in account,
// whatever its role, and shows it once on /account (POST-redirect-GET).
func (s *Server) createOwnToken(c echo.Context) error {
	a := account(c)
	form := views.TokenForm{Name: c.FormValue("name"), ExpiresDays: c.FormValue("expires_days")}
	days, ferr := parseTokenForm(form)
	if ferr != nil {
		form.Error = ferr
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountPage{TokenForm: form})
	}
	token, t, err := s.Auth.CreateReadOnlyToken(c.Request().Context(), a.Name, form.Name, time.Duration(days)*24*time.Hour)
	if errors.Is(err, auth.ErrSSOAccount) {
		form.Error = &views.FieldError{Field: "name", Message: ssoTokenRefusal}
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountPage{TokenForm: form})
	}
	if err != nil {
		return err
	}
	s.event(c, auth.EventTokenCreated, fmt.Sprintf("token:%d (%s) for %s", t.ID, t.Name, a.Name), fmt.Sprintf("read-only, expires in %d days", days))
	if err := s.keepNewToken(c, token); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=token")
}

// ssoTokenRefusal says why a single sign-on account has no API token.
const ssoTokenRefusal = "A single sign-on account has no API tokens: its role follows the identity provider's groups at each sign-in, and a token would outlive a change there. Use a local account's token for scripts."

// parseTokenForm checks a new token's name and lifetime, naming the field at fault.
func parseTokenForm(f views.TokenForm) (days int, ferr *views.FieldError) {
	if f.Name == "" || len(f.Name) > 100 {
		return 0, &views.FieldError{Field: "name", Message: "A token needs a name of 1 to 100 characters."}
	}
	days, err := strconv.Atoi(f.ExpiresDays)
	if err != nil || days < 1 || days > 3650 {
		return 0, &views.FieldError{Field: "expires_days", Message: "A token expires in 1 to 3650 days."}
	}
	return days, nil
}

// A new token is shown once, on the page after the redirect, and never
// travels in a URL or rests on the server: it waits in a short-lived cookie,
// sealed (AES-GCM) with a key derived from this browser's session token, so
// only this session can read it, and the page that shows it deletes it.
const newTokenMaxAge = 5 * 60 // seconds

func (s *Server) newTokenCookie() string {
	if s.CookieSecure {
		return "__Host-new-token"
	}
	return "new-token"
}

// newTokenSealer is the AEAD sealing the new-token cookie for this
// session; ok is false without a session.
func newTokenSealer(c echo.Context) (cipher.AEAD, bool) {
	session, _ := c.Get(ctxSessionToken).(string)
	if session == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte("vpcep-console new API token v1\x00" + session))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, false
	}
	aead, err := cipher.NewGCM(block)
	return aead, err == nil
}

// keepNewToken leaves token for the next page of this session to show.
func (s *Server) keepNewToken(c echo.Context, token string) error {
	aead, ok := newTokenSealer(c)
	if !ok {
		return errors.New("handlers: a new token without a session")
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nonce, nonce, []byte(token), []byte(s.newTokenCookie()))
	c.SetCookie(&http.Cookie{Name: s.newTokenCookie(), Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		MaxAge: newTokenMaxAge, HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteStrictMode})
	return nil
}

// takeNewToken returns the token keepNewToken left, once: the cookie is
// deleted whatever it held. "" when there is none, or it is another
// session's.
func (s *Server) takeNewToken(c echo.Context) string {
	cookie, err := c.Cookie(s.newTokenCookie())
	if err != nil || cookie.Value == "" {
		return ""
	}
	c.SetCookie(&http.Cookie{Name: s.newTokenCookie(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.CookieSecure, SameSite: http.SameSiteStrictMode})
	aead, ok := newTokenSealer(c)
	sealed, err := base64.RawURLEncoding.DecodeString(cookie.Value)
	if !ok || err != nil || len(sealed) < aead.NonceSize() {
		return ""
	}
	token, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(s.newTokenCookie()))
	if err != nil || !strings.HasPrefix(string(token), auth.TokenPrefix) {
		return ""
	}
	return string(token)
}

// revokeOwnToken revokes one of the signed-in account's tokens.
func (s *Server) revokeOwnToken(c echo.Context) error {
	return s.revokeToken(c, account(c).ID, "You have no token with this id.", "/account")
}

// revokeToken revokes the token in the path, of owner (0: of anyone),
// records it and goes back to the page it came from.
func (s *Server) revokeToken(c echo.Context, owner int64, notFound, back string) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	t, err := s.Auth.RevokeToken(c.Request().Context(), id, owner)
	if errors.Is(err, auth.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, notFound)
	}
	if err != nil {
		return err
	}
	s.event(c, auth.EventTokenRevoked, fmt.Sprintf("token:%d (%s)", t.ID, t.Name), "")
	return c.Redirect(http.StatusSeeOther, back+"?done=revoked")
}

// changeOwnPassword changes the signed-in account's password; all its
// sessions end, and this browser gets a fresh one. The current password is
// checked as a sign-in is, counted and throttled, so a stolen session cannot
// be used to guess it; a wrong one is a security event.
func (s *Server) changeOwnPassword(c echo.Context) error {
	ctx := c.Request().Context()
	a := account(c)
	_, _, err := s.Auth.SignIn(ctx, a.Name, c.FormValue("current"), c.RealIP())
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled), errors.Is(err, auth.ErrBusy):
		// The form again, with Retry-After as the error table sends it.
		pr := problemFor(err)
		pr.setRetryAfter(c)
		msg := pr.message
		if throttled != nil {
			secs := wholeSeconds(throttled.Wait)
			s.event(c, auth.EventSignInLimited, a.Name, fmt.Sprintf("password change; retry after %d s", secs))
			msg = fmt.Sprintf("Too many wrong passwords for this account. Try again in %d seconds.", secs)
		}
		return s.renderAccount(c, pr.status, views.AccountPage{Error: msg})
	case errors.Is(err, auth.ErrBadCredential), errors.Is(err, auth.ErrDisabled):
		s.event(c, auth.EventPasswordCheckFailed, a.Name, "wrong current password on the password page")
		return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountPage{Error: "The current password is wrong."})
	case err != nil:
		return err
	}
	if err := s.Auth.SetPassword(ctx, a.Name, c.FormValue("new")); err != nil {
		if errors.Is(err, auth.ErrWeakPassword) {
			return s.renderAccount(c, http.StatusUnprocessableEntity, views.AccountPage{Error: "New password: " + weakPassword})
		}
		return err
	}
	s.event(c, auth.EventPasswordSet, a.Name, "by the account itself")
	if err := s.startSession(c, a.ID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account?done=password")
}

// adminAccounts serves /admin/accounts.
func (s *Server) adminAccounts(c echo.Context) error {
	return s.renderAdmin(c, http.StatusOK, views.AdminPage{Notice: adminNotices[c.QueryParam("done")], NewToken: s.takeNewToken(c)})
}

var adminNotices = map[string]string{
	"project":  "The account's role in the project was set; it applies from its next request.",
	"added":    "The account was added.",
	"role":     "The role was changed; the account's sessions were ended.",
	"disable":  "The account was disabled; its sessions were ended.",
	"enable":   "The account was enabled.",
	"password": "The password was set; the account's sessions were ended.",
	"revoked":  "The token was revoked.",
	"token":    "The token was created.",
}

func (s *Server) renderAdmin(c echo.Context, status int, p views.AdminPage) error {
	ctx := c.Request().Context()
	accounts, err := s.Auth.Accounts(ctx)
	if err != nil {
		return err
	}
	tokens, err := s.Auth.Tokens(ctx, 0)
	if err != nil {
		return err
	}
	p.Base = s.base(c, "Accounts")
	for _, a := range accounts {
		row := views.AccountRow{Name: a.Name, Role: string(a.Role), Disabled: a.Disabled, SSO: a.Source == auth.SourceOIDC,
			Created: stamp(&a.CreatedAt), LastLogin: stamp(a.LastLoginAt)}
		for project, r := range a.Projects {
			if row.Grants == nil {
				row.Grants = map[string]string{}
			}
			row.Grants[project] = string(r)
		}
		p.Accounts = append(p.Accounts, row)
	}
	if len(s.Projects) > 1 {
		p.ProjectNames = s.projectNames()
	}
	p.Tokens = tokenRows(tokens)
	if p.Form.Role == "" {
		p.Form.Role = string(auth.Viewer)
	}
	return render(c, status, views.AdminView(p))
}

// addAccount creates an account from the admin page.
func (s *Server) addAccount(c echo.Context) error {
	name, roleName := c.FormValue("name"), c.FormValue("role")
	form := views.NewAccountForm{Name: name, Role: roleName}
	role, err := auth.ParseRole(roleName)
	if err == nil {
		_, err = s.Auth.CreateAccount(c.Request().Context(), name, c.FormValue("password"), role)
	}
	if err != nil {
		fe := &views.FieldError{Field: "role", Message: "The role must be viewer, editor or admin."}
		switch {
		case errors.Is(err, auth.ErrNameTaken):
			fe = &views.FieldError{Field: "name", Message: "An account with this name exists."}
		case errors.Is(err, auth.ErrBadName):
			fe = &views.FieldError{Field: "name", Message: "A name is 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit."}
		case errors.Is(err, auth.ErrWeakPassword):
			fe = &views.FieldError{Field: "password", Message: weakPassword}
		case role != "":
			return err // not the form's fault
		}
		form.Error = fe
		return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Form: form})
	}
	s.event(c, auth.EventAccountAdded, name, "role "+string(role))
	return c.Redirect(http.StatusSeeOther, "/admin/accounts?done=added")
}

// changeAccount applies one admin action to an account: role, disable,
// enable or password. An admin cannot demote or disable themselves, so the
// console cannot lose its last admin by accident.
func (s *Server) changeAccount(c echo.Context) error {
	ctx := c.Request().Context()
	name, op := c.Param("name"), c.Param("op")
	self := name == account(c).Name
	var err error
	var kind, detail string
	switch op {
	case "role":
		var role auth.Role
		if role, err = auth.ParseRole(c.FormValue("role")); err != nil {
			return badRequest("The role must be viewer, editor or admin.")
		}
		if self && role != auth.Admin {
			return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: "You cannot demote yourself; ask another admin."})
		}
		err, kind, detail = s.Auth.SetRole(ctx, name, role), auth.EventRoleChanged, "to "+string(role)
	case "project":
		project, grant := c.FormValue("project"), c.FormValue("role")
		if s.projectNamed(project) == nil {
			return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: "There is no project named " + visibleName(project) + "."})
		}
		role := auth.Role(grant) // "": the account's own role again
		if grant != "" {
			if _, err := auth.ParseGrant(grant); err != nil {
				return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{
					Error: "A project role is none, viewer or editor (or the account's own role again): admin is console-wide, set it as the account's role."})
			}
		}
		err, kind, detail = s.Auth.SetProjectRole(ctx, name, project, role), auth.EventRoleChanged, "in project "+project+" to "+auth.GrantWords(role)
	case "disable":
		if self {
			return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: "You cannot disable yourself; ask another admin."})
		}
		err, kind = s.Auth.SetDisabled(ctx, name, true), auth.EventDisabled
	case "enable":
		err, kind = s.Auth.SetDisabled(ctx, name, false), auth.EventEnabled
	case "password":
		err, kind, detail = s.Auth.SetPassword(ctx, name, c.FormValue("password")), auth.EventPasswordSet, "by an admin"
		if errors.Is(err, auth.ErrSSOAccount) {
			return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{
				Error: "A single sign-on account has no password: it signs in through the identity provider."})
		}
		if errors.Is(err, auth.ErrWeakPassword) {
			return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: weakPassword})
		}
	default:
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if errors.Is(err, auth.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no account "+name+".")
	}
	if err != nil {
		return err
	}
	s.event(c, kind, name, detail)
	return c.Redirect(http.StatusSeeOther, "/admin/accounts?done="+op)
}

// createToken makes an API token for an account, acting with its role, and
// shows it once on the admin page (POST-redirect-GET, as createOwnToken).
func (s *Server) createToken(c echo.Context) error {
	name := c.Param("name")
	days, err := strconv.Atoi(c.FormValue("expires_days"))
	if err != nil || days < 1 || days > 3650 {
		return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: "A token expires in 1 to 3650 days."})
	}
	token, t, err := s.Auth.CreateToken(c.Request().Context(), name, c.FormValue("name"), time.Duration(days)*24*time.Hour)
	if errors.Is(err, auth.ErrSSOAccount) {
		return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: ssoTokenRefusal})
	}
	if errors.Is(err, auth.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "There is no account "+name+".")
	}
	if err != nil {
		return s.renderAdmin(c, http.StatusUnprocessableEntity, views.AdminPage{Error: "A token needs a name of at most 100 characters."})
	}
	s.event(c, auth.EventTokenCreated, fmt.Sprintf("token:%d (%s) for %s", t.ID, t.Name, name), fmt.Sprintf("expires in %d days", days))
	if err := s.keepNewToken(c, token); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/accounts?done=token")
}

// revokeAnyToken revokes any token (admins).
func (s *Server) revokeAnyToken(c echo.Context) error {
	return s.revokeToken(c, 0, "There is no token with this id.", "/admin/accounts")
}

// eventKinds names each kind of security event in words, in the order the
// filter offers them.
var eventKinds = []views.EventKind{
	{Code: auth.EventSignIn, Words: "Signed in"},
	{Code: auth.EventSignInFailed, Words: "Sign-in failed"},
	{Code: auth.EventSignInLimited, Words: "Sign-in throttled"},
	{Code: auth.EventSignOut, Words: "Signed out"},
	{Code: auth.EventPasswordCheckFailed, Words: "Wrong current password"},
	{Code: auth.EventPasswordSet, Words: "Password changed"},
	{Code: auth.EventAccountAdded, Words: "Account created"},
	{Code: auth.EventRoleChanged, Words: "Role changed"},
	{Code: auth.EventDisabled, Words: "Account disabled"},
	{Code: auth.EventEnabled, Words: "Account enabled"},
	{Code: auth.EventTokenCreated, Words: "API token created"},
	{Code: auth.EventTokenRevoked, Words: "API token revoked"},
	{Code: auth.EventTokenRejected, Words: "API token refused"},
	{Code: auth.EventTokenLimited, Words: "API token throttled"},
	{Code: auth.EventAccessDenied, Words: "Access denied"},
}

// eventWords is kind in words; an unknown kind (from a newer version) as it is.
func eventWords(kind string) string {
	for _, k := range eventKinds {
		if k.Code == kind {
			return k.Words
		}
	}
	return kind
}

// parseEventFilter reads the security events' filter; a bad value is an
// error at its control, and the list is shown without that filter.
func parseEventFilter(c echo.Context) (views.EventFilter, auth.EventFilter, *views.FieldError) {
	form := views.EventFilter{Kind: c.QueryParam("kind"), Account: c.QueryParam("account"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	var f auth.EventFilter
	if form.Kind != "" {
		if eventWords(form.Kind) == form.Kind {
			return form, f, &views.FieldError{Field: "kind", Message: "Choose an event from the list."}
		}
		f.Kind = form.Kind
	}
	if len(form.Account) > 100 {
		return form, f, &views.FieldError{Field: "account", Message: "An account name is at most 100 characters."}
	}
	f.Account = form.Account
	from, err := parseFilterTime(form.From, false)
	if err != nil {
		return form, auth.EventFilter{Kind: f.Kind, Account: f.Account}, &views.FieldError{Field: "from", Message: "From is not a time: " + timeHint + "."}
	}
	to, err := parseFilterTime(form.To, true)
	if err != nil {
		return form, auth.EventFilter{Kind: f.Kind, Account: f.Account, From: from}, &views.FieldError{Field: "to", Message: "To is not a time: " + timeHint + "."}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return form, auth.EventFilter{Kind: f.Kind, Account: f.Account, From: from}, &views.FieldError{Field: "to", Message: "To must be after From."}
	}
	f.From, f.Before = from, to
	return form, f, nil
}

// securityEvents serves /security-events, newest first, filtered by kind,
// account and UTC dates. A bad filter answers 422 with the page, the error
// at the filter.
func (s *Server) securityEvents(c echo.Context) error {
	var before int64
	if v := c.QueryParam("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("The page cursor is not valid.")
		}
		before = n
	}
	form, filter, ferr := parseEventFilter(c)
	const pageSize = 100
	events, err := s.Auth.Events(c.Request().Context(), filter, before, pageSize)
	if err != nil {
		return err
	}
	form.Error = ferr
	p := views.EventsPage{Base: s.base(c, "Security events"), Filter: form, Kinds: eventKinds}
	for _, e := range events {
		p.Events = append(p.Events, views.EventRow{At: e.At, Kind: e.Kind, Words: eventWords(e.Kind), Actor: e.Actor,
			Subject: e.Subject, ClientIP: e.ClientIP, Detail: e.Detail})
	}
	if len(events) == pageSize {
		q := c.QueryParams()
		q.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		p.Older = "/security-events?" + q.Encode()
	}
	status := http.StatusOK
	if ferr != nil {
		status = http.StatusUnprocessableEntity
	}
	return render(c, status, views.EventsView(p))
}

package oidctest

import (
	"crypto/rand"
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authRequest is an authorization request waiting at the login form.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	nonce       string
	scopes      []string
	challenge   string // PKCE S256 code_challenge
	expires     time.Time
}

// codeGrant is what an authorization code stands for until it is redeemed.
type codeGrant struct {
	req      authRequest
	username string
	authTime time.Time
	expires  time.Time
}

// authorize is the authorization endpoint (OpenID Connect Core 3.1.2.1).
// Until client_id and redirect_uri are known good it answers with a page,
// never a redirect (RFC 6749 4.1.2.1); after that, errors go back to the
// client as error= on its redirect URI.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			// RFC 6749 3.1: a repeated parameter makes the request invalid;
			// which one counts is ambiguous, so nothing is redirected.
			p.errorPage(w, http.StatusBadRequest, "Invalid sign-in request", "The application sent "+k+" more than once.")
			return
		}
	}
	req := authRequest{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		scopes:      strings.Fields(q.Get("scope")),
		challenge:   q.Get("code_challenge"),
	}
	if req.clientID != p.clientID {
		p.errorPage(w, http.StatusBadRequest, "Unknown application", "The application asking you to sign in is not registered here.")
		return
	}
	if !p.redirectAllowed(req.redirectURI) {
		p.errorPage(w, http.StatusBadRequest, "Unknown return address", "The address the application wants you sent back to is not registered for it.")
		return
	}
	switch {
	case q.Get("response_type") != "code":
		redirectError(w, r, req, "unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(req.scopes, "openid"):
		redirectError(w, r, req, "invalid_scope", "the openid scope is required")
		return
	case q.Get("code_challenge_method") != "S256" || !validChallenge(req.challenge):
		redirectError(w, r, req, "invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case q.Get("request") != "" || q.Get("request_uri") != "":
		redirectError(w, r, req, "request_not_supported", "request objects are not supported")
		return
	}

	p.mu.Lock()
	auto := p.autoLogin
	if hint := q.Get("login_hint"); auto != "" && p.users[hint] != nil {
		auto = hint
	}
	p.mu.Unlock()
	if auto != "" {
		p.grantCode(w, r, req, auto)
		return
	}
	if q.Get("prompt") == "none" {
		// No sessions here: every sign-in needs the form.
		redirectError(w, r, req, "login_required", "the user must sign in")
		return
	}
	id := rand.Text()
	req.expires = p.now().Add(LoginLifetime)
	p.mu.Lock()
	p.pruneLocked()
	p.logins[id] = &req
	p.mu.Unlock()
	p.loginForm(w, http.StatusOK, id, req, q.Get("login_hint"), "")
}

// login takes the login form's answer.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("request")
	p.mu.Lock()
	req, ok := p.logins[id]
	if ok && !p.now().Before(req.expires) {
		delete(p.logins, id)
		ok = false
	}
	p.mu.Unlock()
	if !ok {
		p.errorPage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in page has expired or was already used. Go back to the application and sign in again.")
		return
	}
	if r.PostFormValue("action") == "cancel" {
		p.takeLogin(id)
		redirectError(w, r, *req, "access_denied", "the user cancelled the sign-in")
		return
	}
	username := r.PostFormValue("username")
	if known, ok := p.checkPassword(username, r.PostFormValue("password")); !ok {
		if known {
			p.log.Info("oidctest: sign-in refused, wrong password", "username", username)
		} else {
			// Not the name typed: it may be a password in the wrong field.
			p.log.Info("oidctest: sign-in refused, unknown username")
		}
		p.loginForm(w, http.StatusUnauthorized, id, *req, username, "Wrong username or password.")
		return
	}
	if !p.takeLogin(id) {
		// A second submission of the same form raced this one and won.
		p.errorPage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in page was already used. Go back to the application and sign in again.")
		return
	}
	p.grantCode(w, r, *req, username)
}

// takeLogin removes a pending login, reporting whether it was still there.
func (p *Provider) takeLogin(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.logins[id]
	delete(p.logins, id)
	return ok
}

// checkPassword says whether username is a user and password theirs.
func (p *Provider) checkPassword(username, password string) (known, ok bool) {
	p.mu.Lock()
	u := p.users[username]
	p.mu.Unlock()
	if u == nil {
		return false, false
	}
	return true, subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
}

// grantCode signs username in and sends the browser back to the client
// with a one-use code.
func (p *Provider) grantCode(w http.ResponseWriter, r *http.Request, req authRequest, username string) {
	code := rand.Text()
	now := p.now()
	p.mu.Lock()
	p.pruneLocked()
	p.codes[code] = &codeGrant{req: req, username: username, authTime: now, expires: now.Add(CodeLifetime)}
	p.mu.Unlock()
	p.log.Info("oidctest: signed in", "username", username)
	redirectTo(w, r, req, url.Values{"code": {code}})
}

func redirectError(w http.ResponseWriter, r *http.Request, req authRequest, code, description string) {
	redirectTo(w, r, req, url.Values{"error": {code}, "error_description": {description}})
}

// redirectTo sends the browser to the client's redirect URI with params and
// the request's state.
func redirectTo(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	u, _ := url.Parse(req.redirectURI) // checked against the registered list
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	// 303 so a POSTed login form becomes a GET at the client.
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (p *Provider) redirectAllowed(u string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return u != "" && slices.Contains(p.redirectURLs, u)
}

// validChallenge: an S256 challenge is the unpadded base64url of 32 bytes.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for _, ch := range c {
		if !isBase64URL(ch) {
			return false
		}
	}
	return true
}

func isBase64URL(ch rune) bool {
	return ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_'
}

// pruneLocked drops expired logins, codes and access tokens; p.mu is held.
func (p *Provider) pruneLocked() {
	now := p.now()
	for id, l := range p.logins {
		if !now.Before(l.expires) {
			delete(p.logins, id)
		}
	}
	for c, g := range p.codes {
		if !now.Before(g.expires) {
			delete(p.codes, c)
		}
	}
	for t, a := range p.accessTokens {
		if !now.Before(a.expires) {
			delete(p.accessTokens, t)
		}
	}
}

// The pages carry no script and no style, so they pass a CSP of
// default-src 'none'.
var (
	loginTemplate = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · identity provider</title>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>Sign in to the identity provider to continue to <strong>{{.ClientID}}</strong>.</p>
{{if .Error}}<p id="login-error" role="alert" data-testid="login-error">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}" data-testid="login-form">
<input type="hidden" name="request" value="{{.RequestID}}">
<p><label for="username">Username</label><br>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Username}}"{{if .Error}} aria-invalid="true" aria-describedby="login-error"{{end}} data-testid="login-username"></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-invalid="true" aria-describedby="login-error"{{end}} data-testid="login-password"></p>
<p><button type="submit" name="action" value="login" data-testid="login-submit">Sign in</button>
<button type="submit" name="action" value="cancel" formnovalidate data-testid="login-cancel">Cancel</button></p>
</form>
</main>
</body>
</html>
`))
	errorTemplate = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · identity provider</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p data-testid="error-message">{{.Message}}</p>
</main>
</body>
</html>
`))
)

func (p *Provider) loginForm(w http.ResponseWriter, status int, id string, req authRequest, username, errMsg string) {
	formAction := "'self'"
	if u, err := url.Parse(req.redirectURI); err == nil {
		// Browsers apply form-action to the redirect that follows the post.
		formAction += " " + u.Scheme + "://" + u.Host
	}
	setPageHeaders(w, formAction)
	w.WriteHeader(status)
	loginTemplate.Execute(w, struct {
		ClientID, Action, RequestID, Username, Error string
	}{req.clientID, p.endpoint("/login"), id, username, errMsg})
}

func (p *Provider) errorPage(w http.ResponseWriter, status int, title, message string) {
	setPageHeaders(w, "'none'")
	w.WriteHeader(status)
	errorTemplate.Execute(w, struct{ Title, Message string }{title, message})
}

func setPageHeaders(w http.ResponseWriter, formAction string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

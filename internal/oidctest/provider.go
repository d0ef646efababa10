// Package oidctest is a small OpenID Connect provider that runs in process:
// discovery, JWKS (RS256), an authorization endpoint with a real login form,
// a token endpoint (authorization code grant, PKCE S256 required) and
// userinfo. Tests start it with Start; the console's demo mode serves it
// with Serve. Fault knobs on *Provider
// (SetIssuer, TamperSignature, Down, ...) let a client's tests provoke every
// failure an OIDC sign-in must refuse.
//
// It keeps everything in memory and never logs a password, a code or a token.
package oidctest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is an account of the provider.
type User struct {
	Subject  string // the "sub" claim: stable, never reassigned
	Username string // what the login form asks for; the "preferred_username" claim
	Password string
	Name     string
	Email    string
	Groups   []string
}

// Options configure a Provider. ClientID, ClientSecret and RedirectURLs
// describe the one client (the console) the provider knows.
type Options struct {
	// Issuer, when set, is announced in discovery and ID tokens instead of
	// the provider's URL: a provider claiming another identity than where
	// it was found.
	Issuer string

	ClientID     string // default "vpcep-console"
	ClientSecret string // default: random (read it with ClientSecret)
	// RedirectURLs are the registered redirect URIs; a request's
	// redirect_uri must equal one of them exactly.
	RedirectURLs []string

	Users []User

	// TokenLifetime is how long ID and access tokens live (default 5 minutes).
	TokenLifetime time.Duration
	// Clock is the provider's time (default time.Now).
	Clock func() time.Time

	// AutoLogin, when set to a username, signs that user in at the
	// authorization endpoint without showing the form: for handler tests
	// that follow redirects without a browser. A request's login_hint
	// naming another user signs that user in instead.
	AutoLogin string
	// GroupsClaim names the claim holding groups (default "groups").
	GroupsClaim string
	// GroupsOnlyInUserinfo leaves groups out of ID tokens, so a client
	// must read them from the userinfo endpoint.
	GroupsOnlyInUserinfo bool

	// Logger receives one line per sign-in and token (default: discard).
	// It never sees passwords, codes or tokens.
	Logger *slog.Logger
}

// Lifetimes of the provider's short-lived artefacts.
const (
	// CodeLifetime bounds an authorization code: one use, within a minute.
	CodeLifetime = time.Minute
	// LoginLifetime bounds how long a login form stays valid.
	LoginLifetime = 10 * time.Minute

	defaultTokenLifetime = 5 * time.Minute
)

// Provider is a running OpenID Connect provider. Its methods are safe for
// concurrent use.
type Provider struct {
	// Set once by newProvider (onClose by Start or Serve), then only read.
	log             *slog.Logger
	clock           func() time.Time
	clientID        string
	clientSecret    string
	groupsClaim     string
	groupsOnlyUI    bool
	defaultLifetime time.Duration
	onClose         func() error
	closeOnce       sync.Once
	closeErr        error

	mu           sync.Mutex // guards everything below
	url          string
	issuer       string // announced in discovery
	redirectURLs []string
	users        map[string]*User // by username
	autoLogin    string
	keys         []*signingKey // keys[0] signs; the rest are still published
	logins       map[string]*authRequest
	codes        map[string]*codeGrant
	accessTokens map[string]*accessGrant

	tokenRequests int

	// Fault knobs.
	tokenIssuer string
	audience    string
	expiresIn   time.Duration
	skew        time.Duration
	tamper      bool
	nonce       string
	down        bool
}

// Start runs a provider on a local test server, closed when the test ends.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	p, err := newProvider(o)
	if err != nil {
		t.Fatal(err)
	}
	// The handler reads p.url at each request, so it can be built before
	// the server knows its address.
	srv := httptest.NewUnstartedServer(p.handler())
	srv.Start()
	if err := p.setURL(srv.URL); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	p.onClose = func() error { srv.Close(); return nil }
	t.Cleanup(func() { p.Close() })
	return p
}

// Serve runs a provider on addr (":0" picks a free port) until Close: the
// console's demo mode. Its URL is http:// and the listener's address
// (localhost when listening on every interface).
func Serve(addr string, o Options) (*Provider, error) {
	p, err := newProvider(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: listen on %s: %w", addr, err)
	}
	if err := p.setURL("http://" + reachableAddr(ln.Addr().(*net.TCPAddr))); err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           p.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("oidctest: serve", "err", err)
		}
	}()
	p.onClose = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	return p, nil
}

// reachableAddr turns a listener's address into one a browser can use.
func reachableAddr(a *net.TCPAddr) string {
	if a.IP == nil || a.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", fmt.Sprint(a.Port))
	}
	return a.String()
}

func newProvider(o Options) (*Provider, error) {
	p := &Provider{
		log:          o.Logger,
		clock:        o.Clock,
		clientID:     o.ClientID,
		clientSecret: o.ClientSecret,
		groupsClaim:  o.GroupsClaim,
		groupsOnlyUI: o.GroupsOnlyInUserinfo,
		issuer:       o.Issuer,
		redirectURLs: slices.Clone(o.RedirectURLs),
		users:        map[string]*User{},
		autoLogin:    o.AutoLogin,
		logins:       map[string]*authRequest{},
		codes:        map[string]*codeGrant{},
		accessTokens: map[string]*accessGrant{},
		expiresIn:    o.TokenLifetime,
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.clock == nil {
		p.clock = time.Now
	}
	if p.clientID == "" {
		p.clientID = "vpcep-console"
	}
	if p.clientSecret == "" {
		p.clientSecret = rand.Text()
	}
	if p.groupsClaim == "" {
		p.groupsClaim = "groups"
	}
	if p.expiresIn == 0 {
		p.expiresIn = defaultTokenLifetime
	}
	p.defaultLifetime = p.expiresIn
	if p.issuer != "" {
		if err := checkIssuerURL(p.issuer); err != nil {
			return nil, err
		}
	}
	for _, r := range p.redirectURLs {
		if err := checkRedirectURL(r); err != nil {
			return nil, err
		}
	}
	for _, u := range o.Users {
		if err := p.addUser(u); err != nil {
			return nil, err
		}
	}
	if p.autoLogin != "" && p.users[p.autoLogin] == nil {
		return nil, fmt.Errorf("oidctest: AutoLogin %q is not a user", p.autoLogin)
	}
	k, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	p.keys = []*signingKey{k}
	return p, nil
}

func (p *Provider) addUser(u User) error {
	if u.Username == "" || u.Subject == "" || u.Password == "" {
		return fmt.Errorf("oidctest: user %q needs a username, a subject and a password", u.Username)
	}
	if p.users[u.Username] != nil {
		return fmt.Errorf("oidctest: user %q twice", u.Username)
	}
	for _, other := range p.users {
		if other.Subject == u.Subject {
			return fmt.Errorf("oidctest: subject %q twice", u.Subject)
		}
	}
	u.Groups = slices.Clone(u.Groups)
	p.users[u.Username] = &u
	return nil
}

func checkIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidctest: %q is not an issuer URL (http(s), a host, no query or fragment)", s)
	}
	return nil
}

func checkRedirectURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Fragment != "" {
		return fmt.Errorf("oidctest: redirect URL %q must be absolute, without a fragment", s)
	}
	return nil
}

func (p *Provider) setURL(u string) error {
	if err := checkIssuerURL(u); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.url = strings.TrimSuffix(u, "/")
	return nil
}

// Close stops a provider started by Start or Serve.
func (p *Provider) Close() error {
	p.closeOnce.Do(func() {
		if p.onClose != nil {
			p.closeErr = p.onClose()
		}
	})
	return p.closeErr
}

// URL is where the provider is reached: what a client configures as its
// issuer (discovery is at URL + "/.well-known/openid-configuration").
func (p *Provider) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// Issuer is the issuer the provider announces in discovery: Options.Issuer,
// else URL.
func (p *Provider) Issuer() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.announcedIssuer()
}

func (p *Provider) announcedIssuer() string {
	if p.issuer != "" {
		return p.issuer
	}
	return p.url
}

// ClientID is the client's identifier.
func (p *Provider) ClientID() string { return p.clientID }

// ClientSecret is the client's secret (generated when Options left it empty).
func (p *Provider) ClientSecret() string { return p.clientSecret }

// TokenRequests counts the requests the token endpoint received, good or
// bad: a test can check that a refused request reached it.
func (p *Provider) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenRequests
}

// SetGroups replaces a user's groups from the next token on (a user leaving
// a group at the provider).
func (p *Provider) SetGroups(username string, groups []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.users[username]
	if u == nil {
		return fmt.Errorf("oidctest: no user %q", username)
	}
	u.Groups = slices.Clone(groups)
	return nil
}

// SetIssuer makes ID tokens claim another issuer ("" restores the announced one).
func (p *Provider) SetIssuer(iss string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenIssuer = iss
}

// SetAudience makes ID tokens name another audience ("" restores the client ID).
func (p *Provider) SetAudience(aud string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.audience = aud
}

// SetExpiresIn sets the lifetime of tokens issued from now on: negative
// issues tokens already expired, 0 restores Options.TokenLifetime.
func (p *Provider) SetExpiresIn(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d == 0 {
		d = p.defaultLifetime
	}
	p.expiresIn = d
}

// SetClockSkew shifts the provider's clock by d for the iat and exp of the
// tokens it issues: a provider whose clock is ahead (d > 0) or behind.
func (p *Provider) SetClockSkew(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.skew = d
}

// TamperSignature, when on, alters ID tokens after signing them, so their
// signature no longer matches their claims.
func (p *Provider) TamperSignature(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = on
}

// SetNonce makes ID tokens carry this nonce instead of the one the client
// sent ("" restores the client's).
func (p *Provider) SetNonce(nonce string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nonce = nonce
}

// Down, when on, answers every request with 503 Service Unavailable. (For
// a provider that does not answer at all, Close it.)
func (p *Provider) Down(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = on
}

// RotateKeys starts signing with a new key. JWKS publishes the new key and
// the one before it, as a provider does while tokens signed with the old
// key may still be in flight; older keys are dropped.
func (p *Provider) RotateKeys() error {
	k, err := newSigningKey()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = []*signingKey{k, p.keys[0]}
	return nil
}

func (p *Provider) now() time.Time { return p.clock() }

func (p *Provider) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("POST /userinfo", p.userinfo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "provider down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// endpoint is the absolute URL of one of the provider's paths.
func (p *Provider) endpoint(path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url + path
}

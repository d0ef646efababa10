package oidctest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

const redirectURL = "http://console.test/auth/sso/callback"

// start is the provider every test uses: two users in two groups, a clock
// the test moves.
func start(t *testing.T, o oidctest.Options) (*oidctest.Provider, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	if o.Clock == nil {
		o.Clock = clock.Now
	}
	o.ClientID = "console"
	o.ClientSecret = "s3cret/with:odd chars"
	o.RedirectURLs = append(o.RedirectURLs, redirectURL)
	o.Users = []oidctest.User{
		{Subject: "sub-alice", Username: "alice", Password: "alice-pw-7Qx", Name: "Alice Admin", Email: "alice@example.test", Groups: []string{"net-admins"}},
		{Subject: "sub-bob", Username: "bob", Password: "bob-pw-3Zk", Name: "Bob Viewer", Email: "bob@example.test", Groups: []string{"net-viewers"}},
	}
	return oidctest.Start(t, o), clock
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func discover(t *testing.T, p *oidctest.Provider) discovery {
	t.Helper()
	var d discovery
	getJSON(t, p.URL()+"/.well-known/openid-configuration", &d)
	return d
}

// oauthConfig is the client side, built from discovery as a client would.
func oauthConfig(t *testing.T, p *oidctest.Provider, style oauth2.AuthStyle) *oauth2.Config {
	d := discover(t, p)
	return &oauth2.Config{
		ClientID:     p.ClientID(),
		ClientSecret: p.ClientSecret(),
		Endpoint:     oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, AuthStyle: style},
		RedirectURL:  redirectURL,
		Scopes:       []string{"openid", "profile", "email"},
	}
}

func TestDiscovery(t *testing.T) {
	p, _ := start(t, oidctest.Options{})
	got := discover(t, p)
	want := discovery{
		Issuer:                            p.URL(),
		AuthorizationEndpoint:             p.URL() + "/authorize",
		TokenEndpoint:                     p.URL() + "/token",
		UserinfoEndpoint:                  p.URL() + "/userinfo",
		JWKSURI:                           p.URL() + "/jwks",
		ResponseTypesSupported:            []string{"code"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		CodeChallengeMethodsSupported:     []string{"S256"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery mismatch (-want +got):\n%s", diff)
	}

	var keys jose.JSONWebKeySet
	getJSON(t, got.JWKSURI, &keys)
	if len(keys.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(keys.Keys))
	}
	k := keys.Keys[0]
	if k.Algorithm != "RS256" || k.Use != "sig" || k.KeyID == "" || !k.IsPublic() || !k.Valid() {
		t.Errorf("JWKS key = alg %q use %q kid %q public %v: want a public RS256 signing key with a kid", k.Algorithm, k.Use, k.KeyID, k.IsPublic())
	}
}

func TestIssuerOverrideIsAnnounced(t *testing.T) {
	p, _ := start(t, oidctest.Options{Issuer: "https://elsewhere.test"})
	if got := discover(t, p).Issuer; got != "https://elsewhere.test" {
		t.Errorf("issuer = %q, want the override", got)
	}
	if p.Issuer() != "https://elsewhere.test" || p.URL() == p.Issuer() {
		t.Errorf("Issuer() = %q, URL() = %q: want the override and the server's URL", p.Issuer(), p.URL())
	}
}

// idClaims are the ID token's claims this package promises.
type idClaims struct {
	Issuer            string           `json:"iss"`
	Subject           string           `json:"sub"`
	Audience          jwt.Audience     `json:"aud"`
	Expiry            *jwt.NumericDate `json:"exp"`
	IssuedAt          *jwt.NumericDate `json:"iat"`
	Nonce             string           `json:"nonce"`
	Name              string           `json:"name"`
	PreferredUsername string           `json:"preferred_username"`
	Email             string           `json:"email"`
	Groups            []string         `json:"groups"`
}

// verifyIDToken checks raw's RS256 signature against the provider's JWKS
// and returns its claims.
func verifyIDToken(t *testing.T, p *oidctest.Provider, raw string) (idClaims, error) {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse ID token: %v", err)
	}
	if len(tok.Headers) != 1 {
		t.Fatalf("ID token has %d headers", len(tok.Headers))
	}
	var keys jose.JSONWebKeySet
	getJSON(t, discover(t, p).JWKSURI, &keys)
	found := keys.Key(tok.Headers[0].KeyID)
	if len(found) != 1 {
		t.Fatalf("JWKS has no key %q", tok.Headers[0].KeyID)
	}
	var c idClaims
	err = tok.Claims(found[0].Key, &c)
	return c, err
}

// signIn runs the authorization request through the login form as a
// browser would and returns the query the client's redirect URI receives.
func signIn(t *testing.T, authURL, username, password string) url.Values {
	t.Helper()
	resp, err := noRedirects.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	doc := readPage(t, resp, http.StatusOK)
	form := doc.Find(`form[data-testid="login-form"]`)
	action, _ := form.Attr("action")
	fields := url.Values{"username": {username}, "password": {password}, "action": {"login"}}
	form.Find(`input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		fields.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	resp, err = noRedirects.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	return redirectQuery(t, resp)
}

func readPage(t *testing.T, resp *http.Response, status int) *goquery.Document {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != status {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %s, want %d: %s", resp.Status, status, body)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// redirectQuery checks resp sends the browser to the client's redirect URI
// and returns the parameters it carries.
func redirectQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %s, want 303 to the client", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURL {
		t.Fatalf("redirected to %s, want %s", got, redirectURL)
	}
	return loc.Query()
}

func TestCodeFlowWithPKCE(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			p, clock := start(t, oidctest.Options{})
			conf := oauthConfig(t, p, style.style)
			verifier := oauth2.GenerateVerifier()
			authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-456"))

			q := signIn(t, authURL, "alice", "alice-pw-7Qx")
			if q.Get("state") != "state-123" || q.Get("code") == "" {
				t.Fatalf("redirect query = %v, want the state and a code", q)
			}
			ctx := context.Background()
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			got, err := verifyIDToken(t, p, raw)
			if err != nil {
				t.Fatalf("ID token signature: %v", err)
			}
			now := clock.Now()
			want := idClaims{
				Issuer: p.URL(), Subject: "sub-alice", Audience: jwt.Audience{"console"},
				Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now),
				Nonce: "nonce-456", Name: "Alice Admin", PreferredUsername: "alice", Email: "alice@example.test",
				Groups: []string{"net-admins"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ID token claims mismatch (-want +got):\n%s", diff)
			}

			// The access token reads the same user at the userinfo endpoint.
			resp, err := conf.Client(ctx, tok).Get(p.URL() + "/userinfo")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var info map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
				t.Fatal(err)
			}
			wantInfo := map[string]any{"sub": "sub-alice", "name": "Alice Admin", "preferred_username": "alice",
				"email": "alice@example.test", "email_verified": true, "groups": []any{"net-admins"}}
			if diff := cmp.Diff(wantInfo, info); diff != "" {
				t.Errorf("userinfo mismatch (-want +got):\n%s", diff)
			}

			// A code is good once.
			_, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if code := retrieveErrorCode(err); code != "invalid_grant" {
				t.Errorf("second exchange of a code: error %v, want invalid_grant", err)
			}
		})
	}
}

func retrieveErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

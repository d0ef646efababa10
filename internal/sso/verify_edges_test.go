package sso

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vpcep-console/vpcep-console/internal/auth"
)

// handIdP is a minimal provider whose ID token is whatever claims(nonce)
// says, signed by sign: for claims no well-behaved provider sends.
func handIdP(t *testing.T, sign func(claims map[string]any) string, claims func(iss, nonce string) map[string]any) (*Provider, func() (string, string)) {
	t.Helper()
	var nonce string
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth",
			"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"}})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		c := claims(srv.URL, nonce)
		raw := ""
		if sign != nil {
			raw = sign(c)
		} else {
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
			raw, _ = jwt.Signed(signer).Claims(c).Serialize()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": raw})
	})
	m, err := ParseMapping(testMapping)
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Issuer: srv.URL, ClientID: "console", ClientSecret: "the-client-secret-0123456789abcdef",
		RedirectURL: callbackURL, Scopes: []string{"openid"}, Mapping: m}, testPool(t), nil)
	start := func() (string, string) {
		authURL, _, err := p.Begin(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		nonce = u.Query().Get("nonce")
		return u.Query().Get("state"), "code"
	}
	return p, start
}

func baseClaims(iss, nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss, "sub": "sub-x", "aud": "console", "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "groups": []string{"netops"}}
}

// TestAzpOfAnotherClientRefused: an ID token whose azp names another
// client was not issued to the console (OpenID Connect Core 3.1.3.7 point 5),
// even when aud holds the console's client id alone.
func TestAzpOfAnotherClientRefused(t *testing.T) {
	p, start := handIdP(t, nil, func(iss, nonce string) map[string]any {
		c := baseClaims(iss, nonce)
		c["azp"] = "another-client"
		return c
	})
	state, code := start()
	id, _, err := p.Finish(context.Background(), state, code)
	if err == nil {
		t.Fatalf("a token for azp another-client signed in %+v", id)
	}
	wantReason(t, err, ReasonWrongAudience)
}

// TestSymmetricAndUnsignedRefused: HS256 keyed with the client
// secret and alg none are refused even when discovery lists them.
func TestSymmetricAndUnsignedRefused(t *testing.T) {
	hs := func(c map[string]any) string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("the-client-secret-0123456789abcdef")}, nil)
		raw, _ := jwt.Signed(signer).Claims(c).Serialize()
		return raw
	}
	p, start := handIdP(t, hs, baseClaims)
	state, code := start()
	if _, _, err := p.Finish(context.Background(), state, code); err == nil {
		t.Fatal("an HS256 token keyed with the client secret signed in")
	}
	none := func(c map[string]any) string {
		payload, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	p, start = handIdP(t, none, baseClaims)
	state, code = start()
	if _, _, err := p.Finish(context.Background(), state, code); err == nil {
		t.Fatal("an unsigned (alg none) token signed in")
	}
}

// TestSecretPastedIntoSecretEnvNotPrinted: an operator who puts the
// secret itself in OIDC_CLIENT_SECRET_ENV (the likeliest mistake with a
// "by reference" setting) must not find it in the start-up error, which
// goes to the log. Client secrets are often plain alphanumerics, which
// also pass as a variable's name.
func TestSecretPastedIntoSecretEnvNotPrinted(t *testing.T) {
	for _, secret := range []string{"s3cr3t-Value!", "Zk3q9VbW7xPa2LmN4rT6yU8iO0pQsDfG"} {
		_, err := ConfigFromEnv(with(base(), "OIDC_CLIENT_SECRET_FILE", "", "OIDC_CLIENT_SECRET_ENV", secret).getenv, base().readFile)
		if err == nil {
			t.Fatalf("%q: no error", secret)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error prints the secret: %v", err)
		}
	}
}

// TestSecretPastedIntoSecretFileNotPrinted: the same mistake with
// OIDC_CLIENT_SECRET_FILE.
func TestSecretPastedIntoSecretFileNotPrinted(t *testing.T) {
	const secret = "Zk3q9VbW7xPa2LmN4rT6yU8iO0pQsDfG"
	_, err := ConfigFromEnv(with(base(), "OIDC_CLIENT_SECRET_FILE", secret).getenv, base().readFile)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("the error prints the secret: %v", err)
	}
}

// TestProjectOnlyGroupSeesNoOtherProject: a user whose groups give
// one project only must not read a project the mapping did not know of at
// their sign-in (one added to the console later): the account's own role
// (viewer) applies to every project without a grant.
func TestProjectOnlyGroupSeesNoOtherProject(t *testing.T) {
	m, err := ParseMapping("auditors=viewer@prod")
	if err != nil {
		t.Fatal(err)
	}
	m.Projects = []string{"prod"}
	role, grants, ok := m.Resolve([]string{"auditors"})
	if !ok {
		t.Fatal("refused")
	}
	a := &auth.Account{Role: role, Projects: grants}
	if got := a.RoleIn("staging"); got.Allows(auth.Viewer) {
		t.Errorf("a prod-only auditor is %s in a project added later", got)
	}
}

// TestHangingProviderDoesNotQueueSignIns: a provider that accepts
// connections but never answers costs each sign-in at most the discovery
// timeout; it must not make the last of several visitors wait for those before.
func TestHangingProviderDoesNotQueueSignIns(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	m, _ := ParseMapping(testMapping)
	p := New(Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s", RedirectURL: callbackURL,
		Scopes: []string{"openid"}, Mapping: m}, testPool(t), nil)
	const visitors = 3
	done := make(chan time.Duration, visitors)
	start := time.Now()
	for range visitors {
		go func() {
			_, _, _ = p.Begin(context.Background(), "/")
			done <- time.Since(start)
		}()
	}
	var slowest time.Duration
	for range visitors {
		slowest = max(slowest, <-done)
	}
	if slowest > discoveryTimeout+2*time.Second {
		t.Errorf("the last of %d sign-ins waited %s for the provider (discovery timeout %s)", visitors, slowest.Round(time.Second), discoveryTimeout)
	}
}

// TestGroupsTypesAndExpiryLeeway: a groups claim of the wrong type is
// refused, and an ID token expired less than a minute ago is accepted.
func TestGroupsTypesAndExpiryLeeway(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(map[string]any)
		reason string // "" accepted
	}{
		{"nested groups", func(c map[string]any) { c["groups"] = []any{[]string{"netops"}} }, ReasonInvalidToken},
		{"groups object", func(c map[string]any) { c["groups"] = map[string]any{"netops": true} }, ReasonInvalidToken},
		{"groups mixed", func(c map[string]any) { c["groups"] = []any{"netops", 1} }, ReasonInvalidToken},
		{"expired 30s ago", func(c map[string]any) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() }, ""},
		{"expired 90s ago", func(c map[string]any) { c["exp"] = time.Now().Add(-90 * time.Second).Unix() }, ReasonExpired},
		{"iat 90s ahead", func(c map[string]any) { c["iat"] = time.Now().Add(90 * time.Second).Unix() }, ReasonClockSkew},
		{"two audiences, azp ours", func(c map[string]any) { c["aud"] = []string{"console", "x"}; c["azp"] = "console" }, ""},
		{"two audiences, no azp", func(c map[string]any) { c["aud"] = []string{"console", "x"} }, ReasonWrongAudience},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, start := handIdP(t, nil, func(iss, nonce string) map[string]any {
				c := baseClaims(iss, nonce)
				tc.edit(c)
				return c
			})
			state, code := start()
			_, _, err := p.Finish(context.Background(), state, code)
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantReason(t, err, tc.reason)
		})
	}
}

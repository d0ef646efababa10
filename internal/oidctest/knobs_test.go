package oidctest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// autoIDToken signs alice in (AutoLogin) and returns the ID token the
// code is exchanged for.
func autoIDToken(t *testing.T, p *oidctest.Provider) string {
	t.Helper()
	conf := oauthConfig(t, p, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()
	code := autoCode(t, p, verifier)
	tok, err := conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

// Each knob changes the next ID token as a client's test expects, and its
// zero value restores the normal token.
func TestFaultKnobs(t *testing.T) {
	type claims struct {
		iss, aud, nonce string
		iat, exp        time.Duration
	}
	normal := claims{aud: "console", nonce: "nc", iat: 0, exp: 5 * time.Minute}
	tests := []struct {
		name  string
		set   func(p *oidctest.Provider)
		reset func(p *oidctest.Provider)
		want  func(c claims) claims
	}{
		{"SetIssuer", func(p *oidctest.Provider) { p.SetIssuer("https://other.test") }, func(p *oidctest.Provider) { p.SetIssuer("") },
			func(c claims) claims { c.iss = "https://other.test"; return c }},
		{"SetAudience", func(p *oidctest.Provider) { p.SetAudience("someone-else") }, func(p *oidctest.Provider) { p.SetAudience("") },
			func(c claims) claims { c.aud = "someone-else"; return c }},
		{"SetNonce", func(p *oidctest.Provider) { p.SetNonce("replayed") }, func(p *oidctest.Provider) { p.SetNonce("") },
			func(c claims) claims { c.nonce = "replayed"; return c }},
		{"SetExpiresIn negative", func(p *oidctest.Provider) { p.SetExpiresIn(-time.Minute) }, func(p *oidctest.Provider) { p.SetExpiresIn(0) },
			func(c claims) claims { c.exp = -time.Minute; return c }},
		{"SetClockSkew ahead", func(p *oidctest.Provider) { p.SetClockSkew(2 * time.Minute) }, func(p *oidctest.Provider) { p.SetClockSkew(0) },
			func(c claims) claims { c.iat, c.exp = 2*time.Minute, 7*time.Minute; return c }},
		{"SetClockSkew behind", func(p *oidctest.Provider) { p.SetClockSkew(-6 * time.Minute) }, func(p *oidctest.Provider) { p.SetClockSkew(0) },
			func(c claims) claims { c.iat, c.exp = -6*time.Minute, -time.Minute; return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, clock := start(t, oidctest.Options{AutoLogin: "alice"})
			read := func() claims {
				c, err := verifyIDToken(t, p, autoIDToken(t, p))
				if err != nil {
					t.Fatalf("signature: %v", err)
				}
				return claims{iss: c.Issuer, aud: c.Audience[0], nonce: c.Nonce,
					iat: c.IssuedAt.Time().Sub(clock.Now()), exp: c.Expiry.Time().Sub(clock.Now())}
			}
			base := normal
			base.iss = p.URL()
			tt.set(p)
			if diff := cmp.Diff(tt.want(base), read(), cmp.AllowUnexported(claims{})); diff != "" {
				t.Errorf("with the knob (-want +got):\n%s", diff)
			}
			tt.reset(p)
			if diff := cmp.Diff(base, read(), cmp.AllowUnexported(claims{})); diff != "" {
				t.Errorf("after reset (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTamperSignature(t *testing.T) {
	p, _ := start(t, oidctest.Options{AutoLogin: "alice"})
	p.TamperSignature(true)
	if _, err := verifyIDToken(t, p, autoIDToken(t, p)); err == nil {
		t.Error("a tampered token verifies")
	}
	p.TamperSignature(false)
	if _, err := verifyIDToken(t, p, autoIDToken(t, p)); err != nil {
		t.Errorf("after TamperSignature(false): %v", err)
	}
}

func keyID(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func TestRotateKeys(t *testing.T) {
	p, _ := start(t, oidctest.Options{AutoLogin: "alice"})
	before := autoIDToken(t, p)
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	after := autoIDToken(t, p)
	if keyID(t, before) == keyID(t, after) {
		t.Fatal("the same key signs after RotateKeys")
	}
	var keys jose.JSONWebKeySet
	getJSON(t, p.URL()+"/jwks", &keys)
	if len(keys.Keys) != 2 || keys.Keys[0].KeyID != keyID(t, after) || keys.Keys[1].KeyID != keyID(t, before) {
		t.Errorf("JWKS after one rotation: %d keys, want the new one then the old one", len(keys.Keys))
	}
	for _, raw := range []string{before, after} {
		if _, err := verifyIDToken(t, p, raw); err != nil {
			t.Errorf("token signed by %s: %v", keyID(t, raw), err)
		}
	}
	// A second rotation retires the first key.
	if err := p.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	getJSON(t, p.URL()+"/jwks", &keys)
	if len(keys.Key(keyID(t, before))) != 0 {
		t.Error("the key two rotations ago is still published")
	}
}

func TestDown(t *testing.T) {
	p, _ := start(t, oidctest.Options{})
	paths := []string{"/.well-known/openid-configuration", "/jwks", "/authorize", "/userinfo"}
	status := func(path string) int {
		resp, err := noRedirects.Get(p.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p.Down(true)
	for _, path := range append(paths, "/token") {
		if got := status(path); got != http.StatusServiceUnavailable {
			t.Errorf("GET %s while down: %d, want 503", path, got)
		}
	}
	resp, err := http.PostForm(p.URL()+"/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /token while down: %d, want 503", resp.StatusCode)
	}
	p.Down(false)
	if got := status(paths[0]); got != http.StatusOK {
		t.Errorf("discovery after Down(false): %d", got)
	}
}

// A user leaving a group shows in the next token.
func TestSetGroups(t *testing.T) {
	p, _ := start(t, oidctest.Options{AutoLogin: "alice"})
	if err := p.SetGroups("alice", nil); err != nil {
		t.Fatal(err)
	}
	c, err := verifyIDToken(t, p, autoIDToken(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if c.Groups == nil || len(c.Groups) != 0 {
		t.Errorf("groups = %#v, want an empty list", c.Groups)
	}
	if err := p.SetGroups("nobody", nil); err == nil {
		t.Error("SetGroups of an unknown user: no error")
	}
}

func TestGroupsOnlyInUserinfo(t *testing.T) {
	p, _ := start(t, oidctest.Options{AutoLogin: "bob", GroupsOnlyInUserinfo: true, GroupsClaim: "roles"})
	conf := oauthConfig(t, p, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(context.Background(), autoCode(t, p, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.Extra("id_token").(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var inToken map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&inToken); err != nil {
		t.Fatal(err)
	}
	if _, ok := inToken["roles"]; ok {
		t.Errorf("the ID token carries groups: %v", inToken)
	}
	resp, err := conf.Client(context.Background(), tok).Get(p.URL() + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct{ Roles []string }
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"net-viewers"}, info.Roles); diff != "" {
		t.Errorf("userinfo groups (-want +got):\n%s", diff)
	}
}

func TestUserinfoRefusesBadTokens(t *testing.T) {
	p, clock := start(t, oidctest.Options{AutoLogin: "alice"})
	conf := oauthConfig(t, p, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(context.Background(), autoCode(t, p, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	for name, header := range map[string]string{
		"none": "", "unknown": "Bearer made-up", "not bearer": "Basic " + tok.AccessToken,
	} {
		req, _ := http.NewRequest(http.MethodGet, p.URL()+"/userinfo", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %s, want 401 with WWW-Authenticate", name, resp.Status)
		}
	}
	clock.Advance(5 * time.Minute)
	req, _ := http.NewRequest(http.MethodGet, p.URL()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired access token: %s, want 401", resp.Status)
	}
}

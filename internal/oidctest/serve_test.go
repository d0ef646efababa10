package oidctest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// New's handler mounted under a path of another server (the console's
// demo can serve the provider itself): every endpoint lives under it.
func TestNewMountedUnderAPath(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p, h := oidctest.New(oidctest.Options{
		URL:          srv.URL + "/idp/",
		RedirectURLs: []string{redirectURL},
		Users:        []oidctest.User{{Subject: "s1", Username: "carol", Password: "carol-pw"}},
		AutoLogin:    "carol",
	})
	mux.Handle("/idp/", h)
	if p.URL() != srv.URL+"/idp" {
		t.Errorf("URL() = %q, want %q", p.URL(), srv.URL+"/idp")
	}
	d := discover(t, p)
	if d.Issuer != srv.URL+"/idp" || d.TokenEndpoint != srv.URL+"/idp/token" || d.JWKSURI != srv.URL+"/idp/jwks" {
		t.Errorf("discovery under /idp: %+v", d)
	}
	conf := oauthConfig(t, p, oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	resp, err := noRedirects.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	q := redirectQuery(t, resp)
	tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	c, err := verifyIDToken(t, p, tok.Extra("id_token").(string))
	if err != nil || c.Subject != "s1" || c.Issuer != p.URL() {
		t.Errorf("ID token: sub %q iss %q err %v", c.Subject, c.Issuer, err)
	}
	for _, path := range []string{"/jwks", "/idpx/jwks", "/idp", "/idp/"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestNewNeedsURL(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("New without a URL did not panic")
		}
	}()
	oidctest.New(oidctest.Options{})
}

func TestServe(t *testing.T) {
	p, err := oidctest.Serve("127.0.0.1:0", oidctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") || p.ClientSecret() == "" || p.ClientID() != "vpcep-console" {
		t.Errorf("URL %q, client %q: want a local URL, the default client and a generated secret", p.URL(), p.ClientID())
	}
	if d := discover(t, p); d.Issuer != p.URL() {
		t.Errorf("issuer = %q, want %q", d.Issuer, p.URL())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(p.URL() + "/jwks"); err == nil {
		t.Error("still served after Close")
	}
}

func TestOptionsRefused(t *testing.T) {
	user := oidctest.User{Subject: "s", Username: "u", Password: "p"}
	for name, o := range map[string]oidctest.Options{
		"user without password": {Users: []oidctest.User{{Subject: "s", Username: "u"}}},
		"username twice":        {Users: []oidctest.User{user, {Subject: "t", Username: "u", Password: "p"}}},
		"subject twice":         {Users: []oidctest.User{user, {Subject: "s", Username: "v", Password: "p"}}},
		"AutoLogin not a user":  {Users: []oidctest.User{user}, AutoLogin: "nobody"},
		"relative redirect":     {RedirectURLs: []string{"/cb"}},
		"issuer with a query":   {Issuer: "https://x.test/?a=b"},
	} {
		if _, err := oidctest.Serve("127.0.0.1:0", o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

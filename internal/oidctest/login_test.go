package oidctest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// loginPage opens the login form for a fresh authorization request.
func loginPage(t *testing.T, p *oidctest.Provider) (*http.Response, *goquery.Document) {
	t.Helper()
	resp, err := noRedirects.Get(p.URL() + "/authorize?" + authorizeParams(oauth2.GenerateVerifier()).Encode())
	if err != nil {
		t.Fatal(err)
	}
	return resp, readPage(t, resp, http.StatusOK)
}

// submit posts the login form of doc with these fields.
func submit(t *testing.T, doc *goquery.Document, username, password, action string) *http.Response {
	t.Helper()
	form := doc.Find(`form[data-testid="login-form"]`)
	fields := url.Values{"username": {username}, "password": {password}, "action": {action}}
	form.Find(`input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		fields.Set(s.AttrOr("name", ""), s.AttrOr("value", ""))
	})
	resp, err := noRedirects.PostForm(form.AttrOr("action", ""), fields)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// checkStrictPage checks what a strict CSP and an accessibility checker
// need: no script or style of any kind, a language, a title, a heading,
// every field labelled.
func checkStrictPage(t *testing.T, resp *http.Response, doc *goquery.Document) {
	t.Helper()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want default-src 'none'", csp)
	}
	if n := doc.Find("script, style, [style]").Length(); n > 0 {
		t.Errorf("%d script or style elements or attributes", n)
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("inline handler %s on <%s>", a.Key, goquery.NodeName(s))
			}
		}
	})
	if lang, _ := doc.Find("html").Attr("lang"); lang == "" {
		t.Error("no lang on <html>")
	}
	if strings.TrimSpace(doc.Find("title").Text()) == "" || doc.Find("main h1").Length() != 1 {
		t.Error("want a title and one h1 in main")
	}
	doc.Find(`input:not([type="hidden"])`).Each(func(_ int, s *goquery.Selection) {
		id := s.AttrOr("id", "")
		if id == "" || doc.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("input %q has no label", s.AttrOr("name", ""))
		}
	})
}

func TestLoginForm(t *testing.T) {
	p, _ := start(t, oidctest.Options{})
	resp, doc := loginPage(t, p)
	checkStrictPage(t, resp, doc)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://console.test") {
		t.Errorf("Content-Security-Policy = %q, want the form allowed to end at the client", csp)
	}
	for sel, want := range map[string]string{
		`[data-testid="login-username"]`: "username",
		`[data-testid="login-password"]`: "current-password",
	} {
		if got := doc.Find(sel).AttrOr("autocomplete", ""); got != want {
			t.Errorf("%s autocomplete = %q, want %q", sel, got, want)
		}
	}

	t.Run("wrong password", func(t *testing.T) {
		resp := submit(t, doc, "alice", "bob-pw-3Zk", "login")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %s, want 401", resp.Status)
		}
		if bytes.Contains(body, []byte("bob-pw-3Zk")) {
			t.Error("the page repeats the password")
		}
		again, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		checkStrictPage(t, resp, again)
		if again.Find(`[role="alert"][data-testid="login-error"]`).Length() != 1 {
			t.Error("no error announced with role=alert")
		}
		user := again.Find(`[data-testid="login-username"]`)
		if user.AttrOr("value", "") != "alice" || user.AttrOr("aria-invalid", "") != "true" || user.AttrOr("aria-describedby", "") != "login-error" {
			t.Errorf("username field after an error: %v", user.Nodes[0].Attr)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		resp := submit(t, doc, "mallory", "alice-pw-7Qx", "login")
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %s, want 401", resp.Status)
		}
	})
	t.Run("right password after a wrong one", func(t *testing.T) {
		if q := redirectQuery(t, submit(t, doc, "alice", "alice-pw-7Qx", "login")); q.Get("code") == "" || q.Get("state") != "st" {
			t.Errorf("redirect query = %v, want a code and the state", q)
		}
	})
	t.Run("the same form again", func(t *testing.T) {
		readPage(t, submit(t, doc, "alice", "alice-pw-7Qx", "login"), http.StatusBadRequest)
	})
}

func TestLoginCancelled(t *testing.T) {
	p, _ := start(t, oidctest.Options{})
	_, doc := loginPage(t, p)
	q := redirectQuery(t, submit(t, doc, "", "", "cancel"))
	if q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Get("code") != "" {
		t.Errorf("redirect query = %v, want access_denied with the state", q)
	}
}

func TestLoginFormExpires(t *testing.T) {
	p, clock := start(t, oidctest.Options{})
	_, doc := loginPage(t, p)
	clock.Advance(oidctest.LoginLifetime)
	readPage(t, submit(t, doc, "alice", "alice-pw-7Qx", "login"), http.StatusBadRequest)
}

func TestErrorPageIsStrict(t *testing.T) {
	p, _ := start(t, oidctest.Options{})
	resp, err := noRedirects.Get(p.URL() + "/authorize?client_id=other")
	if err != nil {
		t.Fatal(err)
	}
	checkStrictPage(t, resp, readPage(t, resp, http.StatusBadRequest))
}

// The provider's log names users, never a password, a code, a token or the
// client's secret.
func TestLogHoldsNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	p, _ := start(t, oidctest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	conf := oauthConfig(t, p, oauth2.AuthStyleInParams)
	verifier := oauth2.GenerateVerifier()
	_, doc := loginPage(t, p)
	submit(t, doc, "alice", "wrong-pw-9", "login").Body.Close()
	submit(t, doc, "alice-pw-7Qx", "", "login").Body.Close() // the password in the username field
	resp, err := noRedirects.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	_, doc = pageOf(t, resp)
	q := redirectQuery(t, submit(t, doc, "alice", "alice-pw-7Qx", "login"))
	tok, err := conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	if !strings.Contains(got, "alice") {
		t.Fatalf("the log does not name the user:\n%s", got)
	}
	for name, secret := range map[string]string{
		"password": "alice-pw-7Qx", "wrong password": "wrong-pw-9", "code": q.Get("code"),
		"access token": tok.AccessToken, "ID token": tok.Extra("id_token").(string),
		"client secret": p.ClientSecret(), "verifier": verifier,
	} {
		if strings.Contains(got, secret) {
			t.Errorf("the log holds the %s:\n%s", name, got)
		}
	}
}

func pageOf(t *testing.T, resp *http.Response) (*http.Response, *goquery.Document) {
	t.Helper()
	return resp, readPage(t, resp, http.StatusOK)
}

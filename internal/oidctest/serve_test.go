package oidctest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

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

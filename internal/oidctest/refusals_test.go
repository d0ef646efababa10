package oidctest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// authorizeParams is a valid authorization request for verifier.
func authorizeParams(verifier string) url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {"console"},
		"redirect_uri":          {redirectURL},
		"scope":                 {"openid profile email"},
		"state":                 {"st"},
		"nonce":                 {"nc"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
}

// autoCode gets a code from a provider started with AutoLogin.
func autoCode(t *testing.T, p *oidctest.Provider, verifier string) string {
	t.Helper()
	resp, err := noRedirects.Get(p.URL() + "/authorize?" + authorizeParams(verifier).Encode())
	if err != nil {
		t.Fatal(err)
	}
	q := redirectQuery(t, resp)
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	return q.Get("code")
}

// tokenRequest is a raw request to the token endpoint.
type tokenRequest struct {
	form                url.Values
	basicUser, basicPwd string // Basic when basicUser is set
}

// post sends r and returns the status and the error code of the answer.
func (r tokenRequest) post(t *testing.T, p *oidctest.Provider) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.URL()+"/token", strings.NewReader(r.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(r.basicUser), url.QueryEscape(r.basicPwd))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && body.IDToken == "" {
		t.Errorf("200 without an ID token")
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	return resp.StatusCode, body.Error
}

func TestTokenRefusals(t *testing.T) {
	const secret = "s3cret/with:odd chars"
	tests := []struct {
		name       string
		change     func(r *tokenRequest, clock *testClock)
		wantStatus int
		wantError  string
	}{
		{"valid, basic", func(r *tokenRequest, _ *testClock) {}, 200, ""},
		{"valid, post", func(r *tokenRequest, _ *testClock) {
			r.basicUser = ""
			r.form.Set("client_id", "console")
			r.form.Set("client_secret", secret)
		}, 200, ""},
		{"wrong secret, basic", func(r *tokenRequest, _ *testClock) { r.basicPwd = "nope" }, 401, "invalid_client"},
		{"wrong secret, post", func(r *tokenRequest, _ *testClock) {
			r.basicUser = ""
			r.form.Set("client_id", "console")
			r.form.Set("client_secret", "nope")
		}, 401, "invalid_client"},
		{"unknown client", func(r *tokenRequest, _ *testClock) { r.basicUser = "other" }, 401, "invalid_client"},
		{"no client authentication", func(r *tokenRequest, _ *testClock) { r.basicUser = "" }, 401, "invalid_client"},
		{"two client authentications", func(r *tokenRequest, _ *testClock) { r.form.Set("client_secret", secret) }, 400, "invalid_request"},
		{"another grant type", func(r *tokenRequest, _ *testClock) { r.form.Set("grant_type", "refresh_token") }, 400, "unsupported_grant_type"},
		{"unknown code", func(r *tokenRequest, _ *testClock) { r.form.Set("code", "made-up") }, 400, "invalid_grant"},
		{"expired code", func(r *tokenRequest, c *testClock) { c.Advance(oidctest.CodeLifetime) }, 400, "invalid_grant"},
		{"no code_verifier", func(r *tokenRequest, _ *testClock) { r.form.Del("code_verifier") }, 400, "invalid_grant"},
		{"another code_verifier", func(r *tokenRequest, _ *testClock) {
			r.form.Set("code_verifier", oauth2.GenerateVerifier())
		}, 400, "invalid_grant"},
		{"the challenge as verifier (plain)", func(r *tokenRequest, _ *testClock) {
			r.form.Set("code_verifier", oauth2.S256ChallengeFromVerifier(r.form.Get("code_verifier")))
		}, 400, "invalid_grant"},
		{"another redirect_uri", func(r *tokenRequest, _ *testClock) { r.form.Set("redirect_uri", redirectURL+"/x") }, 400, "invalid_grant"},
		{"no redirect_uri", func(r *tokenRequest, _ *testClock) { r.form.Del("redirect_uri") }, 400, "invalid_grant"},
	}
	// One provider (key generation is slow); each case has its own code
	// and puts the clock back.
	p, clock := start(t, oidctest.Options{AutoLogin: "alice"})
	started := clock.Now()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer clock.Set(started)
			verifier := oauth2.GenerateVerifier()
			r := tokenRequest{
				form: url.Values{
					"grant_type":    {"authorization_code"},
					"code":          {autoCode(t, p, verifier)},
					"redirect_uri":  {redirectURL},
					"code_verifier": {verifier},
				},
				basicUser: "console", basicPwd: secret,
			}
			tt.change(&r, clock)
			status, code := r.post(t, p)
			if status != tt.wantStatus || code != tt.wantError {
				t.Errorf("token endpoint answered %d %q, want %d %q", status, code, tt.wantStatus, tt.wantError)
			}
		})
	}
}

// A refused redemption still spends the code: a stolen code cannot be
// tried against verifiers.
func TestCodeSpentByARefusedRedemption(t *testing.T) {
	p, _ := start(t, oidctest.Options{AutoLogin: "alice"})
	verifier := oauth2.GenerateVerifier()
	r := tokenRequest{
		form: url.Values{"grant_type": {"authorization_code"}, "code": {autoCode(t, p, verifier)},
			"redirect_uri": {redirectURL}, "code_verifier": {oauth2.GenerateVerifier()}},
		basicUser: "console", basicPwd: p.ClientSecret(),
	}
	if status, _ := r.post(t, p); status != http.StatusBadRequest {
		t.Fatalf("wrong verifier: %d, want 400", status)
	}
	r.form.Set("code_verifier", verifier)
	if status, code := r.post(t, p); code != "invalid_grant" {
		t.Errorf("right verifier after a wrong one: %d %q, want invalid_grant", status, code)
	}
	if n := p.TokenRequests(); n != 2 {
		t.Errorf("TokenRequests() = %d, want 2", n)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	tests := []struct {
		name   string
		change func(q url.Values)
		// wantError is the error sent back to the client; "" means the
		// provider must answer with its own page (400) and not redirect.
		wantError string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "other") }, ""},
		{"repeated parameter", func(q url.Values) { q.Add("scope", "openid") }, ""},
		{"no redirect_uri", func(q url.Values) { q.Del("redirect_uri") }, ""},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://evil.test/cb") }, ""},
		{"redirect_uri with more path", func(q url.Values) { q.Set("redirect_uri", redirectURL+"/more") }, ""},
		{"redirect_uri with a query", func(q url.Values) { q.Set("redirect_uri", redirectURL+"?x=1") }, ""},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "id_token token") }, "unsupported_response_type"},
		{"no openid scope", func(q url.Values) { q.Set("scope", "profile email") }, "invalid_scope"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, "invalid_request"},
		{"PKCE plain", func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"PKCE without method", func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request"},
		{"prompt=none without a session", func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	p, _ := start(t, oidctest.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authorizeParams(oauth2.GenerateVerifier())
			tt.change(q)
			resp, err := noRedirects.Get(p.URL() + "/authorize?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantError == "" {
				readPage(t, resp, http.StatusBadRequest)
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Errorf("redirected to %s, want a page", loc)
				}
				return
			}
			got := redirectQuery(t, resp)
			if got.Get("error") != tt.wantError || got.Get("state") != "st" || got.Get("code") != "" {
				t.Errorf("redirect query = %v, want error=%s with the state and no code", got, tt.wantError)
			}
		})
	}
}

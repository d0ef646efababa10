package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// bare sends req with no cookie at all, as a script does.
func bare(a *app, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec
}

func withBearer(method, target, authorization string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", authorization)
	return req
}

// TestTokenReadsPagesAndExports: a script downloads /audit.csv with an API
// token; a bad or revoked token gets one 401, never a redirect (which used
// to loop through /login, growing next= each time); a token cannot change
// anything through a page; the Bearer scheme is case-insensitive.
func TestTokenReadsPagesAndExports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	a.refresh(t)
	viewer := a.account(t, auth.Viewer)
	token, tok, err := a.auth.CreateToken(ctx, viewer, "export script", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/audit.csv", "/audit.json", "/audit", "/endpoints"} {
		for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
			if rec := bare(a, withBearer(http.MethodGet, target, scheme+" "+token)); rec.Code != http.StatusOK {
				t.Errorf("GET %s with %s token: %d → %q", target, scheme, rec.Code, rec.Header().Get("Location"))
			}
		}
	}
	if rec := bare(a, withBearer(http.MethodGet, "/api/v1/audit", "bearer "+token)); rec.Code != http.StatusOK {
		t.Errorf("API with lower-case bearer: %d", rec.Code)
	}
	// The role still holds: a viewer's token does not reach the admin pages.
	if rec := bare(a, withBearer(http.MethodGet, "/admin/accounts", "Bearer "+token)); rec.Code != http.StatusForbidden {
		t.Errorf("a viewer's token on /admin/accounts: %d", rec.Code)
	}

	// A change through a page needs the session and its CSRF token.
	for _, target := range []string{"/endpoints/refresh", "/logout", "/login", "/account/password"} {
		req := withBearer(http.MethodPost, target, "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Body = http.NoBody
		if rec := bare(a, req); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s with a token: %d", target, rec.Code)
		}
	}
	if n := countRows(t, a, `SELECT count(*) FROM inventory_refreshes`); n != 1 {
		t.Errorf("%d refreshes: a token's page POST refreshed", n)
	}

	if _, err := a.auth.RevokeToken(ctx, tok.ID, 0); err != nil {
		t.Fatal(err)
	}
	for name, authz := range map[string]string{
		"revoked": "Bearer " + token, "unknown": "Bearer vpcep_nothing", "empty": "Bearer ", "basic": "Basic dXNlcjpwYXNz",
	} {
		for _, target := range []string{"/audit.csv", "/login", "/login?next=/audit.csv", "/endpoints", "/api/v1/audit"} {
			rec := bare(a, withBearer(http.MethodGet, target, authz))
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("Location") != "" || rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s token on %s: %d → %q", name, target, rec.Code, rec.Header().Get("Location"))
			}
		}
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'api_token_rejected'`); n == 0 {
		t.Error("rejected tokens are not security events")
	}
	// Signed out, a page leads to sign-in and back, and sign-in never leads to itself.
	if rec := bare(a, httptest.NewRequest(http.MethodGet, "/audit.csv", nil)); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Faudit.csv" {
		t.Errorf("signed out: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
	signedIn := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Viewer))
	for _, next := range []string{"/login", "/login?next=/login", "/%2f/evil.example", "//evil.example", "/%09/evil.example", "/\t/evil.example"} {
		rec := signedIn.send(httptest.NewRequest(http.MethodGet, "/login?next="+url.QueryEscape(next), nil), nil)
		// Input validation may refuse a control character outright (400);
		// whatever gets through must lead to /endpoints.
		if loc := rec.Header().Get("Location"); loc != "/endpoints" && (rec.Code != http.StatusBadRequest || loc != "") {
			t.Errorf("signed in, /login?next=%q: %d → %q", next, rec.Code, loc)
		}
	}
}

// TestTokenGuessingIsThrottledPerAddress: past the cap of bad tokens from
// one address in an hour, tokens from it are not even looked up (429 with
// Retry-After), while another address is unaffected.
func TestTokenGuessingIsThrottledPerAddress(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	token, _, err := a.auth.CreateToken(context.Background(), a.account(t, auth.Viewer), "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	guess := func(remote, tok string) *httptest.ResponseRecorder {
		req := withBearer(http.MethodGet, "/api/v1/audit", "Bearer "+tok)
		req.RemoteAddr = remote + ":5000"
		return bare(a, req)
	}
	for i := range auth.MaxTokenFailuresPerAddress {
		if rec := guess("198.51.100.7", fmt.Sprintf("vpcep_guess%d", i)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	for _, tok := range []string{"vpcep_another_guess", token} {
		rec := guess("198.51.100.7", tok)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "too_many_requests") {
			t.Errorf("past the cap: %d %q %.200s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
		}
	}
	if rec := guess("198.51.100.8", token); rec.Code != http.StatusOK {
		t.Errorf("another address: %d", rec.Code)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'api_token_throttled'`); n == 0 {
		t.Error("throttled token guesses are not security events")
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'api_token_rejected' AND client_ip = '198.51.100.7'`); n != auth.MaxTokenFailuresPerAddress {
		t.Errorf("%d rejected-token events, want %d", n, auth.MaxTokenFailuresPerAddress)
	}
}

// newTokenFlow creates a token through a page's form and follows the
// redirect as a browser does; it returns the token the page showed.
func newTokenFlow(t *testing.T, a *app, post, page string) string {
	t.Helper()
	r := a.do(t, http.MethodPost, post, url.Values{"name": {"laptop"}, "expires_days": {"30"}}, nil)
	if r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), page+"?") {
		t.Fatalf("create token: %d → %q %s", r.Code, r.Header().Get("Location"), r.text(testid("form-error")))
	}
	shown := a.get(t, page)
	token := shown.text(testid("new-token-value"))
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("%s does not show the new token: %q", page, token)
	}
	if copyButton := shown.doc.Find(testid("new-token") + ` button.copy[type="button"]`); copyButton.AttrOr("data-copy", "") != token {
		t.Errorf("no copy button for the new token")
	}
	// A reload shows nothing new and creates nothing.
	again := a.get(t, page)
	if again.doc.Find(testid("new-token")).Length() != 0 || strings.Contains(again.Body.String(), token) {
		t.Error("a reload showed the token again")
	}
	return token
}

// TestTokenCreationIsPostRedirectGet: a new token is shown once, after a
// redirect, never in a URL or a log; a reload creates nothing. Every role
// makes its own tokens on /account, and those are read-only.
func TestTokenCreationIsPostRedirectGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, role := range []auth.Role{auth.Viewer, auth.Editor, auth.Admin} {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(role))
			a.refresh(t)
			token := newTokenFlow(t, a, "/account/tokens", "/account")
			a.get(t, "/account") // one more reload
			acc, err := a.auth.AccountByName(ctx, a.name)
			if err != nil {
				t.Fatal(err)
			}
			if tokens, _ := a.auth.Tokens(ctx, acc.ID); len(tokens) != 1 || !tokens[0].ReadOnly {
				t.Errorf("want one read-only token, have %d", len(tokens))
			}
			if strings.Contains(a.logs.String(), token) {
				t.Error("the token is in the log")
			}
			bearer := &app{handler: a.handler, cookies: map[string]string{}}
			header := map[string]string{"Authorization": "Bearer " + token}
			if r := bearer.api(t, "GET", "/api/v1/endpoints", "", header); r.code != http.StatusOK {
				t.Errorf("the token cannot read: %d", r.code)
			}
			ep := a.sim.Gateway(t, 2)
			if r := bearer.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", `{"policy_statement": [], "reason": "x"}`, header); r.code != http.StatusForbidden {
				t.Errorf("a read-only token changed a policy: %d %s", r.code, r.raw)
			}
			// Another browser of the same account does not see it.
			other := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
			other.signIn(t, a.name)
			if r := other.get(t, "/account"); r.doc.Find(testid("new-token")).Length() != 0 {
				t.Error("another session saw the new token")
			}
		})
	}
	t.Run("admin for an account", func(t *testing.T) {
		t.Parallel()
		a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
		editor := a.account(t, auth.Editor)
		token := newTokenFlow(t, a, "/admin/accounts/"+editor+"/tokens", "/admin/accounts")
		if tokens, _ := a.auth.Tokens(ctx, 0); len(tokens) != 1 || tokens[0].ReadOnly {
			t.Errorf("want one token acting with the account's role, have %d", len(tokens))
		}
		if strings.Contains(a.logs.String(), token) {
			t.Error("the token is in the log")
		}
	})
}

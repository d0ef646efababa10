package vpcepsim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const iamPassword = "s3cret-Password"

func newIAMServer(t *testing.T) (*Server, *httptest.Server, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
	s := New(Options{ProjectID: testProject, Token: testToken, Now: clock.Now, IAM: IAMOptions{
		Users:         []IAMUser{{Name: "console", Password: iamPassword, Domain: "acme"}},
		ProjectName:   "cn-north-4",
		TokenLifetime: 2 * time.Second,
	}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv, clock
}

func passwordBody(name, password, domain, scope string) string {
	return fmt.Sprintf(`{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":%q,"password":%q,"domain":{"name":%q}}}},"scope":{"project":%s}}}`,
		name, password, domain, scope)
}

func TestIAMIssuesProjectScopedTokens(t *testing.T) {
	t.Parallel()
	s, srv, clock := newIAMServer(t)
	a := call(t, srv, http.MethodPost, "/v3/auth/tokens?nocatalog=true", passwordBody("console", iamPassword, "acme", `{"id":"p1"}`), map[string]string{"X-Auth-Token": ""})
	if a.status != http.StatusCreated {
		t.Fatalf("POST /v3/auth/tokens = %d %s", a.status, a.raw)
	}
	tok := a.header.Get("X-Subject-Token")
	if tok == "" {
		t.Fatal("no X-Subject-Token in the answer")
	}
	token, _ := a.body["token"].(map[string]any)
	project, _ := token["project"].(map[string]any)
	user, _ := token["user"].(map[string]any)
	if token["expires_at"] != "2026-11-27T12:00:02.000000Z" || token["issued_at"] != "2026-11-27T12:00:00.000000Z" ||
		project["id"] != testProject || project["name"] != "cn-north-4" || user["name"] != "console" {
		t.Errorf("token body = %s", a.raw)
	}
	if strings.Contains(a.raw, iamPassword) {
		t.Error("the answer holds the password")
	}

	// The token opens the VPCEP API, and IAM validates it.
	if got := call(t, srv, http.MethodGet, "/v1/p1/vpc-endpoints", "", map[string]string{"X-Auth-Token": tok}); got.status != http.StatusOK {
		t.Fatalf("list with the IAM token = %d %s", got.status, got.raw)
	}
	v := call(t, srv, http.MethodGet, "/v3/auth/tokens", "", map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok})
	if v.status != http.StatusOK || v.header.Get("X-Subject-Token") != tok || !strings.Contains(v.raw, `"expires_at":"2026-11-27T12:00:02.000000Z"`) {
		t.Errorf("validate = %d %s", v.status, v.raw)
	}

	// Past its lifetime it is refused as the gateway refuses an expired token.
	clock.Advance(2 * time.Second)
	got := call(t, srv, http.MethodGet, "/v1/p1/vpc-endpoints", "", map[string]string{"X-Auth-Token": tok})
	if got.status != http.StatusUnauthorized || got.body["error_code"] != "APIGW.0301" || got.body["request_id"] == "" ||
		!strings.Contains(fmt.Sprint(got.body["error_msg"]), "token expired") {
		t.Errorf("list with an expired token = %d %s", got.status, got.raw)
	}
	if v := call(t, srv, http.MethodGet, "/v3/auth/tokens", "", map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok}); v.status != http.StatusUnauthorized {
		t.Errorf("validate an expired token = %d %s", v.status, v.raw)
	}

	// The fixed token still works; the token calls were not recorded.
	if got := call(t, srv, http.MethodGet, "/v1/p1/vpc-endpoints", "", nil); got.status != http.StatusOK {
		t.Errorf("list with the fixed token = %d %s", got.status, got.raw)
	}
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/v3/") {
			t.Errorf("IAM request %s %s recorded", r.Method, r.Path)
		}
	}
	if s.TokensIssued() != 1 {
		t.Errorf("TokensIssued = %d, want 1", s.TokensIssued())
	}
}

func TestIAMRefusals(t *testing.T) {
	t.Parallel()
	s, srv, _ := newIAMServer(t)
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"wrong password", passwordBody("console", "nope", "acme", `{"id":"p1"}`), http.StatusUnauthorized},
		{"wrong domain", passwordBody("console", iamPassword, "other", `{"id":"p1"}`), http.StatusUnauthorized},
		{"unknown user", passwordBody("someone", iamPassword, "acme", `{"id":"p1"}`), http.StatusUnauthorized},
		{"other project", passwordBody("console", iamPassword, "acme", `{"id":"p2"}`), http.StatusBadRequest},
		{"scoped by name", passwordBody("console", iamPassword, "acme", `{"name":"cn-north-4"}`), http.StatusCreated},
		{"not JSON", "{", http.StatusBadRequest},
	}
	for _, tt := range tests {
		a := call(t, srv, http.MethodPost, "/v3/auth/tokens", tt.body, map[string]string{"X-Auth-Token": ""})
		if a.status != tt.status {
			t.Errorf("%s: status %d %s, want %d", tt.name, a.status, a.raw, tt.status)
		}
		if a.status >= 400 {
			if e, _ := a.body["error"].(map[string]any); e["message"] == nil {
				t.Errorf("%s: error body %s", tt.name, a.raw)
			}
		}
	}
	if s.TokensIssued() != 1 {
		t.Errorf("TokensIssued = %d, want 1", s.TokensIssued())
	}
	if a := call(t, srv, http.MethodGet, "/v1/p1/vpc-endpoints", "", map[string]string{"X-Auth-Token": "MIIsim-never-issued"}); a.status != http.StatusUnauthorized {
		t.Errorf("an unknown token = %d", a.status)
	}
}

func TestExpireTokens(t *testing.T) {
	t.Parallel()
	s, srv, _ := newIAMServer(t)
	a := call(t, srv, http.MethodPost, "/v3/auth/tokens", passwordBody("console", iamPassword, "acme", `{"id":"p1"}`), nil)
	tok := a.header.Get("X-Subject-Token")
	s.ExpireTokens()
	if got := call(t, srv, http.MethodGet, "/v1/p1/vpc-endpoints", "", map[string]string{"X-Auth-Token": tok}); got.status != http.StatusUnauthorized {
		t.Errorf("after ExpireTokens = %d %s", got.status, got.raw)
	}
}

// TestIAMPrunesExpiredTokens: issuing a token forgets the expired ones
// (the map does not grow over a long demo), while IssuedTokens still lists
// them for leak checks.
func TestIAMPrunesExpiredTokens(t *testing.T) {
	t.Parallel()
	s, srv, clock := newIAMServer(t)
	body := passwordBody("console", iamPassword, "acme", `{"id":"`+testProject+`"}`)
	for range 3 {
		if a := call(t, srv, http.MethodPost, "/v3/auth/tokens", body, map[string]string{"X-Auth-Token": ""}); a.status != http.StatusCreated {
			t.Fatalf("POST /v3/auth/tokens = %d %s", a.status, a.raw)
		}
		clock.Advance(3 * time.Second) // past the 2 s lifetime
	}
	s.iam.mu.Lock()
	held := len(s.iam.tokens)
	s.iam.mu.Unlock()
	if held != 1 {
		t.Errorf("IAM holds %d tokens, want 1 (the expired ones pruned)", held)
	}
	if n := len(s.IssuedTokens()); n != 3 {
		t.Errorf("IssuedTokens lists %d, want 3", n)
	}
}

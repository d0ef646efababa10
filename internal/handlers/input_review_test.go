package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// A client's mistake is answered and logged as one: never at ERROR, which
// is for outages a person must look at.
func TestClientErrorsAreNotLoggedAsErrors(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for target, want := range map[string]int{
		"/audit/424242":                     http.StatusNotFound,
		"/audit/9223372036854775807":        http.StatusNotFound,
		"/audit?cursor=AAAA":                http.StatusBadRequest,
		"/api/v1/audit?cursor=eyJ9":         http.StatusBadRequest,
		"/api/v1/audit/9223372036854775807": http.StatusNotFound,
		"/endpoints/8db95241-69a4-42e5-ae95-0000000000ff/policy/edit": http.StatusNotFound,
	} {
		rec := a.send(httptest.NewRequest(http.MethodGet, target, nil), nil)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", target, rec.Code, want)
		}
	}
	if logs := a.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("client errors logged at ERROR:\n%s", logs)
	}
}

// A proxy's request id is kept when it looks like one; anything else (bad
// bytes, a huge value) is replaced, in the answer and in the log.
func TestRequestIDsFromOutsideAreChecked(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	fresh := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, tt := range []struct {
		sent string
		kept bool
	}{
		{"proxy-7f3a.9:1", true},
		{"FORGED-\xff-yyyy", false},
		{strings.Repeat("x", 100<<10), false},
		{"two words", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/endpoints", nil)
		req.Header.Set("X-Request-Id", tt.sent)
		got := a.send(req, nil).Header().Get("X-Request-Id")
		switch {
		case tt.kept && got != tt.sent:
			t.Errorf("%.20q: answered %q, want it kept", tt.sent, got)
		case !tt.kept && !fresh.MatchString(got):
			t.Errorf("%.20q: answered %.40q, want a fresh id", tt.sent, got)
		}
	}
	if logs := a.logs.String(); strings.Contains(logs, "FORGED") || strings.Contains(logs, strings.Repeat("x", 100)) {
		t.Error("a refused request id reached the log")
	}
}

// VPCEP ids are lower-case UUIDs: an upper-case one is no endpoint's, and
// never reaches the upstream.
func TestUpperCaseEndpointIDsStayHere(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	id := strings.ToUpper(a.sim.Gateway(t, 2).ID)
	before := len(a.sim.Requests())
	for _, target := range []string{"/endpoints/" + id, "/api/v1/endpoints/" + id} {
		if rec := a.send(httptest.NewRequest(http.MethodGet, target, nil), nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", target, rec.Code)
		}
	}
	if n := len(a.sim.Requests()) - before; n != 0 {
		t.Errorf("%d upstream calls for an upper-case id", n)
	}
}

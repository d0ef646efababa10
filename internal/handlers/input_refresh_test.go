package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestRefreshIsThrottledAndCoalesced: a viewer pressing Refresh 30 times
// at once causes one upstream listing; the rest get 429 with Retry-After,
// and another account's press moments later reuses that refresh.
func TestRefreshIsThrottledAndCoalesced(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Viewer))
	// Windows longer than the test may take on a loaded machine (30 presses
	// took over 10 s there, and the 11th was rightly let through).
	const window = time.Minute
	a.refresher.SetManualLimits(window, window)
	listings := func() int {
		n := 0
		for _, r := range a.sim.Requests() {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/vpc-endpoints") {
				n++
			}
		}
		return n
	}
	throttled := 0
	for i := range 30 {
		r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, htmx())
		switch {
		case i == 0 && r.Code != http.StatusOK:
			t.Fatalf("first press: %d", r.Code)
		case i > 0 && r.Code == http.StatusTooManyRequests:
			throttled++
			if s, err := strconv.Atoi(r.Header().Get("Retry-After")); err != nil || s < 1 || s > int(window/time.Second) {
				t.Errorf("Retry-After %q", r.Header().Get("Retry-After"))
			}
		case i > 0:
			t.Errorf("press %d: %d", i, r.Code)
		}
	}
	if throttled != 29 || listings() != 1 {
		t.Errorf("%d throttled, %d upstream listings; want 29 and 1", throttled, listings())
	}
	a.signIn(t, a.account(t, auth.Viewer))
	r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, htmx())
	if r.Code != http.StatusOK || !strings.Contains(r.Body.String(), "refreshed moments ago") || listings() != 1 {
		t.Errorf("another account's press: %d, %d listings", r.Code, listings())
	}
}

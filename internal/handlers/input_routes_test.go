package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// Every route on one endpoint checks its id before anything else: an id
// that is not a VPCEP id (a lower-case UUID) is answered 404, naming the id
// in the API, and never reaches the upstream.
func TestEveryEndpointRouteChecksTheID(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	before := len(a.sim.Requests())
	for _, id := range []string{"not-an-id", "8DB95241-69A4-42E5-AE95-0000000000FF", "8db95241-69a4-42e5-ae95-0000000000ff0"} {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/endpoints/%s"},
			{http.MethodGet, "/endpoints/%s/history"},
			{http.MethodGet, "/endpoints/%s/policy/edit"},
			{http.MethodPost, "/endpoints/%s/policy/edit"},
			{http.MethodPost, "/endpoints/%s/policy/preview"},
			{http.MethodPost, "/endpoints/%s/policy"},
		} {
			target := fmt.Sprintf(r.path, id)
			var form url.Values
			if r.method == http.MethodPost {
				form = url.Values{"reason": {"x"}}
			}
			if got := a.do(t, r.method, target, form, nil); got.Code != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", r.method, target, got.Code)
			}
		}
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/endpoints/%s"},
			{http.MethodPut, "/api/v1/endpoints/%s/policy"},
		} {
			target := fmt.Sprintf(r.path, id)
			got := a.api(t, r.method, target, `{}`, nil)
			if got.code != http.StatusNotFound || got.errField("code") != "not_found" || got.errField("field") != "id" {
				t.Errorf("%s %s: %d %s, want 404 not_found on the id", r.method, target, got.code, got.raw)
			}
		}
	}
	if n := len(a.sim.Requests()) - before; n != 0 {
		t.Errorf("%d upstream calls for ids that are not VPCEP ids", n)
	}
}

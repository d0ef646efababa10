package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

func TestRootRedirectsToEndpoints(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	r := a.get(t, "/")
	if r.Code != http.StatusFound || r.Header().Get("Location") != "/endpoints" {
		t.Fatalf("GET / = %d %q", r.Code, r.Header().Get("Location"))
	}
}

func TestListEndpoints(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)
	all := a.sim.Endpoints()
	count := func(keep func(*vpcepsim.Endpoint) bool) int {
		n := 0
		for _, ep := range all {
			if keep(ep) {
				n++
			}
		}
		return n
	}
	vpc := all[0].VpcID
	tests := []struct {
		name  string
		query string
		want  int
		check func(t *testing.T, row *goquery.Selection)
	}{
		{"all", "", len(all), nil},
		{"gateway", "type=gateway", count(func(e *vpcepsim.Endpoint) bool { return e.Service.Type == "gateway" }),
			func(t *testing.T, row *goquery.Selection) {
				if got := row.Find("td").Eq(2).Text(); got != "gateway" {
					t.Errorf("row type %q", got)
				}
			}},
		{"failed", "status=failed", count(func(e *vpcepsim.Endpoint) bool { return e.Status == "failed" }),
			func(t *testing.T, row *goquery.Selection) {
				if got := row.Find(testid("endpoint-status")).Text(); got != "failed" {
					t.Errorf("row status %q", got)
				}
			}},
		{"vpc", "vpc=" + vpc, count(func(e *vpcepsim.Endpoint) bool { return e.VpcID == vpc }), nil},
		{"search", "q=SFSTURBO", count(func(e *vpcepsim.Endpoint) bool { return strings.Contains(e.Service.Name, "sfsturbo") }), nil},
		{"search by id", "q=" + all[3].ID, 1, nil},
		{"nothing matches", "q=no-such-thing", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.get(t, "/endpoints?"+tt.query)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			rows := r.doc.Find(testid("endpoint-row"))
			if rows.Length() != tt.want {
				t.Fatalf("%d rows, want %d", rows.Length(), tt.want)
			}
			if tt.check != nil {
				rows.Each(func(_ int, row *goquery.Selection) { tt.check(t, row) })
			}
			if tt.want == 0 && r.doc.Find(testid("empty")).Length() != 1 {
				t.Error("no empty-result message")
			}
		})
	}

	r := a.get(t, "/endpoints?type=gateway&status=accepted")
	if !strings.Contains(r.text(testid("freshness")), "36 endpoints, refreshed") {
		t.Errorf("freshness = %q", r.text(testid("freshness")))
	}
	// The filter form keeps what was chosen.
	if v, _ := r.doc.Find(testid("filter-type") + " option[selected]").Attr("value"); v != "gateway" {
		t.Errorf("type filter shows %q", v)
	}
	if r.doc.Find(testid("filter-vpc")+" option").Length() != 4 { // any + 3 VPCs
		t.Errorf("VPC filter offers %d options", r.doc.Find(testid("filter-vpc")+" option").Length())
	}
}

func TestListPagingKeepsFilters(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), withPerPage(5))
	a.refresh(t)
	r := a.get(t, "/endpoints?type=interface&page=2")
	if got := r.doc.Find(testid("endpoint-row")).Length(); got != 5 {
		t.Fatalf("page 2 has %d rows", got)
	}
	next, _ := r.doc.Find(testid("next-page")).Attr("href")
	prev, _ := r.doc.Find(testid("prev-page")).Attr("href")
	if next != "/endpoints?page=3&type=interface" || prev != "/endpoints?type=interface" {
		t.Errorf("next %q prev %q", next, prev)
	}
	interfaces := 0
	for _, ep := range a.sim.Endpoints() {
		if ep.Service.Type == "interface" {
			interfaces++
		}
	}
	want := fmt.Sprintf("Page 2 of %d · %d endpoints", (interfaces+4)/5, interfaces)
	if r.text(testid("page-info")) != want {
		t.Errorf("page info %q", r.text(testid("page-info")))
	}
	// Pages do not overlap.
	first := a.get(t, "/endpoints?type=interface")
	seen := map[string]bool{}
	for _, resp := range []response{first, r} {
		resp.doc.Find(testid("endpoint-row")).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-endpoint-id")
			if seen[id] {
				t.Errorf("endpoint %s on two pages", id)
			}
			seen[id] = true
		})
	}
}

func TestListHTMXGetsOnlyTheResults(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	r := a.do(t, http.MethodGet, "/endpoints?type=gateway", nil, htmx())
	if r.Code != http.StatusOK || strings.Contains(r.Body.String(), "<html") || r.doc.Find("#endpoint-results").Length() != 1 {
		t.Fatalf("fragment: %d %.200s", r.Code, r.Body.String())
	}
	// A history restore wants the whole page.
	restore := htmx()
	restore.Set("HX-History-Restore-Request", "true")
	if r := a.do(t, http.MethodGet, "/endpoints", nil, restore); !strings.Contains(r.Body.String(), "<html") {
		t.Error("history restore did not get a whole page")
	}
}

func TestListRejectsBadFilters(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	for query, want := range map[string]string{
		"type=router":                   `The type filter must be "gateway" or "interface".`,
		"page=0":                        "The page must be a whole number from 1 up.",
		"page=two":                      "The page must be a whole number from 1 up.",
		"q=" + strings.Repeat("x", 129): "search text is at most 128 characters",
	} {
		r := a.get(t, "/endpoints?"+query)
		if r.Code != http.StatusBadRequest || !strings.Contains(r.text(testid("error-message")), want) {
			t.Errorf("%s: %d %q", query, r.Code, r.text(testid("error-message")))
		}
	}
}

func TestListBeforeFirstRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	r := a.get(t, "/endpoints")
	if r.Code != http.StatusOK || !strings.Contains(r.text(testid("empty")), "has not been loaded") {
		t.Fatalf("%d %q", r.Code, r.text(testid("empty")))
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	form := url.Values{"type": {"gateway"}, "q": {"obs"}, "status": {""}, "vpc": {""}, "page": {"1"}}

	// Without JavaScript: POST, then redirect back to the same filtered list.
	r := a.do(t, http.MethodPost, "/endpoints/refresh", form, nil)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/endpoints?q=obs&type=gateway" {
		t.Fatalf("plain refresh = %d %q", r.Code, r.Header().Get("Location"))
	}
	if got := a.get(t, "/endpoints").doc.Find(testid("endpoint-row")).Length(); got != 36 {
		t.Fatalf("after refresh %d rows", got)
	}

	// An endpoint deleted upstream disappears on the next refresh.
	gone := a.sim.Endpoints()[0]
	a.sim.DeleteEndpoint(gone.ID)

	// With htmx: the results fragment, filtered.
	r = a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{"type": {"gateway"}}, htmx())
	if r.Code != http.StatusOK || strings.Contains(r.Body.String(), "<html") {
		t.Fatalf("htmx refresh = %d", r.Code)
	}
	r.doc.Find(testid("endpoint-row")).Each(func(_ int, s *goquery.Selection) {
		if s.Find("td").Eq(2).Text() != "gateway" {
			t.Error("htmx refresh lost the filter")
		}
	})
	if strings.Contains(a.get(t, "/endpoints").Body.String(), gone.ID) {
		t.Error("deleted endpoint still listed")
	}

	// A failing upstream: the last good list stays, with the failure in plain words.
	a.sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	r = a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, htmx())
	if r.Code != http.StatusOK {
		t.Fatalf("failed refresh = %d", r.Code)
	}
	msg := r.text(testid("refresh-error"))
	for _, want := range []string{"HTTP 500", "EndPoint.0001", "System error. Please retry.", "request id"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refresh error %q lacks %q", msg, want)
		}
	}
	if got := r.doc.Find(testid("endpoint-row")).Length(); got != 35 {
		t.Errorf("after a failed refresh %d rows, want the last good 35", got)
	}
}

func TestShowEndpoint(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	gw := a.sim.Gateway(t, 2)
	r := a.get(t, "/endpoints/"+gw.ID)
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	if got := r.text(testid("endpoint-service")); got != gw.Service.Name {
		t.Errorf("service %q", got)
	}
	rows := r.doc.Find(testid("policy-statement"))
	if rows.Length() != 2 {
		t.Fatalf("%d policy rows", rows.Length())
	}
	if got := rows.Eq(1).Find(testid("statement-effect")).Text(); got != gw.Statements[1].Effect {
		t.Errorf("second effect %q", got)
	}
	if !strings.Contains(r.text(testid("policy-json")), `"Sid": "`+gw.Statements[0].Sid+`"`) {
		t.Errorf("policy JSON: %s", r.text(testid("policy-json")))
	}
	raw := r.text(testid("raw-json"))
	for _, field := range []string{`"enable_status"`, `"specification_name"`, `"routetables"`, `"marker_id"`} {
		if !strings.Contains(raw, field) {
			t.Errorf("raw answer lacks %s", field)
		}
	}
}

func TestShowEndpointFailures(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	id := a.sim.Endpoints()[0].ID

	t.Run("unknown id", func(t *testing.T) {
		r := a.get(t, "/endpoints/00000000-0000-4000-8000-000000000000")
		if r.Code != http.StatusNotFound || r.text(testid("error-heading")) != "Endpoint not found" || r.text(testid("upstream-code")) != "EndPoint.0005" {
			t.Fatalf("%d %q %q", r.Code, r.text(testid("error-heading")), r.text(testid("upstream-code")))
		}
	})
	t.Run("id longer than the API allows", func(t *testing.T) {
		before := len(a.sim.Requests())
		if r := a.get(t, "/endpoints/"+strings.Repeat("a", 65)); r.Code != http.StatusNotFound {
			t.Fatalf("status %d", r.Code)
		}
		if len(a.sim.Requests()) != before {
			t.Error("an impossible id was sent upstream")
		}
	})
	for _, nested := range []bool{false, true} {
		t.Run("upstream 500, nested="+map[bool]string{false: "false", true: "true"}[nested], func(t *testing.T) {
			a.sim.SetNestedErrorBody(nested)
			defer a.sim.ClearFaults()
			// Every attempt fails: the client retries a read that meets a 5xx.
			a.sim.FailRoute(vpcepsim.RouteGet, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
			r := a.get(t, "/endpoints/"+id)
			if r.Code != http.StatusBadGateway || r.text(testid("upstream-status")) != "500" ||
				r.text(testid("upstream-code")) != "EndPoint.0001" || len(r.text(testid("upstream-request-id"))) != 32 {
				t.Fatalf("%d status %q code %q rid %q", r.Code, r.text(testid("upstream-status")), r.text(testid("upstream-code")), r.text(testid("upstream-request-id")))
			}
		})
	}
	t.Run("htmx request gets the error page retargeted", func(t *testing.T) {
		r := a.do(t, http.MethodGet, "/endpoints/00000000-0000-4000-8000-000000000000", nil, htmx())
		if r.Header().Get("HX-Retarget") != "body" {
			t.Errorf("HX-Retarget = %q", r.Header().Get("HX-Retarget"))
		}
	})
}

func TestWrongCredentialsShowAPIGWError(t *testing.T) {
	t.Parallel()
	a := newApp(t, withClient(func(c *vpcep.Config) { c.SK = strings.Repeat("Z", 40) }))
	r := a.get(t, "/endpoints/"+a.sim.Endpoints()[0].ID)
	if r.Code != http.StatusBadGateway {
		t.Fatalf("status %d", r.Code)
	}
	if r.text(testid("error-heading")) != "The VPCEP API rejected the console's credentials" ||
		r.text(testid("upstream-status")) != "401" || r.text(testid("upstream-code")) != "APIGW.0301" ||
		len(r.text(testid("upstream-request-id"))) != 32 || r.text(testid("request-id")) == "" {
		t.Fatalf("error page: %q %q %q %q", r.text(testid("error-heading")), r.text(testid("upstream-status")),
			r.text(testid("upstream-code")), r.text(testid("upstream-request-id")))
	}
	// Neither the page nor the log shows a secret.
	for _, secret := range []string{strings.Repeat("Z", 40), a.sim.SK} {
		if strings.Contains(r.Body.String(), secret) || strings.Contains(a.logs.String(), secret) {
			t.Errorf("secret %q leaked", secret)
		}
	}
}

func TestUnreachableUpstream(t *testing.T) {
	t.Parallel()
	a := newApp(t, withClient(func(c *vpcep.Config) { c.Endpoint = "http://127.0.0.1:1" }))
	r := a.get(t, "/endpoints/"+a.sim.Endpoints()[0].ID)
	if r.Code != http.StatusBadGateway || r.text(testid("error-heading")) != "The VPCEP API could not be reached" ||
		r.text(testid("upstream-status")) != "no answer" {
		t.Fatalf("%d %q %q", r.Code, r.text(testid("error-heading")), r.text(testid("upstream-status")))
	}
}

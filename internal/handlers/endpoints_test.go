package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

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
	// A filtered list says how many of the inventory's endpoints match.
	want := fmt.Sprintf("Page 2 of %d · %d of %d endpoints match", (interfaces+4)/5, interfaces, len(a.sim.Endpoints()))
	if r.text(testid("page-info")) != want {
		t.Errorf("page info %q, want %q", r.text(testid("page-info")), want)
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
	// One page: the count alone, of the inventory's when filtered.
	one := a.sim.Endpoints()[0].ID
	want = fmt.Sprintf("1 of %d endpoints match", len(a.sim.Endpoints()))
	if got := a.get(t, "/endpoints?q="+one).text(testid("page-info")); got != want {
		t.Errorf("one match: page info %q, want %q", got, want)
	}
}

func TestListHTMXGetsOnlyTheResults(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.refresh(t)
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

// Before the first refresh has finished there is no list to show: the page
// and the API say so with 503, rather than an empty list.
func TestListBeforeFirstRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	r := a.get(t, "/endpoints")
	if r.Code != http.StatusServiceUnavailable || r.Header().Get("Retry-After") != "5" ||
		r.text(testid("inventory-error-heading")) != "The endpoint list is being loaded" {
		t.Fatalf("%d %q %q", r.Code, r.Header().Get("Retry-After"), r.text(testid("inventory-error-heading")))
	}
	if r.doc.Find(testid("endpoint-table")).Length() != 0 || r.doc.Find(testid("empty")).Length() != 0 || r.doc.Find(testid("refresh")).Length() != 1 {
		t.Error("want the problem and the Refresh button in place of the table")
	}
	api := a.api(t, "GET", "/api/v1/endpoints", "", nil)
	if api.code != http.StatusServiceUnavailable || api.errField("code") != "inventory_unavailable" {
		t.Fatalf("API: %d %s", api.code, api.raw)
	}
}

// With wrong credentials the inventory never loads: the API answers 503
// inventory_unavailable with the upstream's error, and the page shows that
// error in plain words with its status, code and request id, not an empty
// table.
func TestListWhenTheInventoryNeverLoaded(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), withClient(func(c *vpcep.Config) { c.SK = strings.Repeat("Z", 40) }))
	if err := a.refresher.Refresh(t.Context(), "startup"); err == nil {
		t.Fatal("a refresh with a wrong SK succeeded")
	}

	r := a.api(t, "GET", "/api/v1/endpoints", "", nil)
	if r.code != http.StatusServiceUnavailable || r.errField("code") != "inventory_unavailable" ||
		r.errField("status") != 401.0 || r.errField("upstream_code") != "APIGW.0301" || len(r.errField("request_id").(string)) != 32 {
		t.Fatalf("API: %d %s", r.code, r.raw)
	}
	msg := r.errField("message").(string)
	for _, want := range []string{"could not be loaded from the VPCEP API", "rejected the console's credentials", "tries again every minute"} {
		if !strings.Contains(msg, want) {
			t.Errorf("API message %q lacks %q", msg, want)
		}
	}

	page := a.get(t, "/endpoints")
	if page.Code != http.StatusServiceUnavailable || page.Header().Get("Retry-After") != "60" {
		t.Fatalf("page: %d Retry-After %q", page.Code, page.Header().Get("Retry-After"))
	}
	if page.doc.Find(testid("endpoint-table")).Length() != 0 || page.doc.Find(testid("empty")).Length() != 0 {
		t.Error("the page shows a table or 'no endpoints' for an inventory that never loaded")
	}
	got := map[string]string{
		"heading": page.text(testid("inventory-error-heading")), "status": page.text(testid("upstream-status")),
		"code": page.text(testid("upstream-code")), "request id": page.text(testid("upstream-request-id")),
	}
	want := map[string]string{
		"heading": "The endpoint list could not be loaded from the VPCEP API", "status": "401",
		"code": "APIGW.0301", "request id": r.errField("request_id").(string),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("page mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(page.text(testid("inventory-error-message")), "Check the AK/SK") || page.text(testid("request-id")) == "" {
		t.Errorf("page message %q, console request id %q", page.text(testid("inventory-error-message")), page.text(testid("request-id")))
	}
	// htmx swaps the same problem into the results.
	hx := a.do(t, http.MethodGet, "/endpoints?type=gateway", nil, htmx())
	if hx.Code != http.StatusServiceUnavailable || strings.Contains(hx.Body.String(), "<html") || hx.text(testid("upstream-code")) != "APIGW.0301" {
		t.Errorf("htmx: %d %.300s", hx.Code, hx.Body.String())
	}
	for _, secret := range []string{strings.Repeat("Z", 40), a.sim.SK} {
		if strings.Contains(r.raw+page.Body.String()+a.logs.String(), secret) {
			t.Errorf("secret %.6s... leaked", secret)
		}
	}
}

// When the database holds an inventory and the upstream fails, the list is
// still served, saying it is stale and why.
func TestListWhenTheInventoryIsStale(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t)

	type inventoryState struct {
		State         string     `json:"state"`
		RefreshedAt   *time.Time `json:"refreshed_at"`
		LastAttemptAt *time.Time `json:"last_attempt_at"`
		LastError     *struct {
			Source    string `json:"source"`
			Status    int    `json:"status"`
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"last_error"`
	}
	list := func() (int, int, inventoryState) {
		t.Helper()
		rec := a.send(httptest.NewRequest(http.MethodGet, "/api/v1/endpoints?limit=1000", nil), nil)
		var body struct {
			Endpoints []json.RawMessage `json:"endpoints"`
			Inventory inventoryState    `json:"inventory"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body.String(), err)
		}
		return rec.Code, len(body.Endpoints), body.Inventory
	}

	code, n, inv := list()
	if code != http.StatusOK || n != 36 || inv.State != "fresh" || inv.RefreshedAt == nil || inv.LastError != nil || !inv.LastAttemptAt.Equal(*inv.RefreshedAt) {
		t.Fatalf("fresh: %d, %d endpoints, %+v", code, n, inv)
	}

	a.sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
	if err := a.refresher.Refresh(t.Context(), "schedule"); err == nil {
		t.Fatal("the refresh succeeded against a failing upstream")
	}
	code, n, inv = list()
	if code != http.StatusOK || n != 36 || inv.State != "stale" || inv.LastError == nil || !inv.LastAttemptAt.After(*inv.RefreshedAt) {
		t.Fatalf("stale: %d, %d endpoints, %+v", code, n, inv)
	}
	if e := inv.LastError; e.Source != "upstream" || e.Status != 500 || e.Code != "EndPoint.0001" || e.Message != "System error. Please retry." || len(e.RequestID) != 32 {
		t.Errorf("last_error = %+v", *e)
	}

	page := a.get(t, "/endpoints")
	if page.Code != http.StatusOK || page.doc.Find(testid("endpoint-row")).Length() != 36 {
		t.Fatalf("page: %d, %d rows", page.Code, page.doc.Find(testid("endpoint-row")).Length())
	}
	if state, _ := page.doc.Find(testid("freshness")).Attr("data-state"); state != "stale" || page.doc.Find(testid("stale")).Length() != 1 {
		t.Errorf("freshness state %q, stale mark %d", state, page.doc.Find(testid("stale")).Length())
	}
	got := []string{page.text(testid("refresh-error-status")), page.text(testid("refresh-error-code")), page.text(testid("refresh-error-request-id"))}
	if diff := cmp.Diff([]string{"500", "EndPoint.0001", inv.LastError.RequestID}, got); diff != "" {
		t.Errorf("refresh error mismatch (-want +got):\n%s", diff)
	}
	if msg := page.text(testid("refresh-error")); !strings.Contains(msg, "The VPCEP API failed") {
		t.Errorf("refresh error %q lacks the plain words", msg)
	}

	// The next success makes it fresh again.
	a.sim.ClearFaults()
	a.refresh(t)
	if _, _, inv = list(); inv.State != "fresh" || inv.LastError != nil {
		t.Errorf("after a success: %+v", inv)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	// This test presses Refresh in quick succession to see each upstream
	// change; TestRefreshIsThrottledAndCoalesced covers the limits.
	a.refresher.SetManualLimits(0, 0)
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

// TestListPagerClampsAndJumps: a page past the end shows the last page (and
// says so in the URL htmx pushes); the pager offers first, last and a jump
// to any page, and brings the table's top into view after paging.
func TestListPagerClampsAndJumps(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), withPerPage(5))
	a.refresh(t)
	total := len(a.sim.Endpoints())
	pages := (total + 4) / 5
	last := fmt.Sprintf("/endpoints?page=%d", pages)

	r := a.get(t, "/endpoints?page=999")
	if r.Code != http.StatusOK || r.doc.Find(testid("endpoint-row")).Length() == 0 {
		t.Fatalf("page 999: %d, %d rows, %q", r.Code, r.doc.Find(testid("endpoint-row")).Length(), r.text(testid("empty")))
	}
	if want := fmt.Sprintf("Page %d of %d · %d endpoints", pages, pages, total); r.text(testid("page-info")) != want {
		t.Errorf("page info %q, want %q", r.text(testid("page-info")), want)
	}
	frag := a.do(t, http.MethodGet, "/endpoints?page=999", nil, htmx())
	if frag.Header().Get("HX-Push-Url") != last {
		t.Errorf("htmx: HX-Push-Url %q, want %q", frag.Header().Get("HX-Push-Url"), last)
	}

	mid := a.get(t, "/endpoints?page=2")
	for id, want := range map[string]string{"first-page": "/endpoints", "prev-page": "/endpoints", "next-page": "/endpoints?page=3", "last-page": last} {
		link := mid.doc.Find(testid(id))
		href, _ := link.Attr("href")
		swap, _ := link.Attr("hx-swap")
		if href != want || !strings.Contains(swap, "show:#endpoint-results:top") {
			t.Errorf("%s: href %q swap %q, want %q", id, href, swap, want)
		}
	}
	jump := mid.doc.Find(testid("page-jump"))
	if n := jump.Find(`input[name="page"][type="number"]`); n.Length() != 1 || n.AttrOr("max", "") != fmt.Sprint(pages) || n.AttrOr("value", "") != "2" {
		t.Errorf("jump input: %d max %q value %q", n.Length(), n.AttrOr("max", ""), n.AttrOr("value", ""))
	}
	if jump.AttrOr("hx-push-url", "") != "true" || jump.AttrOr("action", "") != "/endpoints" {
		t.Error("the jump form neither pushes its URL nor works without JavaScript")
	}
	// The first page has no way back, the last none forward.
	if first := a.get(t, "/endpoints"); first.doc.Find(testid("first-page")).Length()+first.doc.Find(testid("prev-page")).Length() != 0 {
		t.Error("page 1 links backwards")
	}
	if end := a.get(t, last); end.doc.Find(testid("last-page")).Length()+end.doc.Find(testid("next-page")).Length() != 0 {
		t.Error("the last page links forwards")
	}
}

// TestListShortIDs: ids show their first 8 characters, the whole id on
// hover and in a copy button, and do not wrap.
func TestListShortIDs(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.refresh(t)
	row := a.get(t, "/endpoints").doc.Find(testid("endpoint-row")).First()
	id := row.AttrOr("data-endpoint-id", "")
	short := row.Find(".short-id")
	if short.AttrOr("title", "") != id || strings.TrimSpace(short.Text()) != id[:8]+"…" {
		t.Errorf("short id %q title %q for %q", short.Text(), short.AttrOr("title", ""), id)
	}
	copyButton := row.Find(`button.copy[type="button"]`)
	if copyButton.AttrOr("data-copy", "") != id || !strings.Contains(copyButton.AttrOr("aria-label", ""), "Copy") {
		t.Errorf("copy button: data-copy %q aria-label %q", copyButton.AttrOr("data-copy", ""), copyButton.AttrOr("aria-label", ""))
	}
}

// TestListFilterErrorsAtTheFilter: a bad filter is shown at its control,
// which keeps what was typed, with the page still there (422, not a dead-end
// 400 page).
func TestListFilterErrorsAtTheFilter(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.refresh(t)
	for query, tt := range map[string]struct{ control, message string }{
		"type=router":                   {"filter-type", `The type filter must be "gateway" or "interface".`},
		"page=0":                        {"page-jump-input", "The page must be a whole number from 1 up."},
		"page=two":                      {"page-jump-input", "The page must be a whole number from 1 up."},
		"page=99999999999999999999":     {"page-jump-input", "The page must be a whole number from 1 up."},
		"q=" + strings.Repeat("x", 129): {"filter-q", "Search text is at most 128 characters."},
	} {
		r := a.get(t, "/endpoints?"+query)
		control := r.doc.Find(testid(tt.control))
		if r.Code != http.StatusUnprocessableEntity || !strings.Contains(r.text(testid("filter-error")), tt.message) {
			t.Errorf("%s: %d %q", query, r.Code, r.text(testid("filter-error")))
		}
		if control.AttrOr("aria-invalid", "") != "true" || control.AttrOr("data-first-error", "missing") == "missing" ||
			control.AttrOr("aria-describedby", "") != "filter-error" {
			t.Errorf("%s: control %s not marked invalid", query, tt.control)
		}
		if r.doc.Find(testid("filters")).Length() != 1 || r.doc.Find(testid("endpoint-table")).Length() != 1 {
			t.Errorf("%s: the page is not usable", query)
		}
	}
	if r := a.get(t, "/endpoints?q="+strings.Repeat("x", 129)); r.doc.Find(testid("filter-q")).AttrOr("value", "") != strings.Repeat("x", 129) {
		t.Error("the search box lost what was typed")
	}
}

// TestListFilterErrorUnderHTMX: the results fragment carries the filter's
// error, so a search typed under htmx says what is wrong.
func TestListFilterErrorUnderHTMX(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	a.refresh(t)
	r := a.do(t, http.MethodGet, "/endpoints?q="+strings.Repeat("x", 129), nil, htmx())
	if r.Code != http.StatusUnprocessableEntity || !strings.Contains(r.text("#endpoint-results "+testid("filter-error")), "at most 128") {
		t.Errorf("%d %q", r.Code, r.text(testid("filter-error")))
	}
}

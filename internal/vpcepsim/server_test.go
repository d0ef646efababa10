package vpcepsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	testProject = "p1"
	testToken   = "tok"
)

func newTestServer(t *testing.T, eps []*Endpoint) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Options{ProjectID: testProject, Token: testToken, AK: "AK", SK: "SK", Endpoints: eps})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", testToken)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func TestErrorsAndRouting(t *testing.T) {
	t.Parallel()
	eps := DemoEndpoints(1, time.Now())
	_, srv := newTestServer(t, eps)
	gateway, iface := "", ""
	for _, ep := range eps {
		if ep.Service.PolicyKind == PolicyStatementKind && gateway == "" {
			gateway = ep.ID
		}
		if ep.Service.Type == "interface" && iface == "" {
			iface = ep.ID
		}
	}
	list := "/v1/" + testProject + "/vpc-endpoints"
	goodPolicy := `{"policy_statement":[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]}`
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		wantCode                 string
	}{
		{"unknown route", "GET", "/v2/" + testProject + "/vpc-endpoints", "", nil, 404, "APIGW.0101"},
		{"unknown method", "POST", list, "", nil, 404, "APIGW.0101"},
		{"no credentials", "GET", list, "", map[string]string{"X-Auth-Token": ""}, 401, "APIGW.0301"},
		{"wrong token", "GET", list, "", map[string]string{"X-Auth-Token": "nope"}, 401, "APIGW.0301"},
		{"bad signature", "GET", list, "", map[string]string{"X-Auth-Token": "", "X-Sdk-Date": time.Now().UTC().Format(sdkDateFormat),
			"Authorization": "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=00"}, 401, "APIGW.0301"},
		{"other project", "GET", "/v1/other/vpc-endpoints", "", nil, 400, "EndPoint.0014"},
		{"X-Project-Id mismatch", "GET", list, "", map[string]string{"X-Project-Id": "other"}, 400, "EndPoint.0014"},
		{"limit too large", "GET", list + "?limit=1001", "", nil, 400, "EndPoint.0006"},
		{"limit not a number", "GET", list + "?limit=ten", "", nil, 400, "EndPoint.0006"},
		{"negative offset", "GET", list + "?offset=-1", "", nil, 400, "EndPoint.0010"},
		{"bad sort_key", "GET", list + "?sort_key=name", "", nil, 400, "EndPoint.0017"},
		{"bad sort_dir", "GET", list + "?sort_dir=up", "", nil, 400, "EndPoint.0018"},
		{"empty vpc_id", "GET", list + "?vpc_id=", "", nil, 400, "EndPoint.0020"},
		{"unknown endpoint", "GET", list + "/nope", "", nil, 404, "EndPoint.0005"},
		{"unknown endpoint policy", "PUT", list + "/nope/policy", goodPolicy, nil, 404, "EndPoint.0005"},
		{"body not JSON", "PUT", list + "/" + gateway + "/policy", "{", nil, 400, "EndPoint.1004"},
		{"no policy field", "PUT", list + "/" + gateway + "/policy", `{}`, nil, 400, "EndPoint.0002"},
		{"statement on interface endpoint", "PUT", list + "/" + iface + "/policy", goodPolicy, nil, 400, "EndPoint.0002"},
		{"Effect not Allow/Deny", "PUT", list + "/" + gateway + "/policy", `{"policy_statement":[{"Effect":"allow","Action":["a"],"Resource":["r"]}]}`, nil, 400, "EndPoint.2048"},
		{"Action a string", "PUT", list + "/" + gateway + "/policy", `{"policy_statement":[{"Effect":"Allow","Action":"obs:*","Resource":["r"]}]}`, nil, 400, "EndPoint.2048"},
		{"Resource empty", "PUT", list + "/" + gateway + "/policy", `{"policy_statement":[{"Effect":"Allow","Action":["a"],"Resource":[]}]}`, nil, 400, "EndPoint.2048"},
		{"Action with empty string", "PUT", list + "/" + gateway + "/policy", `{"policy_statement":[{"Effect":"Allow","Action":[""],"Resource":["r"]}]}`, nil, 400, "EndPoint.2048"},
		{"Condition not an object", "PUT", list + "/" + gateway + "/policy", `{"policy_statement":[{"Effect":"Allow","Action":["a"],"Resource":["r"],"Condition":"x"}]}`, nil, 400, "EndPoint.2048"},
		{"valid update", "PUT", list + "/" + gateway + "/policy", goodPolicy, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, srv, tt.method, tt.path, tt.body, tt.header)
			if a.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tt.wantStatus, a.raw)
			}
			if got, _ := a.body["error_code"].(string); got != tt.wantCode {
				t.Errorf("error_code %q, want %q", got, tt.wantCode)
			}
			if len(a.header.Get("X-Request-Id")) != 32 || a.header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", a.header)
			}
			if strings.HasPrefix(tt.wantCode, "APIGW.") && a.body["request_id"] != a.header.Get("X-Request-Id") {
				t.Errorf("APIGW body request_id %v", a.body["request_id"])
			}
		})
	}
}

func TestListPagingSortingAndShape(t *testing.T) {
	t.Parallel()
	eps := GeneratedEndpoints(5, 50, time.Now())
	_, srv := newTestServer(t, eps)
	list := "/v1/" + testProject + "/vpc-endpoints"

	a := call(t, srv, "GET", list+"?limit=20&offset=40&sort_key=update_at&sort_dir=asc", "", nil)
	if a.status != 200 || a.body["total_count"] != float64(50) {
		t.Fatalf("%d %v", a.status, a.body["total_count"])
	}
	page := a.body["endpoints"].([]any)
	if len(page) != 10 {
		t.Fatalf("last page has %d", len(page))
	}
	// Ascending by updated_at across the page.
	var times []string
	for _, e := range page {
		times = append(times, e.(map[string]any)["updated_at"].(string))
	}
	if !sort.StringsAreSorted(times) {
		t.Errorf("not sorted ascending: %v", times)
	}
	// Lists are arrays, never null; times are YYYY-MM-DDTHH:MM:SSZ.
	first := page[0].(map[string]any)
	for _, k := range []string{"active_status", "dns_names", "whitelist", "routetables", "tags"} {
		if _, ok := first[k].([]any); !ok {
			t.Errorf("%s = %v, want an array", k, first[k])
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", first["created_at"].(string)); err != nil {
		t.Errorf("created_at %v", first["created_at"])
	}
	// Default page size is 10; the default sort is newest created first.
	a = call(t, srv, "GET", list, "", nil)
	if n := len(a.body["endpoints"].([]any)); n != 10 {
		t.Errorf("default page has %d", n)
	}
}

func TestPutReplacesPolicyAndBumpsUpdatedAt(t *testing.T) {
	t.Parallel()
	eps := DemoEndpoints(1, time.Now().Add(-48*time.Hour))
	s, srv := newTestServer(t, eps)
	var gw *Endpoint
	for _, ep := range eps {
		if ep.Service.PolicyKind == PolicyStatementKind && len(ep.Statements) == 2 {
			gw = ep
		}
	}
	path := "/v1/" + testProject + "/vpc-endpoints/" + gw.ID + "/policy"
	a := call(t, srv, "PUT", path, `{"policy_statement":[{"Effect":"Deny","Action":["obs:*"],"Resource":["*"],"Sid":"x","Condition":{"IpAddress":{"a":["1"]}}}]}`, nil)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	got, _ := s.Endpoint(gw.ID)
	if len(got.Statements) != 1 || got.Statements[0].Effect != "Deny" || got.Statements[0].Sid != "x" || string(got.Statements[0].Condition) != `{"IpAddress":{"a":["1"]}}` {
		t.Errorf("stored %+v", got.Statements)
	}
	if !got.UpdatedAt.After(gw.UpdatedAt) {
		t.Errorf("updated_at not bumped")
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, srv := newTestServer(t, DemoEndpoints(1, time.Now()))
	list := "/v1/" + testProject + "/vpc-endpoints"
	s.FailNext(2, Fault{Status: 503, Code: "EndPoint.0001"})
	for range 2 {
		if a := call(t, srv, "GET", list, "", nil); a.status != 503 || a.body["error_code"] != "EndPoint.0001" {
			t.Fatalf("forced: %d %s", a.status, a.raw)
		}
	}
	if a := call(t, srv, "GET", list, "", nil); a.status != 200 {
		t.Fatalf("after forced calls: %d", a.status)
	}
	s.FailRoute(RouteGet, Fault{Status: 500, Code: "EndPoint.0001"})
	if a := call(t, srv, "GET", list, "", nil); a.status != 200 {
		t.Fatalf("route fault hit another route: %d", a.status)
	}
	if a := call(t, srv, "GET", list+"/x", "", nil); a.status != 500 {
		t.Fatalf("route fault: %d", a.status)
	}
	s.SetNestedErrorBody(true)
	a := call(t, srv, "GET", list+"/x", "", nil)
	if nested, ok := a.body["error"].(map[string]any); !ok || nested["code"] != "EndPoint.0001" {
		t.Fatalf("nested body: %s", a.raw)
	}
	s.ClearFaults()
	s.SetLatency(150 * time.Millisecond)
	start := time.Now()
	call(t, srv, "GET", list, "", nil)
	if time.Since(start) < 150*time.Millisecond {
		t.Error("latency not applied")
	}
	s.ClearFaults()
	s.DropNext(1)
	req, _ := http.NewRequest("GET", srv.URL+list, nil)
	req.Header.Set("X-Auth-Token", testToken)
	// A fresh connection: on a reused one, Go retries an idempotent request.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := fresh.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dropped connection answered")
	}
	// Secrets are redacted in the request record.
	for _, r := range s.Requests() {
		if r.Header.Get("X-Auth-Token") == testToken {
			t.Fatal("token recorded in clear")
		}
	}
}

func TestDemoData(t *testing.T) {
	t.Parallel()
	eps := DemoEndpoints(1, time.Now())
	vpcs, statuses, kinds := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ep := range eps {
		vpcs[ep.VpcID] = true
		statuses[ep.Status] = true
		kinds[ep.Service.Type+"/"+ep.Service.PolicyKind] = true
		if ep.Status == "failed" && len(ep.Errors) == 0 {
			t.Errorf("failed endpoint %s has no error list", ep.ID)
		}
	}
	if len(eps) < 30 || len(vpcs) != 3 || !statuses["accepted"] || !statuses["pendingAcceptance"] || !statuses["failed"] {
		t.Fatalf("%d endpoints, %d VPCs, statuses %v", len(eps), len(vpcs), statuses)
	}
	for _, k := range []string{"gateway/statement", "gateway/", "interface/document", "interface/"} {
		if !kinds[k] {
			t.Errorf("no %s endpoint", k)
		}
	}
	// Same seed, same data.
	again := DemoEndpoints(1, eps[0].CreatedAt.Add(0))
	if again[5].ID != eps[5].ID {
		t.Error("demo data is not deterministic")
	}
}

// A held PUT waits for the test: dropped, it changes nothing; applied, the
// policy changes while the answer is still held.
func TestHoldNext(t *testing.T) {
	t.Parallel()
	eps := DemoEndpoints(1, time.Now())
	sim, srv := newTestServer(t, eps)
	var gw *Endpoint
	for _, ep := range eps {
		if ep.Service.PolicyKind == PolicyStatementKind && len(ep.Statements) > 0 {
			gw = ep
			break
		}
	}
	path := "/v1/" + testProject + "/vpc-endpoints/" + gw.ID + "/policy"
	body := `{"policy_statement":[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]}`
	changed := func() bool {
		ep, _ := sim.Endpoint(gw.ID)
		return len(ep.Statements) == 1 && ep.Statements[0].Action[0] == "obs:*"
	}
	put := func(done chan<- int) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0 // no answer
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}

	h := sim.HoldNext(RouteUpdatePolicy)
	done := make(chan int)
	go put(done)
	<-h.Arrived()
	h.Drop()
	if code := <-done; code != 0 || changed() {
		t.Fatalf("a dropped PUT: answer %d, policy changed %v", code, changed())
	}

	h = sim.HoldNext(RouteUpdatePolicy)
	go put(done)
	<-h.Arrived()
	h.Apply()
	if !changed() {
		t.Fatal("an applied PUT did not change the policy")
	}
	h.Answer()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("answer %d", code)
	}
}

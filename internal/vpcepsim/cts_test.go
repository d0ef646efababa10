package vpcepsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

func firstGateway(t *testing.T, s *Server) *Endpoint {
	t.Helper()
	id := OutOfBandTarget(s)
	if id == "" {
		t.Fatal("no gateway endpoint with a policy")
	}
	ep, _ := s.Endpoint(id)
	return ep
}

func tracesPath(q url.Values) string { return "/v3/" + testProject + "/traces?" + q.Encode() }

func TestListTracesWireShape(t *testing.T) {
	t.Parallel()
	s, srv := newTestServer(t, DemoEndpoints(1, time.Now().Add(-time.Hour)))
	gw := firstGateway(t, s)
	body := `{"policy_statement":[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]}`
	put := call(t, srv, http.MethodPut, "/v1/"+testProject+"/vpc-endpoints/"+gw.ID+"/policy", body, nil)
	if put.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", put.status, put.raw)
	}
	// A refused PUT leaves no trace.
	if bad := call(t, srv, http.MethodPut, "/v1/"+testProject+"/vpc-endpoints/"+gw.ID+"/policy", `{"policy_statement":[{"Effect":"Maybe"}]}`, nil); bad.status != http.StatusBadRequest {
		t.Fatalf("bad PUT: %d", bad.status)
	}

	a := call(t, srv, http.MethodGet, tracesPath(url.Values{"trace_type": {"system"}, "service_type": {"VPCEP"}, "resource_id": {gw.ID}}), "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("ListTraces: %d %s", a.status, a.raw)
	}
	var got struct {
		Traces   []map[string]any `json:"traces"`
		MetaData map[string]any   `json:"meta_data"`
	}
	if err := json.Unmarshal([]byte(a.raw), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Traces) != 1 || got.MetaData["count"] != float64(1) || got.MetaData["marker"] != nil {
		t.Fatalf("answer %s, want one trace, count 1, marker null", a.raw)
	}
	tr := got.Traces[0]
	want := map[string]any{
		"trace_name": "modifyEndpointPolicy", "trace_rating": "normal", "trace_type": "ApiCall",
		"service_type": "VPCEP", "resource_type": "vpcEndpoint", "resource_id": gw.ID, "resource_name": gw.ID,
		"source_ip": "127.0.0.1", "code": "200", "request": body, "request_id": put.header.Get("X-Request-Id"),
		"api_version": "v1",
	}
	for k, v := range want {
		if tr[k] != v {
			t.Errorf("%s = %#v, want %#v", k, tr[k], v)
		}
	}
	for _, k := range []string{"time", "record_time"} {
		if ms, ok := tr[k].(float64); !ok || ms <= 0 {
			t.Errorf("%s = %#v, want milliseconds", k, tr[k])
		}
	}
	user, _ := tr["user"].(map[string]any)
	domain, _ := user["domain"].(map[string]any)
	if user["name"] != DefaultCTSUser || user["id"] == "" || domain["name"] == nil || domain["id"] == nil {
		t.Errorf("user = %#v, want %s with an id and a domain", user, DefaultCTSUser)
	}
	if id, _ := tr["trace_id"].(string); len(id) != 36 {
		t.Errorf("trace_id %q is not a UUID", id)
	}
	if resp, _ := tr["response"].(string); resp == "" {
		t.Error("the trace has no response")
	}
}

func TestListTracesErrors(t *testing.T) {
	t.Parallel()
	_, srv := newTestServer(t, nil)
	ok := url.Values{"trace_type": {"system"}}
	with := func(k, v string) url.Values {
		q := url.Values{"trace_type": {"system"}}
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name       string
		path       string
		header     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"no credentials", tracesPath(ok), map[string]string{"X-Auth-Token": ""}, 401, "APIGW.0301"},
		{"wrong token", tracesPath(ok), map[string]string{"X-Auth-Token": "nope"}, 401, "APIGW.0301"},
		{"wrong project", "/v3/other/traces", nil, 400, "EndPoint.0014"},
		{"POST", tracesPath(ok), nil, 404, "APIGW.0101"},
		{"bad trace type", tracesPath(with("trace_type", "all")), nil, 400, "CTS.0001"},
		{"limit 0", tracesPath(with("limit", "0")), nil, 400, "CTS.0001"},
		{"limit 201", tracesPath(with("limit", "201")), nil, 400, "CTS.0001"},
		{"bad from", tracesPath(with("from", "yesterday")), nil, 400, "CTS.0001"},
		{"empty window", tracesPath(url.Values{"from": {"2000"}, "to": {"1000"}}), nil, 400, "CTS.0001"},
		{"unknown marker", tracesPath(with("next", "no-such-trace")), nil, 400, "CTS.0001"},
		{"bad rating", tracesPath(with("trace_rating", "bad")), nil, 400, "CTS.0001"},
		{"data traces", tracesPath(with("trace_type", "data")), nil, 200, ""},
		{"defaults", "/v3/" + testProject + "/traces", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.name == "POST" {
				method = http.MethodPost
			}
			a := call(t, srv, method, tt.path, "", tt.header)
			if a.status != tt.wantStatus || (tt.wantCode != "" && a.body["error_code"] != tt.wantCode) {
				t.Fatalf("%d %s, want %d %s", a.status, a.raw, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// clock is a test clock the simulator reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestListTracesFiltersPagingAndLag(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	s := New(Options{ProjectID: testProject, Token: testToken, Now: clk.Now, CTSLag: 5 * time.Minute})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	add := func(name, resource, user string, at time.Duration) Trace {
		return s.AddTrace(Trace{TraceName: name, ResourceID: resource, User: user, SourceIP: "10.0.0.1", Time: t0.Add(at)})
	}
	a1 := add(TraceModifyPolicy, "ep-a", "alice", -50*time.Minute)
	a2 := add(TraceModifyPolicy, "ep-a", "bob", -40*time.Minute)
	a3 := add(TraceDeletePolicy, "ep-a", "alice", -30*time.Minute)
	add(TraceModifyPolicy, "ep-b", "alice", -20*time.Minute)
	fresh := add(TraceModifyPolicy, "ep-a", "carol", -time.Minute) // within the lag

	ids := func(q url.Values) ([]string, any) {
		t.Helper()
		a := call(t, srv, http.MethodGet, tracesPath(q), "", nil)
		if a.status != http.StatusOK {
			t.Fatalf("%v: %d %s", q, a.status, a.raw)
		}
		var got struct {
			Traces []struct {
				ID string `json:"trace_id"`
			} `json:"traces"`
			MetaData struct {
				Count  int `json:"count"`
				Marker any `json:"marker"`
			} `json:"meta_data"`
		}
		_ = json.Unmarshal([]byte(a.raw), &got)
		var out []string
		for _, tr := range got.Traces {
			out = append(out, tr.ID)
		}
		if got.MetaData.Count != len(out) {
			t.Errorf("count %d for %d traces", got.MetaData.Count, len(out))
		}
		return out, got.MetaData.Marker
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(t0.Add(d).UnixMilli(), 10) }
	sys := func(kv ...string) url.Values {
		q := url.Values{"trace_type": {"system"}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	same := func(got []string, want ...Trace) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i].TraceID {
				return false
			}
		}
		return true
	}

	if got, _ := ids(sys("resource_id", "ep-a")); !same(got, a3, a2, a1) {
		t.Errorf("ep-a, newest first, lag hiding carol's: %v", got)
	}
	if got, _ := ids(sys("resource_id", "ep-a", "trace_name", TraceModifyPolicy)); !same(got, a2, a1) {
		t.Errorf("modify traces of ep-a: %v", got)
	}
	if got, _ := ids(sys("user", "alice", "resource_id", "ep-a")); !same(got, a3, a1) {
		t.Errorf("alice's on ep-a: %v", got)
	}
	// The window excludes both its ends.
	if got, _ := ids(sys("resource_id", "ep-a", "from", ms(-50*time.Minute), "to", ms(-30*time.Minute))); !same(got, a2) {
		t.Errorf("window: %v", got)
	}
	if got, _ := ids(sys("trace_id", a1.TraceID, "resource_id", "ep-b")); !same(got, a1) {
		t.Errorf("trace_id decides alone: %v", got)
	}
	// Paging: marker is the page's last trace until nothing is left.
	page1, marker := ids(sys("resource_id", "ep-a", "limit", "2"))
	if !same(page1, a3, a2) || marker != a2.TraceID {
		t.Errorf("page 1: %v, marker %v", page1, marker)
	}
	page2, marker := ids(sys("resource_id", "ep-a", "limit", "2", "next", a2.TraceID))
	if !same(page2, a1) || marker != nil {
		t.Errorf("page 2: %v, marker %v", page2, marker)
	}
	// Once the lag has passed, carol's shows.
	clk.Add(5 * time.Minute)
	if got, _ := ids(sys("resource_id", "ep-a")); !same(got, fresh, a3, a2, a1) {
		t.Errorf("after the lag: %v", got)
	}
}

func TestListTracesFaultAndHold(t *testing.T) {
	t.Parallel()
	s, srv := newTestServer(t, nil)
	s.FailRoute(RouteListTraces, Fault{Status: 500, Code: "CTS.0500", Message: "down"})
	if a := call(t, srv, http.MethodGet, tracesPath(url.Values{"trace_type": {"system"}}), "", nil); a.status != 500 || a.body["error_code"] != "CTS.0500" || a.header.Get("X-Request-Id") == "" {
		t.Fatalf("fault: %d %s", a.status, a.raw)
	}
	// The fault is the CTS route's alone.
	if a := call(t, srv, http.MethodGet, "/v1/"+testProject+"/vpc-endpoints", "", nil); a.status != 200 {
		t.Fatalf("list endpoints under a CTS fault: %d", a.status)
	}
}

func TestChangePolicyOutOfBand(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, DemoEndpoints(1, time.Now().Add(-48*time.Hour)))
	gw := firstGateway(t, s)
	edited := OutOfBandEdit(gw.Statements)
	if len(edited) != len(gw.Statements)+1 {
		t.Fatalf("OutOfBandEdit added %d statements", len(edited)-len(gw.Statements))
	}
	if back := OutOfBandEdit(edited); len(back) != len(gw.Statements) {
		t.Fatalf("a second OutOfBandEdit leaves %d statements, want %d", len(back), len(gw.Statements))
	}

	if err := s.ChangePolicyOutOfBand(gw.ID, edited, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Endpoint(gw.ID)
	if len(after.Statements) != len(edited) || !after.UpdatedAt.After(gw.UpdatedAt) {
		t.Errorf("policy %d statements, updated %v; want %d, later than %v", len(after.Statements), after.UpdatedAt, len(edited), gw.UpdatedAt)
	}
	traces := s.Traces()
	if len(traces) != 1 || traces[0].User != "terraform-ci" || traces[0].SourceIP != "10.0.8.15" ||
		traces[0].ResourceID != gw.ID || traces[0].TraceName != TraceModifyPolicy || traces[0].RequestID == "" {
		t.Fatalf("traces %+v", traces)
	}

	// Refused exactly as the PUT would be, with no trace.
	var iface string
	for _, ep := range s.Endpoints() {
		if ep.Service.Type == "interface" {
			iface = ep.ID
			break
		}
	}
	for _, tc := range []struct {
		id         string
		statements []Statement
		wantCode   string
	}{
		{"no-such-endpoint", edited, "EndPoint.0005"},
		{gw.ID, []Statement{{Effect: "Maybe", Action: []string{"obs:*"}, Resource: []string{"*"}}}, "EndPoint.2048"},
		{iface, edited, "EndPoint.0002"},
	} {
		err := s.ChangePolicyOutOfBand(tc.id, tc.statements, "terraform-ci", "10.0.8.15")
		ce, ok := err.(*ChangeError)
		if !ok || ce.Code != tc.wantCode {
			t.Errorf("%s: err = %v, want %s", tc.id, err, tc.wantCode)
		}
	}
	if err := s.ChangePolicyOutOfBand(gw.ID, edited, "", "10.0.8.15"); err == nil {
		t.Error("a change without a user was accepted")
	}
	if n := len(s.Traces()); n != 1 {
		t.Errorf("%d traces after refusals, want 1", n)
	}
}

func TestDemoOutOfBand(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, DemoEndpoints(1, time.Now().Add(-time.Hour)))
	want := OutOfBandTarget(s)
	before, _ := s.Endpoint(want)
	id, err := DemoOutOfBand(s)
	if err != nil || id != want {
		t.Fatalf("DemoOutOfBand = %q, %v; want %q", id, err, want)
	}
	after, _ := s.Endpoint(id)
	if len(after.Statements) != len(before.Statements)+1 {
		t.Errorf("the demo endpoint's policy did not change")
	}
	tr := s.Traces()
	if len(tr) != 1 || tr[0].User != DemoOutOfBandUser || tr[0].SourceIP != DemoOutOfBandIP {
		t.Errorf("traces %+v", tr)
	}
	empty, _ := newTestServer(t, nil)
	if _, err := DemoOutOfBand(empty); err == nil {
		t.Error("DemoOutOfBand without a gateway succeeded")
	}
}

func TestAdminPolicyRoute(t *testing.T) {
	t.Parallel()
	s, srv := newTestServer(t, DemoEndpoints(1, time.Now().Add(-time.Hour)))
	gw := firstGateway(t, s)
	path := "/sim/admin/endpoints/" + gw.ID + "/policy"
	s.FailNext(1, Fault{Status: 500, Code: "EndPoint.0001"}) // faults are the API's, not the lever's

	a := call(t, srv, http.MethodPost, path,
		`{"policy_statement":[{"Effect":"Deny","Action":["obs:object:DeleteObject"],"Resource":["*"]}],"user":"ops-script","source_ip":"192.0.2.10"}`, nil)
	if a.status != http.StatusOK || a.body["id"] != gw.ID {
		t.Fatalf("admin change: %d %s", a.status, a.raw)
	}
	if live, _ := s.Endpoint(gw.ID); len(live.Statements) != 1 || live.Statements[0].Effect != "Deny" {
		t.Errorf("live policy %+v", live.Statements)
	}
	// Without a policy: OutOfBandEdit; without an address: the caller's.
	if a := call(t, srv, http.MethodPost, path, `{"user":"console-user","trace_type":"ConsoleAction"}`, nil); a.status != http.StatusOK {
		t.Fatalf("admin edit: %d %s", a.status, a.raw)
	}
	tr := s.Traces()
	if len(tr) != 2 || tr[0].User != "ops-script" || tr[0].SourceIP != "192.0.2.10" ||
		tr[1].User != "console-user" || tr[1].SourceIP != "127.0.0.1" || tr[1].TraceType != "ConsoleAction" {
		t.Fatalf("traces %+v", tr)
	}

	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantStatus               int
		wantCode                 string
	}{
		{"no credentials", http.MethodPost, path, `{"user":"x"}`, map[string]string{"X-Auth-Token": ""}, 401, "APIGW.0301"},
		{"wrong token", http.MethodPost, path, `{"user":"x"}`, map[string]string{"X-Auth-Token": "bad"}, 401, "APIGW.0301"},
		{"GET", http.MethodGet, path, "", nil, 405, "SIM.0405"},
		{"no user", http.MethodPost, path, `{}`, nil, 400, "SIM.0400"},
		{"unknown field", http.MethodPost, path, `{"user":"x","policy":[]}`, nil, 400, "SIM.0400"},
		{"bad trace type", http.MethodPost, path, `{"user":"x","trace_type":"Magic"}`, nil, 400, "SIM.0400"},
		{"invalid policy", http.MethodPost, path, `{"user":"x","policy_statement":[{"Effect":"Maybe","Action":["a"],"Resource":["b"]}]}`, nil, 400, "EndPoint.2048"},
		{"unknown endpoint", http.MethodPost, "/sim/admin/endpoints/nope/policy", `{"user":"x"}`, nil, 404, "EndPoint.0005"},
		{"unknown admin route", http.MethodPost, "/sim/admin/other", `{"user":"x"}`, nil, 404, "APIGW.0101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, srv, tt.method, tt.path, tt.body, tt.header)
			if a.status != tt.wantStatus || a.body["error_code"] != tt.wantCode {
				t.Fatalf("%d %s, want %d %s", a.status, a.raw, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if n := len(s.Traces()); n != 2 {
		t.Errorf("%d traces after refused admin calls, want 2", n)
	}
}

// TestTracesEvictOldest: past maxTraces, each new trace evicts the oldest
// one only.
func TestTracesEvictOldest(t *testing.T) {
	t.Parallel()
	s := New(Options{ProjectID: testProject})
	first := s.AddTrace(Trace{TraceName: TraceModifyPolicy, ResourceID: "ep"})
	second := s.AddTrace(Trace{TraceName: TraceModifyPolicy, ResourceID: "ep"})
	for range maxTraces - 1 {
		s.AddTrace(Trace{TraceName: TraceModifyPolicy, ResourceID: "ep"})
	}
	traces := s.Traces()
	if len(traces) != maxTraces || traces[0].TraceID != second.TraceID || traces[0].TraceID == first.TraceID {
		t.Fatalf("%d traces starting with %s; want %d starting with the second added (%s)", len(traces), traces[0].TraceID, maxTraces, second.TraceID)
	}
}

// TestOutOfBandEditAsIsAtomic: concurrent OutOfBandEditAs each toggle the
// policy from what the one before left, none lost: an even number of them
// leaves it as it was, with one trace each.
func TestOutOfBandEditAsIsAtomic(t *testing.T) {
	t.Parallel()
	s := New(Options{ProjectID: testProject, Endpoints: DemoEndpoints(1, time.Now().Add(-time.Hour))})
	ep := firstGateway(t, s)
	before, _ := json.Marshal(ep.Statements)
	const n = 64 * 20
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.OutOfBandEditAs(ep.ID, "terraform-ci", "10.0.8.15"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	after, _ := s.Endpoint(ep.ID)
	if got, _ := json.Marshal(after.Statements); string(got) != string(before) {
		t.Errorf("after %d toggles the policy is %s, want it as it was, %s: an edit was lost", n, got, before)
	}
	if got := len(s.Traces()); got != n {
		t.Errorf("%d traces, want %d", got, n)
	}
}

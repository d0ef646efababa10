package vpcep_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

const testToken = "MIIZ-test-token-value"

// newFixture serves endpoints from the simulator, which also takes testToken.
func newFixture(t *testing.T, endpoints []*vpcepsim.Endpoint) *simtest.Upstream {
	t.Helper()
	return simtest.Start(t, simtest.Options{Endpoints: endpoints, Token: testToken})
}

func demo() []*vpcepsim.Endpoint { return vpcepsim.DemoEndpoints(1, time.Now()) }

// firstWith returns the first demo endpoint matching keep.
func firstWith(t *testing.T, eps []*vpcepsim.Endpoint, keep func(*vpcepsim.Endpoint) bool) *vpcepsim.Endpoint {
	t.Helper()
	for _, ep := range eps {
		if keep(ep) {
			return ep
		}
	}
	t.Fatal("no demo endpoint matches")
	return nil
}

func isPolicyGateway(ep *vpcepsim.Endpoint) bool {
	return ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) > 0
}

func TestBothAuthModesReadEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	modes := []struct {
		name       string
		mutate     func(*vpcep.Config)
		wantHeader string // the credential header sent
		notHeader  string // the one not sent
	}{
		{"aksk", nil, "Authorization", "X-Auth-Token"},
		{"token", func(c *vpcep.Config) { c.AK, c.SK, c.Token = "", "", testToken }, "X-Auth-Token", "Authorization"},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			page, err := f.Client(t, m.mutate).ListEndpoints(context.Background(), vpcep.ListOptions{Limit: 5})
			if err != nil {
				t.Fatalf("ListEndpoints: %v", err)
			}
			if len(page.Endpoints) != 5 || page.TotalCount != 36 {
				t.Fatalf("got %d endpoints, total %d; want 5 of 36", len(page.Endpoints), page.TotalCount)
			}
			reqs := f.Requests()
			last := reqs[len(reqs)-1]
			if last.Header.Get(m.wantHeader) == "" || last.Header.Get(m.notHeader) != "" {
				t.Errorf("request headers = %v", last.Header)
			}
		})
	}
}

func TestAuthFailuresAreTypedErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	tests := map[string]func(*vpcep.Config){
		"wrong SK":    func(c *vpcep.Config) { c.SK = strings.Repeat("x", 40) },
		"unknown AK":  func(c *vpcep.Config) { c.AK = "UNKNOWNAKUNKNOWNAK00" },
		"wrong token": func(c *vpcep.Config) { c.AK, c.SK, c.Token = "", "", "not-the-token" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := f.Client(t, mutate).ListEndpoints(context.Background(), vpcep.ListOptions{})
			var ve *vpcep.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *vpcep.Error", err)
			}
			if ve.Status != 401 || ve.Code != "APIGW.0301" || len(ve.RequestID) != 32 {
				t.Fatalf("got status %d code %q request id %q", ve.Status, ve.Code, ve.RequestID)
			}
		})
	}
}

func TestGetEndpoint(t *testing.T) {
	t.Parallel()
	eps := demo()
	f := newFixture(t, eps)
	c := f.Client(t, nil)
	want := firstWith(t, eps, func(ep *vpcepsim.Endpoint) bool {
		return isPolicyGateway(ep) && len(ep.Statements) > 1
	})

	got, err := c.GetEndpoint(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("GetEndpoint: %v", err)
	}
	if got.ID != want.ID || got.ServiceName != want.Service.Name || got.ServiceType != "gateway" ||
		got.EnableStatus != "enable" || !got.CreatedAt.Equal(want.CreatedAt) || !got.HasPolicy() {
		t.Errorf("endpoint = %+v", got)
	}
	if diff := cmp.Diff(len(want.Statements), len(got.PolicyStatement)); diff != "" {
		t.Errorf("statement count mismatch (-want +got):\n%s", diff)
	}
	if got.PolicyStatement[0].Sid != want.Statements[0].Sid {
		t.Errorf("Sid = %q, want %q", got.PolicyStatement[0].Sid, want.Statements[0].Sid)
	}
}

func TestGetUnknownEndpointIsNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	_, err := f.Client(t, nil).GetEndpoint(context.Background(), "00000000-0000-4000-8000-000000000000")
	if !errors.Is(err, vpcep.ErrNotFound) {
		t.Fatalf("error %v is not ErrNotFound", err)
	}
	var ve *vpcep.Error
	errors.As(err, &ve)
	if ve.Code != "EndPoint.0005" || ve.RequestID == "" {
		t.Errorf("got code %q request id %q", ve.Code, ve.RequestID)
	}
}

func TestListAllEndpointsPagesThrough2500(t *testing.T) {
	t.Parallel()
	f := newFixture(t, vpcepsim.GeneratedEndpoints(7, 2500, time.Now()))
	all, err := f.Client(t, nil).ListAllEndpoints(context.Background(), vpcep.ListOptions{})
	if err != nil {
		t.Fatalf("ListAllEndpoints: %v", err)
	}
	if len(all) != 2500 {
		t.Fatalf("got %d endpoints, want 2500", len(all))
	}
	seen := map[string]bool{}
	for _, ep := range all {
		if seen[ep.ID] {
			t.Fatalf("endpoint %s listed twice", ep.ID)
		}
		seen[ep.ID] = true
	}
	var pages []string
	for _, r := range f.Requests() {
		pages = append(pages, r.Query)
	}
	want := []string{"limit=1000", "limit=1000&offset=1000", "limit=1000&offset=2000"}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("page requests mismatch (-want +got):\n%s", diff)
	}
}

func TestListFiltersByServiceNameAndVPC(t *testing.T) {
	t.Parallel()
	eps := demo()
	f := newFixture(t, eps)
	c := f.Client(t, nil)
	page, err := c.ListEndpoints(context.Background(), vpcep.ListOptions{ServiceName: "OBS", VpcID: eps[0].VpcID, Limit: 1000})
	if err != nil {
		t.Fatalf("ListEndpoints: %v", err)
	}
	if page.TotalCount == 0 || page.TotalCount != len(page.Endpoints) {
		t.Fatalf("total %d, page %d", page.TotalCount, len(page.Endpoints))
	}
	for _, ep := range page.Endpoints {
		if !strings.Contains(ep.ServiceName, "obs") || ep.VpcID != eps[0].VpcID {
			t.Errorf("endpoint %s (%s, %s) does not match the filter", ep.ID, ep.ServiceName, ep.VpcID)
		}
	}
}

func TestBothErrorBodyShapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	// One attempt: a 500 would be retried, and the retry would succeed.
	c := f.Client(t, func(c *vpcep.Config) { c.Retry.Attempts = 1 })
	for _, nested := range []bool{false, true} {
		f.SetNestedErrorBody(nested)
		f.FailNext(1, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error. Please retry."})
		_, err := c.ListEndpoints(context.Background(), vpcep.ListOptions{})
		var ve *vpcep.Error
		if !errors.As(err, &ve) {
			t.Fatalf("nested=%v: error %v is not a *vpcep.Error", nested, err)
		}
		if ve.Status != 500 || ve.Code != "EndPoint.0001" || ve.Message != "System error. Please retry." || ve.RequestID == "" {
			t.Errorf("nested=%v: got %+v", nested, ve)
		}
	}
}

func TestUpdatePolicyRoundTripsEveryField(t *testing.T) {
	t.Parallel()
	eps := demo()
	f := newFixture(t, eps)
	c := f.Client(t, nil)
	target := firstWith(t, eps, isPolicyGateway)
	want := []vpcep.PolicyStatement{
		{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:logs-prod/*"}, Sid: "Read",
			Condition: json.RawMessage(`{"StringEquals":{"obs:prefix":["a/"]}}`)},
		{Effect: "Deny", Action: []string{"obs:object:DeleteObject"}, Resource: []string{"obs:*:*:object:logs-prod/*"}},
	}
	ctx, rec := vpcep.WithRecorder(context.Background())
	updated, err := c.UpdatePolicy(ctx, target.ID, want)
	if err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	if diff := cmp.Diff(want, updated.PolicyStatement, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("answer policy mismatch (-want +got):\n%s", diff)
	}
	again, err := c.GetEndpoint(context.Background(), target.ID)
	if err != nil {
		t.Fatalf("GetEndpoint: %v", err)
	}
	if diff := cmp.Diff(want, again.PolicyStatement, cmp.Comparer(jsonEqual)); diff != "" {
		t.Errorf("read-back policy mismatch (-want +got):\n%s", diff)
	}
	if !again.UpdatedAt.After(target.UpdatedAt) {
		t.Errorf("updated_at %v not bumped past %v", again.UpdatedAt, target.UpdatedAt)
	}

	xs := rec.Exchanges()
	if len(xs) != 1 {
		t.Fatalf("recorded %d exchanges, want 1", len(xs))
	}
	x := xs[0]
	if x.Method != "PUT" || !strings.HasSuffix(x.URL, "/vpc-endpoints/"+target.ID+"/policy") || x.Status != 200 || x.RequestID() == "" {
		t.Errorf("exchange = %s %s %d", x.Method, x.URL, x.Status)
	}
	if !strings.Contains(string(x.RequestBody), `"policy_statement"`) || !strings.Contains(string(x.ResponseBody), target.ID) {
		t.Errorf("exchange bodies not captured: %s / %s", x.RequestBody, x.ResponseBody)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var va, vb any
	_ = json.Unmarshal(a, &va)
	_ = json.Unmarshal(b, &vb)
	return cmp.Equal(va, vb)
}

func TestUpdatePolicyRejectedByUpstream(t *testing.T) {
	t.Parallel()
	eps := demo()
	f := newFixture(t, eps)
	c := f.Client(t, nil)
	iface := firstWith(t, eps, func(ep *vpcepsim.Endpoint) bool { return ep.Service.Type == "interface" })
	gw := firstWith(t, eps, isPolicyGateway)
	tests := []struct {
		name       string
		id         string
		statements []vpcep.PolicyStatement
		wantCode   string
	}{
		{"interface endpoint", iface.ID, []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}}}, "EndPoint.0002"},
		{"bad effect", gw.ID, []vpcep.PolicyStatement{{Effect: "Maybe", Action: []string{"obs:*"}, Resource: []string{"*"}}}, "EndPoint.2048"},
		{"empty action", gw.ID, []vpcep.PolicyStatement{{Effect: "Allow", Action: nil, Resource: []string{"*"}}}, "EndPoint.2048"},
		{"unknown endpoint", "00000000-0000-4000-8000-000000000000", []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}}}, "EndPoint.0005"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.UpdatePolicy(context.Background(), tt.id, tt.statements)
			var ve *vpcep.Error
			if !errors.As(err, &ve) || ve.Code != tt.wantCode {
				t.Fatalf("error = %v, want code %s", err, tt.wantCode)
			}
		})
	}
}

func TestExchangeRedactsSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	for name, mutate := range map[string]func(*vpcep.Config){
		"aksk":  nil,
		"token": func(c *vpcep.Config) { c.AK, c.SK, c.Token = "", "", testToken },
	} {
		t.Run(name, func(t *testing.T) {
			ctx, rec := vpcep.WithRecorder(context.Background())
			if _, err := f.Client(t, mutate).ListEndpoints(ctx, vpcep.ListOptions{}); err != nil {
				t.Fatalf("ListEndpoints: %v", err)
			}
			xs := rec.Exchanges()
			if len(xs) != 1 {
				t.Fatalf("recorded %d exchanges", len(xs))
			}
			dump, _ := json.Marshal(xs[0])
			for _, secret := range []string{f.SK, testToken, "Signature="} {
				if strings.Contains(string(dump), secret) {
					t.Errorf("exchange contains secret %q: %s", secret, dump)
				}
			}
			if !strings.Contains(string(dump), "[REDACTED]") {
				t.Errorf("exchange shows no redaction: %s", dump)
			}
		})
	}
}

func TestTimeoutAndDroppedConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	t.Run("timeout", func(t *testing.T) {
		f.SetLatency(2 * time.Second)
		defer f.ClearFaults()
		c := f.Client(t, func(c *vpcep.Config) { c.Timeout = 100 * time.Millisecond })
		_, err := c.ListEndpoints(context.Background(), vpcep.ListOptions{})
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Status != 0 || ve.Message != "the upstream did not answer in time" {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		f.SetLatency(2 * time.Second)
		defer f.ClearFaults()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := f.Client(t, nil).ListEndpoints(ctx, vpcep.ListOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("dropped connection", func(t *testing.T) {
		f.DropNext(vpcep.DefaultAttempts)
		_, err := f.Client(t, nil).ListEndpoints(context.Background(), vpcep.ListOptions{})
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Status != 0 || !strings.HasPrefix(ve.Message, "could not reach the upstream") || ve.Attempts != vpcep.DefaultAttempts {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]vpcep.Config{
		"no project":       {Endpoint: "http://x", AK: "a", SK: "b"},
		"no credential":    {Endpoint: "http://x", ProjectID: "p"},
		"AK without SK":    {Endpoint: "http://x", ProjectID: "p", AK: "a"},
		"no region or url": {ProjectID: "p", AK: "a", SK: "b"},
		"unknown region":   {Region: "mars-1", ProjectID: "p", AK: "a", SK: "b"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := vpcep.New(cfg); err == nil {
				t.Fatal("New accepted an incomplete config")
			}
		})
	}
	c, err := vpcep.New(vpcep.Config{Region: "cn-north-4", ProjectID: "p", Token: "t"})
	if err != nil || c.Endpoint() != "https://vpcep.cn-north-4.myhuaweicloud.com" {
		t.Fatalf("region endpoint = %v, %v", c, err)
	}
}

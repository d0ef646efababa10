package cts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// ctsClient is a CTS client of the simulator in AK/SK mode; adjust changes
// its configuration first.
func ctsClient(t *testing.T, u *simtest.Upstream, adjust func(*cts.Config)) *cts.Client {
	t.Helper()
	return u.CTS(t, adjust)
}

// window is a lookup window around everything a test does.
func window() (from, to time.Time) {
	now := time.Now()
	return now.Add(-time.Hour), now.Add(time.Hour)
}

func TestPolicyTracesFindsAnOutOfBandChange(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	other := u.Gateway(t, 2)
	from, to := window()

	// The console's own change through the API, then one made elsewhere,
	// and a change on another endpoint that must not be reported.
	vc := u.Client(t, nil)
	if _, err := vc.UpdatePolicy(context.Background(), gw.ID, u.Live(t, gw.ID)); err != nil {
		t.Fatalf("UpdatePolicy: %v", err)
	}
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatalf("out-of-band change: %v", err)
	}
	if err := u.OutOfBandEditAs(other.ID, "someone-else", "10.0.9.9"); err != nil {
		t.Fatalf("out-of-band change: %v", err)
	}

	traces, err := ctsClient(t, u, nil).PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil {
		t.Fatalf("PolicyTraces: %v", err)
	}
	if len(traces) != 2 {
		t.Fatalf("got %d traces, want 2: %+v", len(traces), traces)
	}
	recorded := u.Traces()
	api, oob := traces[0], traces[1] // oldest first
	if api.User != vpcepsim.DefaultCTSUser || api.SourceIP != "127.0.0.1" {
		t.Errorf("the API change's trace = %+v, want user %s from 127.0.0.1", api, vpcepsim.DefaultCTSUser)
	}
	want := recorded[1]
	if oob.User != "terraform-ci" || oob.SourceIP != "10.0.8.15" || oob.TraceName != cts.TraceModifyPolicy ||
		oob.ResourceID != gw.ID || oob.TraceID != want.TraceID || oob.RequestID != want.RequestID || oob.RequestID == "" ||
		!oob.Time.Equal(want.Time.Truncate(time.Millisecond)) {
		t.Errorf("out-of-band trace = %+v, want the simulator's %+v", oob, want)
	}

	// The query the SDK sent is the one CTS documents.
	var query string
	for _, r := range u.Requests() {
		if strings.HasSuffix(r.Path, "/traces") {
			query = r.Query
		}
	}
	for _, part := range []string{"trace_type=system", "service_type=VPCEP", "resource_id=" + gw.ID, "trace_name=modifyEndpointPolicy", "limit=200", "from=", "to="} {
		if !strings.Contains(query, part) {
			t.Errorf("ListTraces query %q lacks %q", query, part)
		}
	}
}

func TestPolicyTracesFollowsMarkers(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	from, to := window()
	const changes = 7
	for i := range changes {
		if err := u.OutOfBandEditAs(gw.ID, "user-"+string(rune('a'+i)), "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	before := len(u.Requests())
	traces, err := ctsClient(t, u, func(c *cts.Config) { c.PageSize = 3 }).PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil {
		t.Fatalf("PolicyTraces: %v", err)
	}
	if len(traces) != changes {
		t.Fatalf("got %d traces, want %d", len(traces), changes)
	}
	for i, tr := range traces {
		if want := "user-" + string(rune('a'+i)); tr.User != want {
			t.Errorf("trace %d is %s's, want %s's (oldest first)", i, tr.User, want)
		}
	}
	var pages []string
	for _, r := range u.Requests()[before:] {
		pages = append(pages, r.Query)
	}
	if len(pages) != 3 || strings.Contains(pages[0], "next=") || !strings.Contains(pages[1], "next=") || !strings.Contains(pages[2], "next=") {
		t.Errorf("pages asked for: %q, want 3, the later two with next=", pages)
	}

	// More pages than allowed is an error, never a partial answer.
	_, err = ctsClient(t, u, func(c *cts.Config) { c.PageSize = 2; c.MaxPages = 2 }).PolicyTraces(context.Background(), gw.ID, from, to)
	if err == nil || !strings.Contains(err.Error(), "more than 2 pages") {
		t.Errorf("bounded lookup: err = %v, want more than 2 pages", err)
	}
}

func TestPolicyTracesLag(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{CTSLag: time.Hour})
	gw := u.Gateway(t, 1)
	from, to := window()
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	c := ctsClient(t, u, nil)
	traces, err := c.PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil || len(traces) != 0 {
		t.Fatalf("within the lag: %d traces, err %v; want none yet", len(traces), err)
	}
	u.SetCTSLag(0) // the lag has passed
	traces, err = c.PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil || len(traces) != 1 || traces[0].User != "terraform-ci" {
		t.Fatalf("after the lag: %+v, err %v; want terraform-ci's trace", traces, err)
	}
}

func TestPolicyTracesDeleteNameOnRequest(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{Token: "iam-token"})
	gw := u.Gateway(t, 1)
	from, to := window()
	// The deprecated delete, as a script would send it.
	req, err := http.NewRequest(http.MethodDelete, u.URL+"/v1/"+simtest.ProjectID+"/vpc-endpoints/"+gw.ID+"/policy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", "iam-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE policy: %d", resp.StatusCode)
	}
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	only, err := ctsClient(t, u, nil).PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil || len(only) != 1 || only[0].TraceName != cts.TraceModifyPolicy {
		t.Fatalf("default names: %+v, err %v; want the modify trace alone", only, err)
	}
	both, err := ctsClient(t, u, func(c *cts.Config) {
		c.TraceNames = []string{cts.TraceModifyPolicy, cts.TraceDeletePolicy}
	}).PolicyTraces(context.Background(), gw.ID, from, to)
	if err != nil || len(both) != 2 {
		t.Fatalf("both names: %+v, err %v; want two traces", both, err)
	}
	// The two may share a millisecond, which leaves their order open.
	users := map[string]string{both[0].TraceName: both[0].User, both[1].TraceName: both[1].User}
	if users[cts.TraceDeletePolicy] != vpcepsim.DefaultCTSUser || users[cts.TraceModifyPolicy] != "terraform-ci" {
		t.Errorf("users by trace name: %v, want the delete by %s and the change by terraform-ci", users, vpcepsim.DefaultCTSUser)
	}
}

func TestPolicyTracesFault(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	from, to := window()
	u.FailRoute(vpcepsim.RouteListTraces, vpcepsim.Fault{Status: http.StatusServiceUnavailable, Code: "CTS.0503", Message: "busy"})
	_, err := ctsClient(t, u, nil).PolicyTraces(context.Background(), gw.ID, from, to)
	var ve *vpcep.Error
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want a *vpcep.Error", err, err)
	}
	if ve.Status != http.StatusServiceUnavailable || ve.Code != "CTS.0503" || ve.RequestID == "" || ve.Message != "busy" {
		t.Errorf("err = %+v, want 503 CTS.0503 busy with a request id", ve)
	}
	if !strings.Contains(err.Error(), "Cloud Trace Service") {
		t.Errorf("err %q does not say it was CTS", err)
	}

	// An answer that never comes is bounded by the timeout.
	u.ClearFaults()
	u.SetRouteLatency(vpcepsim.RouteListTraces, time.Minute)
	_, err = ctsClient(t, u, func(c *cts.Config) { c.Timeout = 100 * time.Millisecond }).PolicyTraces(context.Background(), gw.ID, from, to)
	if !errors.As(err, &ve) || ve.Status != 0 || !strings.Contains(ve.Message, "did not answer in time") {
		t.Errorf("slow CTS: err = %v, want a timeout", err)
	}
}

// TestCredentialModes: each credential mode reads traces or fails with
// the gateway's refusal; neither a failure nor a recorded exchange holds a
// secret, and the recorded Authorization or X-Auth-Token is [REDACTED].
func TestCredentialModes(t *testing.T) {
	t.Parallel()
	const token, wrongToken = "iam-token-for-cts-0123456789", "stale-token-never-valid-0123456789"
	wrongSK := strings.Repeat("x", 40)
	u := simtest.Start(t, simtest.Options{Token: token})
	gw := u.Gateway(t, 1)
	from, to := window()
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		adjust  func(*cts.Config)
		header  string // the credential's header
		wantErr string
	}{
		{"AK/SK", nil, "Authorization", ""},
		{"token", func(c *cts.Config) { c.AK, c.SK, c.Token = "", "", token }, "X-Auth-Token", ""},
		{"wrong token", func(c *cts.Config) { c.AK, c.SK, c.Token = "", "", wrongToken }, "X-Auth-Token", "APIGW.0301"},
		{"wrong SK", func(c *cts.Config) { c.SK = wrongSK }, "Authorization", "APIGW.0301"},
	}
	secrets := []string{token, wrongToken, wrongSK, u.SK}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, rec := vpcep.WithRecorder(context.Background())
			traces, err := ctsClient(t, u, tt.adjust).PolicyTraces(ctx, gw.ID, from, to)
			if tt.wantErr == "" {
				if err != nil || len(traces) != 1 {
					t.Fatalf("%d traces, err %v; want 1", len(traces), err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %s", err, tt.wantErr)
			}
			if err != nil {
				for _, secret := range secrets {
					if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
						t.Errorf("the error holds a secret: %v", err)
					}
				}
			}
			xs := rec.Exchanges()
			if len(xs) == 0 {
				t.Fatal("nothing recorded")
			}
			for _, x := range xs {
				if got := x.RequestHeaders.Get(tt.header); got != "[REDACTED]" {
					t.Errorf("recorded %s = %q, want [REDACTED]", tt.header, got)
				}
				dump := fmt.Sprintf("%s %v %s %v %s", x.URL, x.RequestHeaders, x.RequestBody, x.ResponseHeaders, x.ResponseBody)
				for _, secret := range secrets {
					if strings.Contains(dump, secret) {
						t.Errorf("a recorded exchange holds a secret: %s", dump)
					}
				}
			}
		})
	}
}

// TestIAMUserCredential: a CTS client signed by an IAM user's renewing
// credential reads traces, and again after IAM expired its token (the 401
// renews it once).
func TestIAMUserCredential(t *testing.T) {
	t.Parallel()
	user := vpcepsim.IAMUser{Name: "console", Password: "iam-Passw0rd-for-cts", Domain: "acme"}
	u := simtest.Start(t, simtest.Options{IAM: vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{user}}})
	gw := u.Gateway(t, 1)
	from, to := window()
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	iam, err := vpcep.NewIAMClient(vpcep.IAMConfig{Endpoint: u.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{
		IAM: iam, ProjectID: simtest.ProjectID,
		User: vpcep.IAMUser{Name: user.Name, Password: user.Password, Domain: user.Domain},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := ctsClient(t, u, func(c *cts.Config) { c.AK, c.SK, c.TokenSource = "", "", cred })
	for i := range 2 {
		traces, err := c.PolicyTraces(context.Background(), gw.ID, from, to)
		if err != nil || len(traces) != 1 {
			t.Fatalf("lookup %d: %d traces, %v; want 1", i+1, len(traces), err)
		}
		u.ExpireTokens()
	}
	if n := u.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2 (the first, one renewal after the expiry)", n)
	}
}

func TestNewClientConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		cfg          cts.Config
		wantEndpoint string
		wantErr      string
	}{
		{"region table", cts.Config{Region: "cn-north-4", ProjectID: "p", AK: "a", SK: "s"}, "https://cts.cn-north-4.myhuaweicloud.com", ""},
		{"another region", cts.Config{Region: "ap-southeast-1", ProjectID: "p", Token: "t"}, "https://cts.ap-southeast-1.myhuaweicloud.com", ""},
		{"endpoint overrides", cts.Config{Region: "cn-north-4", Endpoint: "http://127.0.0.1:9/", ProjectID: "p", Token: "t"}, "http://127.0.0.1:9", ""},
		{"unknown region", cts.Config{Region: "mars-1", ProjectID: "p", Token: "t"}, "", "CTS_ENDPOINT"},
		{"no region", cts.Config{ProjectID: "p", Token: "t"}, "", "CTS_ENDPOINT"},
		{"no project", cts.Config{Region: "cn-north-4", Token: "t"}, "", "project id"},
		{"half a key", cts.Config{Region: "cn-north-4", ProjectID: "p", AK: "a"}, "", "both AK and SK"},
		{"no credential", cts.Config{Region: "cn-north-4", ProjectID: "p"}, "", "AK/SK pair or a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cts.NewClient(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if c.Endpoint() != tt.wantEndpoint {
				t.Errorf("endpoint %s, want %s", c.Endpoint(), tt.wantEndpoint)
			}
		})
	}
}

func TestPolicyTracesWindow(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	at := u.Traces()[0].Time
	c := ctsClient(t, u, nil)
	// A window that starts or ends exactly at the change still finds it.
	for _, w := range [][2]time.Time{{at, at.Add(time.Minute)}, {at.Add(-time.Minute), at}} {
		traces, err := c.PolicyTraces(context.Background(), gw.ID, w[0], w[1])
		if err != nil || len(traces) != 1 {
			t.Errorf("window %v: %d traces, %v; want 1", w, len(traces), err)
		}
	}
	if traces, err := c.PolicyTraces(context.Background(), gw.ID, at.Add(time.Second), at.Add(time.Minute)); err != nil || len(traces) != 0 {
		t.Errorf("a later window: %d traces, %v; want none", len(traces), err)
	}
	if _, err := c.PolicyTraces(context.Background(), gw.ID, at, at.Add(-time.Minute)); err == nil {
		t.Error("a window ending before it starts was accepted")
	}
	if _, err := c.PolicyTraces(context.Background(), "", at, at); err == nil {
		t.Error("no endpoint id was accepted")
	}
}

// TestPolicyTracesLookupDeadline: a CTS slow on every page fails the
// lookup at LookupTimeout, though each call is well within its own
// Timeout; the window must have both ends.
func TestPolicyTracesLookupDeadline(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	from, to := window()
	for i := range 6 {
		if err := u.OutOfBandEditAs(gw.ID, "user-"+string(rune('a'+i)), "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	u.SetRouteLatency(vpcepsim.RouteListTraces, 150*time.Millisecond)
	c := ctsClient(t, u, func(c *cts.Config) {
		c.PageSize, c.Timeout, c.LookupTimeout = 1, 5*time.Second, 300*time.Millisecond
	})
	// Six pages of 150 ms each against a 300 ms lookup.
	traces, err := c.PolicyTraces(context.Background(), gw.ID, from, to)
	var ve *vpcep.Error
	if !errors.As(err, &ve) || !strings.Contains(ve.Message, "did not answer in time") {
		t.Fatalf("%d traces, err %v; want the lookup's deadline", len(traces), err)
	}
	for _, w := range [][2]time.Time{{{}, to}, {from, {}}} {
		if _, err := c.PolicyTraces(context.Background(), gw.ID, w[0], w[1]); err == nil || !strings.Contains(err.Error(), "both a start and an end") {
			t.Errorf("window %v: err %v, want refused", w, err)
		}
	}
}

// TestTraceNamesCaseInsensitive: CTS matches trace_name without regard to
// case, and so does the client's own check of what it answered.
func TestTraceNamesCaseInsensitive(t *testing.T) {
	t.Parallel()
	u := simtest.Start(t, simtest.Options{})
	gw := u.Gateway(t, 1)
	from, to := window()
	if err := u.OutOfBandEditAs(gw.ID, "terraform-ci", "10.0.8.15"); err != nil {
		t.Fatal(err)
	}
	c := ctsClient(t, u, func(c *cts.Config) { c.TraceNames = []string{"ModifyEndpointPolicy"} })
	if traces, err := c.PolicyTraces(context.Background(), gw.ID, from, to); err != nil || len(traces) != 1 {
		t.Fatalf("%d traces, %v; want 1", len(traces), err)
	}
}

// TestConfigNeverPrintsSecrets: a CTS configuration prints and logs
// without its SK or token.
func TestConfigNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	const sk, token = "SKsecret-never-printed-0123456789", "MIItoken-never-printed-0123456789"
	for _, cfg := range []cts.Config{{ProjectID: "p", AK: "a", SK: sk}, {ProjectID: "p", Token: token}} {
		var out bytes.Buffer
		fmt.Fprintf(&out, "%v %+v %#v %s", cfg, cfg, cfg, cfg)
		slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "cfg", cfg, "nested", struct{ C cts.Config }{cfg})
		slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "cfg", cfg, "nested", struct{ C cts.Config }{cfg})
		if s := out.String(); strings.Contains(s, sk) || strings.Contains(s, token) {
			t.Errorf("a secret printed or logged:\n%s", s)
		}
	}
}

package vpcep_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	sdkconfig "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	sdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"

	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

const iamPassword = "iam-Passw0rd-never-logged"

var iamUser = vpcep.IAMUser{Name: "console", Password: iamPassword, Domain: "acme"}

// iamFixture is a simulator with IAM, an IAM client of it that counts its
// requests, and a log that the test reads.
type iamFixture struct {
	sim         *vpcepsim.Server
	url         string
	iam         *vpcep.IAMClient
	iamRequests atomic.Int64
	logs        syncBuffer
	logger      *slog.Logger
}

func newIAMFixture(t *testing.T, lifetime time.Duration) *iamFixture {
	t.Helper()
	f := &iamFixture{}
	f.sim = vpcepsim.New(vpcepsim.Options{
		ProjectID: simtest.ProjectID, Endpoints: demo(),
		IAM: vpcepsim.IAMOptions{
			Users:         []vpcepsim.IAMUser{{Name: iamUser.Name, Password: iamUser.Password, Domain: iamUser.Domain}},
			TokenLifetime: lifetime,
		},
	})
	srv := httptest.NewServer(f.sim)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	var err error
	f.iam, err = vpcep.NewIAMClient(vpcep.IAMConfig{Endpoint: srv.URL, Timeout: 5 * time.Second, Transport: countingTransport{&f.iamRequests}})
	if err != nil {
		t.Fatal(err)
	}
	f.logger = slog.New(slog.NewTextHandler(&f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return f
}

// credential is a renewing credential of the fixture's IAM user.
func (f *iamFixture) credential(t *testing.T, user vpcep.IAMUser, now func() time.Time) *vpcep.RenewingCredential {
	t.Helper()
	c, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{
		IAM: f.iam, User: user, ProjectID: simtest.ProjectID, Now: now, Logger: f.logger,
		MinLifetime: 100 * time.Millisecond, // the simulator's tokens live 2 s
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *iamFixture) client(t *testing.T, source vpcep.TokenSource) *vpcep.Client {
	t.Helper()
	c, err := vpcep.New(vpcep.Config{Endpoint: f.url, ProjectID: simtest.ProjectID, TokenSource: source, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkNoSecretLogged fails t if the log holds the password or a token.
func (f *iamFixture) checkNoSecretLogged(t *testing.T) {
	t.Helper()
	logged := f.logs.String()
	if !strings.Contains(logged, "IAM token") {
		t.Errorf("nothing was logged about tokens:\n%s", logged)
	}
	if strings.Contains(logged, iamPassword) {
		t.Errorf("the log holds the password:\n%s", logged)
	}
	for _, tok := range f.sim.IssuedTokens() {
		if strings.Contains(logged, tok) {
			t.Errorf("the log holds a token:\n%s", logged)
		}
	}
}

type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// movableClock is a clock the test moves.
type movableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movableClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// waitFor polls cond until it holds, failing t after within.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("gave up waiting for %s after %s", what, within)
		case <-tick.C:
		}
	}
}

// callers keep n goroutines reading endpoint id until stopped, counting
// successes and keeping failures.
type callers struct {
	ok       atomic.Int64
	mu       sync.Mutex
	failures []error
	stop     chan struct{}
	halted   sync.Once
	wg       sync.WaitGroup
}

func startCallers(client *vpcep.Client, id string, n int) *callers {
	c := &callers{stop: make(chan struct{})}
	for range n {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				if _, err := client.GetEndpoint(context.Background(), id); err != nil {
					c.mu.Lock()
					c.failures = append(c.failures, err)
					c.mu.Unlock()
				} else {
					c.ok.Add(1)
				}
			}
		}()
	}
	return c
}

// halt stops the callers (once; later calls are no-ops) and returns the
// failures.
func (c *callers) halt() []error {
	c.halted.Do(func() { close(c.stop) })
	c.wg.Wait()
	return c.failures
}

// TestRenewalAcrossExpiryWithCallsInFlight keeps 16 callers reading
// through the simulator (2 s tokens) while the credential's token is
// renewed on schedule (its clock moved past the renewal point) and then
// expires at the simulator before the credential expects it (so the 401
// path renews): exactly one token request for each, and no call fails.
func TestRenewalAcrossExpiryWithCallsInFlight(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, 2*time.Second)
	clock := &movableClock{now: time.Now()}
	cred := f.credential(t, iamUser, clock.Now)
	id := f.sim.Endpoints()[0].ID
	calls := startCallers(f.client(t, cred), id, 16)
	defer calls.halt()

	// The first token: one request, however many callers wanted it at once.
	waitFor(t, "calls with the first token", 10*time.Second, func() bool { return calls.ok.Load() >= 50 })
	if n := f.sim.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens issued for the first calls, want 1", n)
	}
	first := cred.Status().ExpiresAt

	// Past the renewal point (half the lifetime): one renewal, in the
	// background, while the callers go on with the old token.
	clock.Advance(1200 * time.Millisecond)
	if s := cred.Status(); s.State == vpcep.StateExpired || !s.RenewAt.Before(clock.Now()) {
		t.Fatalf("status %+v at %s: want a token due for renewal, not expired", s, clock.Now())
	}
	before := calls.ok.Load()
	waitFor(t, "the scheduled renewal", 10*time.Second, func() bool {
		return cred.Status().Renewals == 2 && calls.ok.Load() >= before+50
	})
	if n := f.sim.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens issued after the scheduled renewal, want 2", n)
	}
	if !cred.Status().ExpiresAt.After(first) {
		t.Errorf("ExpiresAt %s did not move past %s", cred.Status().ExpiresAt, first)
	}

	// The simulator's clock runs on: the second token expires there
	// while the credential still trusts it. The callers' 401s renew it
	// once, and each refused call is sent again and succeeds.
	waitFor(t, "a renewal after the simulator's expiry", 10*time.Second, func() bool { return f.sim.TokensIssued() >= 3 })
	before = calls.ok.Load()
	waitFor(t, "calls with the third token", 10*time.Second, func() bool { return calls.ok.Load() >= before+50 })
	failures := calls.halt()
	if n := f.sim.TokensIssued(); n != 3 {
		t.Errorf("%d tokens issued, want 3 (first, scheduled renewal, renewal after a 401)", n)
	}
	if n := f.iamRequests.Load(); n != 3 {
		t.Errorf("%d requests to IAM, want 3", n)
	}
	for _, err := range failures {
		t.Errorf("a call failed: %v", err)
	}
	if s := cred.Status(); s.State != vpcep.StateValid || s.LastError != nil {
		t.Errorf("status %+v, want valid", s)
	}
	f.checkNoSecretLogged(t)
}

// TestRenewalOn401IsOnceForAll expires the token at the simulator and sends
// 32 calls at once, a policy update among them: one renewal serves all,
// none fails, and the update takes effect once.
func TestRenewalOn401IsOnceForAll(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, time.Hour)
	cred := f.credential(t, iamUser, nil)
	client := f.client(t, cred)
	ctx := context.Background()
	gateway := firstWith(t, f.sim.Endpoints(), isPolicyGateway)
	if _, err := client.GetEndpoint(ctx, gateway.ID); err != nil {
		t.Fatal(err)
	}
	f.sim.ExpireTokens()

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 33)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := client.GetEndpoint(ctx, gateway.ID)
			errs <- err
		}()
	}
	wg.Add(1)
	statements := []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"bucket/*"}}}
	recorded, rec := vpcep.WithRecorder(ctx)
	go func() {
		defer wg.Done()
		<-start
		_, err := client.UpdatePolicy(recorded, gateway.ID, statements)
		errs <- err
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a call failed: %v", err)
		}
	}
	if n := f.sim.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2 (one renewal for all the 401s)", n)
	}
	if got, _ := f.sim.Endpoint(gateway.ID); len(got.Statements) != 1 || got.Statements[0].Resource[0] != "bucket/*" {
		t.Errorf("the update did not take effect: %+v", got.Statements)
	}
	// What the audit log would keep: one exchange, the answer that counts,
	// and neither the token nor the password.
	exchanges := rec.Exchanges()
	if len(exchanges) != 1 || exchanges[0].Status != http.StatusOK || exchanges[0].RequestHeaders.Get("X-Auth-Token") != "[REDACTED]" {
		t.Errorf("recorded %d exchanges (%+v), want the one answered 200, its token redacted", len(exchanges), exchanges)
	}
	for _, x := range exchanges {
		kept := fmt.Sprint(x.RequestHeaders, x.ResponseHeaders, string(x.RequestBody), string(x.ResponseBody))
		for _, secret := range append(f.sim.IssuedTokens(), iamPassword) {
			if strings.Contains(kept, secret) {
				t.Errorf("the recorded exchange holds a secret: %s", kept)
			}
		}
	}
	f.checkNoSecretLogged(t)
}

// TestRenewalFailure: a wrong password fails the calls with IAM's answer
// (status and message, no password), the status says so, and IAM is left
// alone for the failure backoff.
func TestRenewalFailure(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, time.Hour)
	wrong := iamUser
	wrong.Password = "wrong-" + iamPassword
	cred := f.credential(t, wrong, nil)
	client := f.client(t, cred)
	id := f.sim.Endpoints()[0].ID
	for range 3 {
		_, err := client.GetEndpoint(context.Background(), id)
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Status != http.StatusUnauthorized || ve.RequestID == "" || ve.Attempts != 1 ||
			!strings.Contains(ve.Message, "IAM gave no token: The username or password is wrong.") {
			t.Fatalf("error %#v, want IAM's refusal (401, its message and request id, not retried)", err)
		}
		if strings.Contains(err.Error(), iamPassword) {
			t.Errorf("error %q holds the password", err)
		}
	}
	if n := f.iamRequests.Load(); n != 1 {
		t.Errorf("%d requests to IAM, want 1 (the failure backoff)", n)
	}
	s := cred.Status()
	var ie *vpcep.Error
	if s.State != vpcep.StateFailing || !errors.As(s.LastError, &ie) || ie.Status != http.StatusUnauthorized {
		t.Errorf("status %+v, want failing with IAM's 401", s)
	}
	if !cred.Status().ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %s with no token", cred.Status().ExpiresAt)
	}
	if strings.Contains(f.logs.String(), iamPassword) {
		t.Errorf("the log holds the password:\n%s", f.logs.String())
	}
}

func TestFixedTokenExpiry(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, 24*time.Hour)
	ctx := context.Background()
	tok, err := f.iam.CreateProjectToken(ctx, iamUser, simtest.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ProjectID != simtest.ProjectID || !tok.ExpiresAt.After(tok.IssuedAt) {
		t.Errorf("token %v", tok)
	}
	if strings.Contains(tok.String(), tok.Value) {
		t.Error("the token's String holds its value")
	}

	exp, err := vpcep.FixedTokenExpiry(ctx, f.iam, tok.Value)
	if err != nil || !exp.Known || !exp.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("FixedTokenExpiry = %+v, %v; want known, %s", exp, err, tok.ExpiresAt)
	}
	if exp.ExpiresWithin(tok.IssuedAt, vpcep.FixedTokenWarning) {
		t.Error("a fresh 24-hour token expires within the hour")
	}
	if !exp.ExpiresWithin(tok.ExpiresAt.Add(-30*time.Minute), vpcep.FixedTokenWarning) {
		t.Error("a token 30 minutes from expiry does not expire within the hour")
	}

	// A token IAM does not know: the expiry is unknown, and never "soon".
	unknown, err := vpcep.FixedTokenExpiry(ctx, f.iam, "MIIfixed-token-IAM-never-issued")
	if err == nil || unknown.Known || unknown.ExpiresWithin(time.Now(), vpcep.FixedTokenWarning) {
		t.Errorf("FixedTokenExpiry of an unknown token = %+v, %v", unknown, err)
	}
	if _, err := vpcep.FixedTokenExpiry(ctx, nil, tok.Value); err == nil {
		t.Error("FixedTokenExpiry without IAM succeeded")
	}
}

// TestRenewalOnScheduleWithRealClock runs the credential on the real clock
// against the simulator's 2 s tokens: renewed at half their lifetime, the
// tokens never expire under the 16 callers (no 401, no failure), one token
// request per renewal.
func TestRenewalOnScheduleWithRealClock(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, 2*time.Second)
	cred := f.credential(t, iamUser, nil)
	calls := startCallers(f.client(t, cred), f.sim.Endpoints()[0].ID, 16)
	defer calls.halt()

	waitFor(t, "two renewals", 10*time.Second, func() bool { return f.sim.TokensIssued() >= 3 })
	before := calls.ok.Load()
	waitFor(t, "calls with the third token", 10*time.Second, func() bool { return calls.ok.Load() >= before+50 })
	for _, err := range calls.halt() {
		t.Errorf("a call failed: %v", err)
	}
	// On a loaded machine the 50 calls may outlast the third token's
	// renewal time: a fourth renewal is then due, still one request each.
	if n, m := f.sim.TokensIssued(), f.iamRequests.Load(); n < 3 || int64(n) != m {
		t.Errorf("%d tokens issued in %d requests to IAM, want at least 3, one request each", n, m)
	}
	if logged := f.logs.String(); strings.Contains(logged, "refused") {
		t.Errorf("a token was refused; it should have been renewed first:\n%s", logged)
	}
	f.checkNoSecretLogged(t)
}

// TestRefusedFreshTokenIsNotRenewedAgain points the credential at one
// simulator's IAM and the client at another, which knows none of its
// tokens: the first refusal renews once, the refusal of the new token stops
// the renewals (for the failure backoff), and every call fails with the
// gateway's 401.
func TestRefusedFreshTokenIsNotRenewedAgain(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, time.Hour)
	elsewhere := newIAMFixture(t, time.Hour)
	cred := f.credential(t, iamUser, nil)
	client := elsewhere.client(t, cred)
	for range 5 {
		_, err := client.GetEndpoint(context.Background(), "any")
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Status != http.StatusUnauthorized || ve.Code != "APIGW.0301" {
			t.Fatalf("error %v, want the gateway's 401", err)
		}
	}
	if n := f.iamRequests.Load(); n != 2 {
		t.Errorf("%d requests to IAM, want 2 (the first token and one renewal)", n)
	}
	if s := cred.Status(); s.State != vpcep.StateFailing || s.LastError == nil {
		t.Errorf("status %+v, want failing", s)
	}
	f.checkNoSecretLogged(t)
}

// TestRunRenewsWithoutCalls: with no call at all, Run keeps a 2 s token
// renewed at half its lifetime, and returns when its context ends.
func TestRunRenewsWithoutCalls(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, 2*time.Second)
	cred := f.credential(t, iamUser, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cred.Run(ctx)
	}()
	waitFor(t, "two renewals", 10*time.Second, func() bool { return cred.Status().Renewals >= 3 })
	cancel()
	<-done
	if s := cred.Status(); s.State != vpcep.StateValid || s.Renewals < 3 {
		t.Errorf("status %+v, want valid after 3 tokens", s)
	}
	if logged := f.logs.String(); strings.Contains(logged, "refused") || strings.Contains(logged, "could not") {
		t.Errorf("a renewal failed or a token was refused:\n%s", logged)
	}
	f.checkNoSecretLogged(t)
}

// TestTokenSourceForAnotherSDKClient signs a bare SDK client (as the CTS
// client builds its own) with SDKCredential of a TokenSource and
// RenewingTransport; without the transport, no call is taken.
func TestTokenSourceForAnotherSDKClient(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, time.Hour)
	cred := f.credential(t, iamUser, nil)
	sdkCred, err := vpcep.SDKCredential(vpcep.Config{ProjectID: simtest.ProjectID, TokenSource: cred, AK: "ignored", SK: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	bare := sdk.NewVpcepClient(core.NewHcHttpClient(impl.NewDefaultHttpClient(sdkconfig.DefaultHttpConfig())).
		WithEndpoints([]string{f.url}).WithCredential(sdkCred))
	if _, err := bare.ListEndpoints(&model.ListEndpointsRequest{}); err == nil {
		t.Fatal("a call without RenewingTransport was taken")
	}
	cfg := sdkconfig.DefaultHttpConfig().WithHttpRoundTripper(vpcep.RenewingTransport(nil, cred))
	sc := sdk.NewVpcepClient(core.NewHcHttpClient(impl.NewDefaultHttpClient(cfg)).
		WithEndpoints([]string{f.url}).
		WithCredential(sdkCred))
	for range 2 {
		resp, err := sc.ListEndpoints(&model.ListEndpointsRequest{})
		if err != nil || resp.TotalCount == nil || *resp.TotalCount != 36 {
			t.Fatalf("ListEndpoints = %v, %v", resp, err)
		}
		f.sim.ExpireTokens() // the second call renews on its 401
	}
	if n := f.sim.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}

// TestRunIdlesAfterAFreshTokenIsRefused: once the upstream refused a newly
// obtained token (kept, still usable, until its renewal time), Run sleeps
// until that renewal time rather than waking every few milliseconds once
// the 50 ms failure backoff is over.
func TestRunIdlesAfterAFreshTokenIsRefused(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, time.Hour)
	elsewhere := newIAMFixture(t, time.Hour)
	var nows atomic.Int64
	cred, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{
		IAM: f.iam, User: iamUser, ProjectID: simtest.ProjectID, Logger: f.logger,
		FailureBackoff: 50 * time.Millisecond,
		Now:            func() time.Time { nows.Add(1); return time.Now() },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first call's refusal renews; the second's, of the new token, is
	// the failure.
	for range 2 {
		if _, err := elsewhere.client(t, cred).GetEndpoint(context.Background(), "any"); err == nil {
			t.Fatal("the other simulator took a token it never issued")
		}
	}
	if s := cred.Status(); s.State != vpcep.StateFailing {
		t.Fatalf("status %+v, want failing after the fresh token was refused", s)
	}

	before := nows.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	cred.Run(ctx) // returns when ctx ends
	// One pass of the loop reads the clock twice; a 10 ms spin over the
	// 350 ms after the backoff would read it about 70 times.
	if n := nows.Load() - before; n > 10 {
		t.Errorf("Run read the clock %d times in 400 ms: it spins instead of waiting for the renewal time", n)
	}
	if n := f.iamRequests.Load(); n != 2 {
		t.Errorf("%d requests to IAM, want 2 (the first token and one renewal)", n)
	}
}

// TestTokenWithNoUsableLifetimeIsAFailure: a token IAM grants for less
// than MinLifetime (here 30 s against the default minute) is a failed
// renewal, left alone for the failure backoff, not one renewal per call.
func TestTokenWithNoUsableLifetimeIsAFailure(t *testing.T) {
	t.Parallel()
	f := newIAMFixture(t, 30*time.Second)
	cred, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{
		IAM: f.iam, User: iamUser, ProjectID: simtest.ProjectID, Logger: f.logger, FailureBackoff: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := cred.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "no usable lifetime") {
			t.Fatalf("Token = %q, %v; want the failure", tok, err)
		}
	}
	if n := f.iamRequests.Load(); n != 1 {
		t.Errorf("%d requests to IAM, want 1 (the failure backoff)", n)
	}
	s := cred.Status()
	if s.State != vpcep.StateFailing || s.LastError == nil || s.LastError.Error() != "IAM granted a token with no usable lifetime" || s.FailedAt.IsZero() {
		t.Errorf("status %+v, want failing for want of a lifetime", s)
	}
	f.checkNoSecretLogged(t)
}

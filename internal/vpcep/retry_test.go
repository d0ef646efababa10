package vpcep_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// attempts records what an Observer is told.
type attempts struct {
	mu  sync.Mutex
	got []vpcep.Attempt
}

func (a *attempts) UpstreamAttempt(at vpcep.Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at.Duration = 0 // never compared: the machine is shared and noisy
	a.got = append(a.got, at)
}

func (a *attempts) list() []vpcep.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]vpcep.Attempt(nil), a.got...)
}

// retryClient is a client of f with short backoffs, a fresh connection per
// request (on a reused one, net/http itself replays a GET whose connection
// was dropped) and an observer.
func retryClient(t *testing.T, f *simtest.Upstream, adjust func(*vpcep.Config)) (*vpcep.Client, *attempts) {
	t.Helper()
	obs := &attempts{}
	c := f.Client(t, func(c *vpcep.Config) {
		c.Retry = vpcep.Retry{BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}
		c.Transport = &http.Transport{DisableKeepAlives: true}
		if adjust != nil {
			adjust(c)
		}
	})
	return c.WithObserver(obs), obs
}

// reads are the client's GETs, each called once against the simulator.
var reads = map[string]func(context.Context, *vpcep.Client, *simtest.Upstream) error{
	vpcep.OpListEndpoints: func(ctx context.Context, c *vpcep.Client, _ *simtest.Upstream) error {
		_, err := c.ListEndpoints(ctx, vpcep.ListOptions{Limit: 5})
		return err
	},
	vpcep.OpGetEndpoint: func(ctx context.Context, c *vpcep.Client, f *simtest.Upstream) error {
		_, err := c.GetEndpoint(ctx, f.Endpoints()[0].ID)
		return err
	},
}

func TestReadsRetryServerErrorsThrottlingAndLostAnswers(t *testing.T) {
	t.Parallel()
	failures := map[string]struct {
		inject             func(*simtest.Upstream)
		wantStatus         int
		wantCode, wantFail string
	}{
		"503": {func(f *simtest.Upstream) {
			f.FailNext(1, vpcepsim.Fault{Status: 503, Code: "EndPoint.0001", Message: "System error. Please retry."})
		}, 503, "EndPoint.0001", ""},
		"504 request timed out": {func(f *simtest.Upstream) { f.FailNext(1, vpcepsim.Fault{Status: 504, Code: "EndPoint.0013"}) }, 504, "EndPoint.0013", ""},
		"429":                   {func(f *simtest.Upstream) { f.FailNext(1, vpcepsim.Fault{Status: 429, Code: "APIGW.0308"}) }, 429, "APIGW.0308", ""},
		"throttled with 400 EndPoint.0022": {func(f *simtest.Upstream) {
			f.FailNext(1, vpcepsim.Fault{Status: 400, Code: "EndPoint.0022", Message: "The number of requests exceeded the limit. Please try later."})
		}, 400, "EndPoint.0022", ""},
		"dropped connection": {func(f *simtest.Upstream) { f.DropNext(1) }, 0, "", "transport"},
	}
	for name, fail := range failures {
		for op, read := range reads {
			t.Run(name+"/"+op, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, demo())
				c, obs := retryClient(t, f, nil)
				fail.inject(f)
				if err := read(context.Background(), c, f); err != nil {
					t.Fatalf("%s after one %s: %v", op, name, err)
				}
				if n := len(f.Requests()); n != 2 {
					t.Errorf("%d requests reached the upstream, want 2", n)
				}
				want := []vpcep.Attempt{
					{Operation: op, Number: 1, Status: fail.wantStatus, Code: fail.wantCode, Failure: fail.wantFail},
					{Operation: op, Number: 2, Status: 200},
				}
				if diff := cmp.Diff(want, obs.list()); diff != "" {
					t.Errorf("attempts mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestReadsDoNotRetryClientErrors(t *testing.T) {
	t.Parallel()
	for _, fault := range []vpcepsim.Fault{
		{Status: 400, Code: "EndPoint.0002", Message: "Parameter error."},
		{Status: 401, Code: "APIGW.0301"},
		{Status: 403, Code: "EndPoint.0004"},
		{Status: 404, Code: "EndPoint.0005"},
	} {
		for op, read := range reads {
			t.Run(fault.Code+"/"+op, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, demo())
				c, _ := retryClient(t, f, nil)
				f.FailNext(1, fault)
				err := read(context.Background(), c, f)
				var ve *vpcep.Error
				if !errors.As(err, &ve) || ve.Status != fault.Status || ve.Code != fault.Code || ve.Attempts != 1 {
					t.Fatalf("error = %#v", err)
				}
				if n := len(f.Requests()); n != 1 {
					t.Errorf("%d requests reached the upstream, want 1", n)
				}
			})
		}
	}
}

func TestUpdatePolicyIsNeverRetried(t *testing.T) {
	t.Parallel()
	policy := []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}}}
	failures := map[string]func(*simtest.Upstream){
		"503":       func(f *simtest.Upstream) { f.FailNext(1, vpcepsim.Fault{Status: 503, Code: "EndPoint.0001"}) },
		"429":       func(f *simtest.Upstream) { f.FailNext(1, vpcepsim.Fault{Status: 429, Code: "APIGW.0308"}) },
		"throttled": func(f *simtest.Upstream) { f.FailNext(1, vpcepsim.Fault{Status: 400, Code: "EndPoint.0022"}) },
		"dropped":   func(f *simtest.Upstream) { f.DropNext(1) },
		"answer lost after taking effect": func(f *simtest.Upstream) {
			f.LoseAnswerNext(vpcepsim.RouteUpdatePolicy, 1)
		},
	}
	for name, inject := range failures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, demo())
			c, obs := retryClient(t, f, nil)
			inject(f)
			_, err := c.UpdatePolicy(context.Background(), f.Gateway(t, 1).ID, policy)
			var ve *vpcep.Error
			if !errors.As(err, &ve) || ve.Attempts != 1 {
				t.Fatalf("error = %#v", err)
			}
			if n := f.Puts(); n != 1 {
				t.Errorf("%d PUTs reached the upstream, want exactly 1", n)
			}
			if got := obs.list(); len(got) != 1 || got[0].Operation != vpcep.OpUpdatePolicy {
				t.Errorf("attempts = %+v", got)
			}
		})
	}
}

func TestRetriesAreBoundedAndReportTheLastRequestID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, demo())
	c, obs := retryClient(t, f, nil)
	f.FailRoute(vpcepsim.RouteGet, vpcepsim.Fault{Status: 503, Code: "EndPoint.0001", Message: "System error. Please retry."})
	ctx, rec := vpcep.WithRecorder(context.Background())
	_, err := c.GetEndpoint(ctx, f.Endpoints()[0].ID)
	var ve *vpcep.Error
	if !errors.As(err, &ve) || ve.Status != 503 || ve.Attempts != vpcep.DefaultAttempts {
		t.Fatalf("error = %#v", err)
	}
	xs := rec.Exchanges()
	if len(xs) != vpcep.DefaultAttempts || len(f.Requests()) != vpcep.DefaultAttempts || len(obs.list()) != vpcep.DefaultAttempts {
		t.Fatalf("%d exchanges, %d requests, %d observed; want %d of each", len(xs), len(f.Requests()), len(obs.list()), vpcep.DefaultAttempts)
	}
	if last := xs[len(xs)-1].RequestID(); ve.RequestID != last || ve.RequestID == xs[0].RequestID() {
		t.Errorf("error's request id %s; the attempts' were %s … %s", ve.RequestID, xs[0].RequestID(), last)
	}
}

func TestRetriesStopAtTheDeadline(t *testing.T) {
	t.Parallel()
	const many = 1000
	standing503 := vpcepsim.Fault{Status: 503, Code: "EndPoint.0001"}
	check := func(t *testing.T, f *simtest.Upstream, err error, maxAttempts int) {
		t.Helper()
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Status != 503 {
			t.Fatalf("error = %#v, want the last 503", err)
		}
		// The deadline can cut the last attempt after the client sent it but
		// before the simulator recorded it: that one may be missing there.
		if n := len(f.Requests()); ve.Attempts >= maxAttempts || (ve.Attempts != n && ve.Attempts != n+1) {
			t.Errorf("%d attempts, %d requests; want as many (the last perhaps cut short unseen), fewer than %d", ve.Attempts, n, maxAttempts)
		}
	}
	t.Run("the call's own timeout", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, demo())
		f.FailRoute(vpcepsim.RouteList, standing503)
		c, _ := retryClient(t, f, func(c *vpcep.Config) {
			c.Timeout, c.Retry.Attempts = 500*time.Millisecond, many
		})
		_, err := c.ListEndpoints(context.Background(), vpcep.ListOptions{})
		check(t, f, err, many)
	})
	t.Run("the caller's deadline", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, demo())
		f.FailRoute(vpcepsim.RouteGet, standing503)
		c, _ := retryClient(t, f, func(c *vpcep.Config) { c.Retry.Attempts = many })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := c.GetEndpoint(ctx, f.Endpoints()[0].ID)
		check(t, f, err, many)
	})
	t.Run("no room left for the backoff", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, demo())
		f.FailRoute(vpcepsim.RouteGet, standing503)
		// The first backoff (at least half of 10s) is longer than the whole
		// call may take: the 503 is the answer at once, not after the wait.
		c, _ := retryClient(t, f, func(c *vpcep.Config) {
			c.Timeout, c.Retry = 2*time.Second, vpcep.Retry{BaseDelay: 10 * time.Second}
		})
		_, err := c.GetEndpoint(context.Background(), f.Endpoints()[0].ID)
		check(t, f, err, 2)
	})
	t.Run("an attempt cut by the deadline is not retried", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, demo())
		f.SetLatency(5 * time.Second)
		c, obs := retryClient(t, f, func(c *vpcep.Config) { c.Timeout = 200 * time.Millisecond })
		_, err := c.ListEndpoints(context.Background(), vpcep.ListOptions{})
		var ve *vpcep.Error
		if !errors.As(err, &ve) || ve.Attempts != 1 || ve.Message != "the upstream did not answer in time" {
			t.Fatalf("error = %#v", err)
		}
		if got := obs.list(); len(got) != 1 || got[0].Failure != "timeout" {
			t.Errorf("attempts = %+v", got)
		}
	})
}

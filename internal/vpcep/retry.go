package vpcep

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	sdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
)

// Defaults of Retry's fields.
const (
	DefaultAttempts  = 3
	DefaultBaseDelay = 200 * time.Millisecond
	DefaultMaxDelay  = 2 * time.Second
)

// Retry says how reads (ListEndpoints pages and GetEndpoint) are tried again
// after a failure that may pass: no answer, a 5xx, or throttling (HTTP 429,
// or the API's EndPoint.0022, which comes as a 400). Every attempt stays
// within the call's deadline (Config.Timeout) and its context: a backoff
// that would end past the deadline is not waited for. UpdatePolicy is never
// retried here: whether to send a PUT again is the change's decision.
type Retry struct {
	// Attempts bounds the tries of one call, the first included;
	// DefaultAttempts when zero, and 1 turns retries off.
	Attempts int
	// BaseDelay is the backoff before the first retry, doubled before each
	// next one up to MaxDelay; each wait is drawn at random from its upper
	// half, so replicas throttled together do not retry together.
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxDelay < r.BaseDelay {
		r.MaxDelay = r.BaseDelay
	}
	return r
}

// backoff is the wait before attempt n+1 (n ≥ 1): BaseDelay·2^(n-1), capped
// at MaxDelay, with equal jitter (half fixed, half random).
func (r Retry) backoff(n int) time.Duration {
	d := r.MaxDelay
	if shift := n - 1; shift < 30 && r.BaseDelay<<shift < r.MaxDelay {
		d = r.BaseDelay << shift
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// throttlingCodes are the API's "too many requests" answers that do not come
// as HTTP 429. EndPoint.0022 ("The number of requests exceeded the limit.
// Please try later.") is documented with HTTP 400.
var throttlingCodes = map[string]bool{"EndPoint.0022": true}

// Throttled reports whether the upstream refused the call for its rate.
func (e *Error) Throttled() bool { return e.Status == 429 || throttlingCodes[e.Code] }

// retryable reports whether a failed read may be tried again: no answer
// arrived although ctx still runs (so the call's own deadline or the
// caller did not cut it), a server error, or throttling. Any other 4xx would
// fail the same way again, and an answer that could not be decoded too.
func retryable(ctx context.Context, e *Error) bool {
	switch {
	case ctx.Err() != nil:
		return false
	case e.Status == 0:
		return e.Err != nil
	case e.Status >= 500:
		return true
	default:
		return e.Throttled()
	}
}

// Operation names an upstream call, for metrics.
const (
	OpListEndpoints = "list_endpoints"
	OpGetEndpoint   = "get_endpoint"
	OpUpdatePolicy  = "update_policy"
)

// Attempt is one try of an upstream call, as an Observer sees it.
type Attempt struct {
	Operation string // OpListEndpoints, OpGetEndpoint or OpUpdatePolicy
	Number    int    // 1 for the first try, 2 for the first retry, ...
	Status    int    // HTTP status; 0 when no answer arrived
	Code      string // the upstream's error code, if it answered one
	// Failure says why no answer arrived: "timeout" (the call's deadline),
	// "canceled" (the caller gave up) or "transport"; "" when one did.
	Failure  string
	Duration time.Duration
}

// Observer is told about every attempt of every call, for metrics. It must
// be safe for concurrent use and quick: it runs on the caller's goroutine.
type Observer interface {
	UpstreamAttempt(Attempt)
}

// call is one upstream call named op (what, for errors) on ctx, which
// carries the call's deadline: attempt runs up to attempts times, waiting a
// backoff between tries, while the failure is retryable and the deadline
// leaves room for the wait. It returns the last attempt's error, with its
// request id and the number of attempts made.
func (c *Client) call(ctx context.Context, op, what string, attempts int, attempt func(*sdk.VpcepClient) (int, error)) error {
	client := c.sdkClient(ctx)
	var answered *Error // the last failure the upstream answered
	for n := 1; ; n++ {
		started := time.Now()
		status, err := attempt(client)
		var e *Error
		if err != nil {
			e = wrapError(what, err)
			status = e.Status
		}
		c.observe(ctx, op, n, status, e, time.Since(started))
		if e == nil {
			return nil
		}
		e.Attempts = n
		if e.Status == 0 && ctx.Err() != nil && answered != nil {
			// A retry cut off by the deadline says less than the answer
			// before it: report that, with its status, code and request id.
			answered.Attempts = n
			return answered
		}
		if e.Status != 0 {
			answered = e
		}
		if n >= attempts || !retryable(ctx, e) {
			return e
		}
		wait := c.retry.backoff(n)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return e // no room for another try: answer now rather than fail later
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return e
		case <-timer.C:
		}
	}
}

func (c *Client) observe(ctx context.Context, op string, n, status int, e *Error, d time.Duration) {
	if c.observer == nil {
		return
	}
	a := Attempt{Operation: op, Number: n, Status: status, Duration: d}
	if e != nil {
		a.Code = e.Code
		if e.Status == 0 && e.Err != nil {
			switch {
			case errors.Is(ctx.Err(), context.Canceled):
				a.Failure = "canceled"
			case ctx.Err() != nil || e.timeout():
				a.Failure = "timeout"
			default:
				a.Failure = "transport"
			}
		}
	}
	c.observer.UpstreamAttempt(a)
}

package vpcep

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
)

// Defaults of RenewingConfig.
const (
	DefaultRenewFraction  = 0.5
	DefaultRenewBefore    = time.Hour
	DefaultFailureBackoff = 10 * time.Second
	DefaultMinLifetime    = time.Minute
)

// RenewingConfig configures a RenewingCredential.
type RenewingConfig struct {
	IAM       *IAMClient
	User      IAMUser
	ProjectID string
	// A token is renewed at RenewFraction of its lifetime or RenewBefore
	// its expiry, whichever comes first (DefaultRenewFraction,
	// DefaultRenewBefore when zero; RenewBefore counts only when shorter
	// than the lifetime): IAM's 24-hour tokens after 12 hours, a
	// simulator's 2-second ones after one.
	RenewFraction float64
	RenewBefore   time.Duration
	// FailureBackoff is how long after a failed renewal IAM is left alone:
	// until then callers keep a still-valid token or get the failure at
	// once (DefaultFailureBackoff when zero).
	FailureBackoff time.Duration
	// RenewTimeout bounds one renewal, which runs on its own so that a
	// caller giving up does not fail it for the others (the IAM client's
	// timeout when zero).
	RenewTimeout time.Duration
	// MinLifetime is the shortest token lifetime taken: a token IAM grants
	// for less (expires_at at or before issued_at, or clocks apart) is a
	// failed renewal, so that it is not renewed on every call
	// (DefaultMinLifetime when zero; tests against the simulator's short
	// tokens lower it).
	MinLifetime time.Duration
	Now         func() time.Time // time.Now when nil
	Logger      *slog.Logger     // slog.Default() when nil
}

// CredentialState is how a renewing credential stands.
type CredentialState string

// The states of a RenewingCredential.
const (
	StateNone     CredentialState = "none"     // no token obtained yet
	StateValid    CredentialState = "valid"    // a token, not yet due for renewal
	StateRenewing CredentialState = "renewing" // a renewal under way
	StateFailing  CredentialState = "failing"  // the last renewal failed (LastError); a token may still be valid
	StateExpired  CredentialState = "expired"  // no usable token: the last one expired or was refused
)

// CredentialStatus is what a renewing credential tells /readyz and the page
// banner. It holds no secret.
type CredentialStatus struct {
	State     CredentialState
	ExpiresAt time.Time // of the current token; zero when there is none
	RenewAt   time.Time // when the current token is due for renewal
	Renewals  int       // tokens obtained so far
	LastError error     // the last renewal's failure, nil once one succeeds
	FailedAt  time.Time
}

// RenewingCredential is an IAM user's project-scoped token, obtained from
// IAM on first use and renewed before it expires and once whenever the
// upstream refuses it. One renewal runs at a time; callers with a still
// valid token keep using it meanwhile, those without wait for it. It is a
// TokenSource for Config.TokenSource. It never logs the token or password.
type RenewingCredential struct {
	cfg RenewingConfig

	mu        sync.Mutex
	token     string
	expiresAt time.Time // on our clock: the request's start plus the token's lifetime
	renewAt   time.Time
	usable    time.Time // until when the token is sent: a margin before expiresAt
	renewals  int
	// afterRejection: the current token replaced one the upstream refused.
	afterRejection bool
	inflight       *renewal
	lastErr        error
	failedAt       time.Time
}

// renewal is one IAM call that callers may wait on.
type renewal struct {
	done           chan struct{}
	token          string
	err            error
	afterRejection bool // a caller's 401 asked for it (set under c.mu)
}

var _ TokenSource = (*RenewingCredential)(nil)

// NewRenewingCredential returns a credential that obtains its first token
// when first used.
func NewRenewingCredential(cfg RenewingConfig) (*RenewingCredential, error) {
	switch {
	case cfg.IAM == nil:
		return nil, errors.New("vpcep: a renewing credential needs an IAM client")
	case cfg.ProjectID == "":
		return nil, errors.New("vpcep: a renewing credential needs a project id")
	case cfg.User.Name == "" || cfg.User.Password == "" || cfg.User.Domain == "":
		return nil, errors.New("vpcep: a renewing credential needs the IAM user's name, password and domain")
	}
	if cfg.RenewFraction <= 0 || cfg.RenewFraction >= 1 {
		cfg.RenewFraction = DefaultRenewFraction
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = DefaultRenewBefore
	}
	if cfg.FailureBackoff <= 0 {
		cfg.FailureBackoff = DefaultFailureBackoff
	}
	if cfg.RenewTimeout <= 0 {
		cfg.RenewTimeout = cfg.IAM.timeout
	}
	if cfg.MinLifetime <= 0 {
		cfg.MinLifetime = DefaultMinLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &RenewingCredential{cfg: cfg}, nil
}

// Token returns the current token. A token past its renewal time is still
// returned while a renewal runs in the background; with no usable token,
// Token waits for the renewal (or ctx).
func (c *RenewingCredential) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	now := c.cfg.Now()
	usable := c.token != "" && now.Before(c.usable)
	if usable && now.Before(c.renewAt) {
		tok := c.token
		c.mu.Unlock()
		return tok, nil
	}
	r, err := c.startRenewal(now)
	if usable {
		// Due, not expired: renew behind the callers' backs.
		tok := c.token
		c.mu.Unlock()
		return tok, nil
	}
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	return r.wait(ctx)
}

// Rejected renews a token the upstream refused, once for all the callers
// it was refused to: who comes after the renewal gets the new token. A
// token obtained because the one before was refused, refused in turn, is
// not renewed again before FailureBackoff: the refusal is then not about
// expiry (the user may not reach this project), and renewing on every call
// would only flood IAM. The caller then gets token back, and its 401 stands.
func (c *RenewingCredential) Rejected(ctx context.Context, token string) (string, error) {
	c.mu.Lock()
	now := c.cfg.Now()
	if c.token != token && c.token != "" && now.Before(c.usable) {
		tok := c.token // already renewed
		c.mu.Unlock()
		return tok, nil
	}
	if c.token == token && c.afterRejection {
		if c.lastErr == nil {
			c.lastErr, c.failedAt = errFreshTokenRefused, now
			c.cfg.Logger.Error("vpcep: the upstream refused a newly obtained IAM token; not renewing it again for now",
				"project_id", c.cfg.ProjectID, "user", c.cfg.User.Name, "retry_after", c.cfg.FailureBackoff)
		}
		if now.Before(c.failedAt.Add(c.cfg.FailureBackoff)) {
			c.mu.Unlock()
			return token, nil
		}
	}
	if c.token == token {
		c.cfg.Logger.Warn("vpcep: the upstream refused the IAM token; renewing it",
			"project_id", c.cfg.ProjectID, "token_expires_at", c.expiresAt)
		c.usable = now // never sent again
	}
	if c.lastErr == errFreshTokenRefused {
		c.lastErr = nil // its backoff is over: try a new token
	}
	r, err := c.startRenewal(now)
	if r != nil {
		r.afterRejection = true
	}
	c.mu.Unlock()
	if err != nil {
		return "", err
	}
	return r.wait(ctx)
}

// Accepted notes that the upstream took token: a later refusal of it is
// about its expiry, and renewing helps.
func (c *RenewingCredential) Accepted(token string) {
	c.mu.Lock()
	if c.token == token {
		c.afterRejection = false
	}
	c.mu.Unlock()
}

// errFreshTokenRefused is the status's LastError when the upstream refused
// a token obtained because the one before had been refused.
var errFreshTokenRefused = errors.New("the upstream refused a newly obtained IAM token: check the user's permissions for this project")

// errNoLifetime is the renewal's failure when IAM granted a token that
// expires (almost) at once: taking it would renew on every call.
var errNoLifetime = errors.New("IAM granted a token with no usable lifetime")

// startRenewal returns the renewal under way, starting one unless the last
// failed less than FailureBackoff ago (then its error). c.mu is held.
func (c *RenewingCredential) startRenewal(now time.Time) (*renewal, error) {
	if c.inflight != nil {
		return c.inflight, nil
	}
	if c.lastErr != nil && now.Before(c.failedAt.Add(c.cfg.FailureBackoff)) {
		return nil, c.lastErr
	}
	r := &renewal{done: make(chan struct{})}
	c.inflight = r
	go c.renew(r)
	return r, nil
}

// renew obtains a token from IAM for r, on a context of its own.
func (c *RenewingCredential) renew(r *renewal) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RenewTimeout)
	defer cancel()
	started := c.cfg.Now()
	tok, err := c.cfg.IAM.CreateProjectToken(ctx, c.cfg.User, c.cfg.ProjectID)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight = nil
	defer close(r.done)
	// IAM's clock may differ from ours: keep the lifetime it granted,
	// counted from before the request left, so the token is renewed early
	// rather than late.
	var lifetime time.Duration
	if err == nil {
		lifetime = tok.ExpiresAt.Sub(tok.IssuedAt)
		if tok.IssuedAt.IsZero() || lifetime <= 0 {
			lifetime = tok.ExpiresAt.Sub(started)
		}
		if lifetime < c.cfg.MinLifetime {
			err = errNoLifetime
		}
	}
	if err != nil {
		c.lastErr, c.failedAt = err, c.cfg.Now()
		r.err = err
		c.cfg.Logger.Error("vpcep: could not obtain an IAM token", "project_id", c.cfg.ProjectID,
			"user", c.cfg.User.Name, "domain", c.cfg.User.Domain, "lifetime", lifetime, "err", err)
		return
	}
	c.token = tok.Value
	c.expiresAt = started.Add(lifetime)
	renewAfter := time.Duration(float64(lifetime) * c.cfg.RenewFraction)
	if early := lifetime - c.cfg.RenewBefore; early > 0 && early < renewAfter {
		renewAfter = early
	}
	c.renewAt = started.Add(renewAfter)
	// A token is not sent in the last moments of its life, when it could
	// expire on the way.
	c.usable = c.expiresAt.Add(-min(lifetime/20, time.Minute))
	c.renewals++
	c.afterRejection = r.afterRejection
	c.lastErr, c.failedAt = nil, time.Time{}
	r.token = tok.Value
	c.cfg.Logger.Info("vpcep: obtained an IAM token", "project_id", c.cfg.ProjectID,
		"expires_at", c.expiresAt, "renew_at", c.renewAt, "renewals", c.renewals)
}

// Run keeps the token renewed on schedule until ctx ends, so that an idle
// project's token does not lapse and Status stays true between calls.
// Without Run, the token is obtained and renewed as calls need it.
func (c *RenewingCredential) Run(ctx context.Context) {
	for {
		_, _ = c.Token(ctx) // the first token, or a renewal when due
		c.mu.Lock()
		now := c.cfg.Now()
		wait := c.renewAt.Sub(now)
		if c.lastErr != nil {
			backoffEnd := c.failedAt.Add(c.cfg.FailureBackoff).Sub(now)
			if c.token != "" && now.Before(c.usable) && now.Before(c.renewAt) {
				// A usable token (e.g. one the upstream refused, kept for
				// the backoff): Token hands it back until renewAt, so
				// waking before then would only spin.
				wait = max(wait, backoffEnd)
			} else {
				wait = backoffEnd
			}
		}
		var inflight <-chan struct{}
		if c.inflight != nil {
			inflight = c.inflight.done
		}
		c.mu.Unlock()
		if inflight != nil {
			select {
			case <-inflight:
				continue
			case <-ctx.Done():
				return
			}
		}
		timer := time.NewTimer(max(wait, 10*time.Millisecond)) // never a busy loop
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

func (r *renewal) wait(ctx context.Context) (string, error) {
	select {
	case <-r.done:
		return r.token, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Status says how the credential stands, for /readyz and the page banner.
func (c *RenewingCredential) Status() CredentialStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := CredentialStatus{ExpiresAt: c.expiresAt, RenewAt: c.renewAt, Renewals: c.renewals, LastError: c.lastErr, FailedAt: c.failedAt}
	now := c.cfg.Now()
	switch {
	case c.inflight != nil:
		s.State = StateRenewing
	case c.lastErr != nil:
		s.State = StateFailing
	case c.token == "":
		s.State = StateNone
	case !now.Before(c.usable):
		s.State = StateExpired
	default:
		s.State = StateValid
	}
	return s
}

// renewingTransport sends each request with its TokenSource's token, and
// once more with a renewed one when the upstream answers 401. Sending it
// again is safe even for a PUT: a 401 comes from the gateway, before the
// API acts.
type renewingTransport struct {
	base   http.RoundTripper
	source TokenSource
}

func (t *renewingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.source.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, &tokenError{err: err}
	}
	var body []byte
	if req.Body != nil {
		// Kept to send again after a 401.
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	resp, err := t.send(req, tok, body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	renewed, rerr := t.source.Rejected(ctx, tok)
	if rerr != nil || renewed == tok {
		return resp, nil // the 401 stands, with its code and request id
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return t.send(req, renewed, body)
}

// send sends req with tok, telling the source when the upstream took it.
func (t *renewingTransport) send(req *http.Request, tok string, body []byte) (*http.Response, error) {
	resp, err := t.base.RoundTrip(withToken(req, tok, body))
	if err == nil && resp.StatusCode != http.StatusUnauthorized {
		t.source.Accepted(tok)
	}
	return resp, err
}

// withToken is a copy of req carrying tok and a fresh reader of body.
func withToken(req *http.Request, tok string, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("X-Auth-Token", tok)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// tokenError is a request that could not go out for want of a token.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "no IAM token: " + e.err.Error() }

// Unwrap presents IAM's refusal as the SDK's error answer, so that the
// call fails with IAM's status, message and request id and is not tried
// again (a refused password stays refused); without an answer from IAM,
// the call fails as any transport failure does.
func (e *tokenError) Unwrap() error {
	var ie *Error
	if errors.As(e.err, &ie) && ie.Status != 0 {
		return &sdkerr.ServiceResponseError{
			StatusCode: ie.Status, ErrorCode: ie.Code, RequestId: ie.RequestID,
			ErrorMessage: "IAM gave no token: " + ie.Message,
		}
	}
	return e.err
}

// RenewingTransport sends each request over base with source's token, and
// once more with a renewed one after a 401, as a Client with
// Config.TokenSource does. base nil means http.DefaultTransport.
func RenewingTransport(base http.RoundTripper, source TokenSource) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &renewingTransport{base: base, source: source}
}

// Package sso signs people in through an OpenID Connect provider: the
// authorization code flow with PKCE, state and nonce, the ID token verified
// with go-oidc, and the provider's groups mapped to the console's roles.
// It leaves the session, the account and the audit to its caller.
package sso

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/oauth2"

	"github.com/vpcep-console/vpcep-console/internal/auth"
)

// ClockSkew is how far the provider's clock may be from ours: an ID token
// is accepted up to a minute after it expired, and issued up to a minute
// in the future.
const ClockSkew = time.Minute

// discoveryTimeout bounds one attempt at reading the provider's discovery
// document: callers wait for it under a lock.
const discoveryTimeout = 10 * time.Second

// signingAlgorithms are the ID token signatures accepted: asymmetric only,
// never "none" nor an HMAC keyed with the client secret.
var signingAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// Identity is who the provider signed in: the account's identity
// (PreferredName is preferred_username, else the email, else the subject;
// DisplayName the name claim), the email and the groups.
type Identity struct {
	auth.SSOIdentity
	Email  string
	Groups []string // from Config.GroupsClaim
}

// Provider runs sign-ins through one OpenID Connect provider.
type Provider struct {
	cfg    Config
	states pgStates
	log    *slog.Logger
	client *http.Client
	now    func() time.Time

	mu        sync.Mutex // guards the fields below, never held across a call
	discovery *discovery // nil until read: retried at each sign-in until it succeeds
	// inflight is closed when the discovery under way ends: every sign-in
	// meanwhile waits for that one rather than queueing its own.
	inflight chan struct{}
	// failed is the last failure, and until when it is answered at once
	// (a provider that hangs must not make every visitor wait in turn).
	failed      error
	failedUntil time.Time
}

// discoveryRetry is how long a failed discovery is answered without asking
// the provider again.
// A failure that came fast (refused, an error status) is asked again at
// the next sign-in; one that took longer than slowDiscovery is answered
// at once for discoveryRetry.
const (
	discoveryRetry = 5 * time.Second
	slowDiscovery  = time.Second
)

// discovery is what the provider's discovery document gives.
type discovery struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	// verifier checks an ID token: signature, issuer, audience, expiry.
	verifier *oidc.IDTokenVerifier
	// signatureOnly checks only the signature: it tells why verifier
	// refused a token.
	signatureOnly *oidc.IDTokenVerifier
}

// New returns a Provider keeping its sign-in attempts in pool's
// sso_states. It reads nothing from the provider yet: discovery happens at
// the first Begin or Finish, so a provider down when the console starts
// does not stop it; a failed discovery is tried again at the next sign-in.
func New(cfg Config, pool *pgxpool.Pool, logger *slog.Logger) *Provider {
	p := &Provider{cfg: cfg, states: pgStates{pool: pool}, log: logger, client: &http.Client{Timeout: 15 * time.Second}, now: cfg.Now}
	if p.now == nil {
		p.now = time.Now
	}
	if p.cfg.GroupsClaim == "" {
		p.cfg.GroupsClaim = DefaultGroupsClaim
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Name is what the sign-in button says after "Sign in with".
func (p *Provider) Name() string { return p.cfg.Name }

// Only reports OIDC_ONLY: passwords are for local admins alone.
func (p *Provider) Only() bool { return p.cfg.Only }

// clientContext carries the HTTP client to go-oidc and oauth2.
func (p *Provider) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, p.client), p.client)
}

// discover returns the provider's discovery, read once.
func (p *Provider) discover(ctx context.Context) (*discovery, error) {
	p.mu.Lock()
	if p.discovery != nil {
		defer p.mu.Unlock()
		return p.discovery, nil
	}
	if p.failed != nil && p.now().Before(p.failedUntil) {
		defer p.mu.Unlock()
		return nil, p.failed
	}
	if p.inflight == nil {
		p.inflight = make(chan struct{})
		go p.runDiscovery(p.inflight)
	}
	done := p.inflight
	p.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, flowError(ReasonProviderUnreachable, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovery != nil {
		return p.discovery, nil
	}
	return nil, p.failed
}

// runDiscovery reads the discovery once, on its own clock (a visitor
// giving up does not fail it for the others), and records its result.
func (p *Provider) runDiscovery(done chan struct{}) {
	start := time.Now()
	d, err := p.readDiscovery(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed, p.failedUntil = err, time.Time{}
	if err != nil && time.Since(start) > slowDiscovery {
		// A provider that hangs is not asked again for a while: visitors
		// are told at once instead of each waiting out the timeout.
		p.failedUntil = p.now().Add(discoveryRetry)
	}
	if err == nil {
		p.discovery, p.failed = d, nil
	}
	p.inflight = nil
	close(done)
}

// readDiscovery asks the provider for its discovery document and keys.
func (p *Provider) readDiscovery(ctx context.Context) (*discovery, error) {
	dctx, cancel := context.WithTimeout(p.clientContext(ctx), discoveryTimeout)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		p.log.Warn("sso: discovery failed; tried again at the next sign-in", "issuer", p.cfg.Issuer, "err", err)
		if _, ok := errors.AsType[*oidc.IssuerMismatchError](err); ok {
			return nil, flowError(ReasonWrongIssuer, err)
		}
		return nil, flowError(ReasonProviderUnreachable, err)
	}
	var meta struct {
		JWKSURL string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := op.Claims(&meta); err != nil || meta.JWKSURL == "" {
		return nil, flowError(ReasonProviderUnreachable, fmt.Errorf("discovery document: no jwks_uri (%v)", err))
	}
	algs := slices.DeleteFunc(meta.Algs, func(a string) bool { return !slices.Contains(signingAlgorithms, a) })
	if len(algs) == 0 {
		algs = []string{"RS256"} // the one every provider must support
	}
	// The key set outlives this request: its context carries only the
	// client (go-oidc ignores its cancellation). One key set serves both
	// verifiers, so keys are fetched once and refetched on rotation.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), meta.JWKSURL)
	d := &discovery{
		provider: op,
		oauth: oauth2.Config{
			ClientID:     p.cfg.ClientID,
			ClientSecret: p.cfg.ClientSecret,
			RedirectURL:  p.cfg.RedirectURL,
			Endpoint:     op.Endpoint(),
			Scopes:       p.cfg.Scopes,
		},
		verifier: oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{
			ClientID:             p.cfg.ClientID,
			SupportedSigningAlgs: algs,
			// go-oidc allows no skew on expiry: checking against a clock a
			// minute behind accepts a token up to ClockSkew after it expired.
			Now: func() time.Time { return p.now().Add(-ClockSkew) },
		}),
		signatureOnly: oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{
			SupportedSigningAlgs: algs,
			SkipClientIDCheck:    true, SkipExpiryCheck: true, SkipIssuerCheck: true,
		}),
	}
	p.log.Info("sso: provider discovered", "issuer", p.cfg.Issuer)
	return d, nil
}

// Begin starts a sign-in that returns to next (a path of the console; any
// other value becomes "/"): it stores a new attempt (state, nonce, PKCE
// verifier) for StateLifetime and returns the provider's URL to send the
// browser to, and the state it carries, which the caller should tie to the
// browser (a cookie) and check at the callback.
func (p *Provider) Begin(ctx context.Context, next string) (authURL, state string, err error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", "", err
	}
	state, nonce := randomToken(), randomToken()
	verifier := oauth2.GenerateVerifier()
	now := p.now()
	attempt := pendingSignIn{Nonce: nonce, Verifier: verifier, Next: localPath(next), ExpiresAt: now.Add(StateLifetime)}
	if err := p.states.Put(ctx, hashState(state), attempt, now); err != nil {
		return "", "", err
	}
	return d.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// Finish completes the sign-in the provider sent back with state and
// code: it uses up the attempt (unknown, used or expired: ReasonBadState),
// redeems the code with the attempt's PKCE verifier, verifies the ID token
// (signature, issuer, audience, expiry and issue time within ClockSkew,
// nonce) and reads the groups from the ID token, or else from the userinfo
// endpoint. It returns who signed in and the path to go to. Every failure
// of the flow is a *FlowError; only a database error is not. Once the
// attempt is found, its path is returned with a failure too, so the page
// that says so still leads where the sign-in was going. A callback
// that carries the provider's error instead of a code (the user cancelled)
// passes code "": the attempt is used up, ReasonExchangeFailed.
func (p *Provider) Finish(ctx context.Context, state, code string) (*Identity, string, error) {
	if state == "" {
		return nil, "", flowError(ReasonBadState, errors.New("no state"))
	}
	attempt, err := p.states.Take(ctx, hashState(state), p.now())
	if errors.Is(err, errNoState) {
		return nil, "", flowError(ReasonBadState, err)
	}
	if err != nil {
		return nil, "", err
	}
	if code == "" {
		// Spent without asking the provider (it may be down): a cancel, or
		// an answer brought by another browser.
		return nil, attempt.Next, flowError(ReasonExchangeFailed, errors.New("the callback carries no code"))
	}
	d, err := p.discover(ctx)
	if err != nil {
		return nil, attempt.Next, err
	}
	token, err := d.oauth.Exchange(p.clientContext(ctx), code, oauth2.VerifierOption(attempt.Verifier))
	if err != nil {
		return nil, attempt.Next, exchangeError(err)
	}
	rawIDToken, _ := token.Extra("id_token").(string)
	if rawIDToken == "" {
		return nil, attempt.Next, flowError(ReasonExchangeFailed, errors.New("the token response has no id_token"))
	}
	idToken, err := p.verify(ctx, d, rawIDToken, attempt.Nonce)
	if err != nil {
		return nil, attempt.Next, err
	}
	if idToken.AccessTokenHash != "" {
		if err := idToken.VerifyAccessToken(token.AccessToken); err != nil {
			return nil, attempt.Next, flowError(ReasonInvalidToken, err)
		}
	}
	id, err := p.identity(ctx, d, idToken, token)
	if err != nil {
		return nil, attempt.Next, err
	}
	return id, attempt.Next, nil
}

// verify checks rawIDToken with go-oidc, then what go-oidc leaves out: the
// nonce, and times in the future beyond ClockSkew.
func (p *Provider) verify(ctx context.Context, d *discovery, rawIDToken, nonce string) (*oidc.IDToken, error) {
	ctx = p.clientContext(ctx)
	idToken, err := d.verifier.Verify(ctx, rawIDToken)
	if err != nil {
		return nil, p.verifyError(ctx, d, rawIDToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		return nil, flowError(ReasonNonceMismatch, errors.New("the ID token's nonce is not the attempt's"))
	}
	var claims struct {
		AuthorizedParty string   `json:"azp"`
		NotBefore       *float64 `json:"nbf"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return nil, flowError(ReasonInvalidToken, err)
	}
	// With several audiences, the token must say it was issued to us.
	// OpenID Connect Core 3.1.3.7: an azp, when present, is this client;
	// with several audiences it must be there.
	if (claims.AuthorizedParty != "" && claims.AuthorizedParty != p.cfg.ClientID) ||
		(len(idToken.Audience) > 1 && claims.AuthorizedParty != p.cfg.ClientID) {
		return nil, flowError(ReasonWrongAudience, fmt.Errorf("azp %q with audiences %q", claims.AuthorizedParty, idToken.Audience))
	}
	latest := p.now().Add(ClockSkew)
	if idToken.IssuedAt.After(latest) {
		return nil, flowError(ReasonClockSkew, fmt.Errorf("issued at %s, more than %s ahead", idToken.IssuedAt.UTC().Format(time.RFC3339), ClockSkew))
	}
	if claims.NotBefore != nil {
		if nbf := time.Unix(int64(*claims.NotBefore), 0); nbf.After(latest) {
			return nil, flowError(ReasonClockSkew, fmt.Errorf("not valid before %s, more than %s ahead", nbf.UTC().Format(time.RFC3339), ClockSkew))
		}
	}
	return idToken, nil
}

// verifyError tells why go-oidc refused a token: its errors are words
// except for expiry, so the token's claims are compared again once its
// signature is known good.
func (p *Provider) verifyError(ctx context.Context, d *discovery, rawIDToken string, err error) error {
	if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
		return flowError(ReasonExpired, err)
	}
	signed, sigErr := d.signatureOnly.Verify(ctx, rawIDToken)
	switch {
	case sigErr != nil:
		return flowError(ReasonBadSignature, sigErr)
	case signed.Issuer != p.cfg.Issuer:
		return flowError(ReasonWrongIssuer, err)
	case !slices.Contains(signed.Audience, p.cfg.ClientID):
		return flowError(ReasonWrongAudience, err)
	}
	return flowError(ReasonInvalidToken, err)
}

// identity reads who signed in from the ID token and, when it lacks the
// groups claim, from the userinfo endpoint.
func (p *Provider) identity(ctx context.Context, d *discovery, idToken *oidc.IDToken, token *oauth2.Token) (*Identity, error) {
	claims := map[string]json.RawMessage{}
	if err := idToken.Claims(&claims); err != nil {
		return nil, flowError(ReasonInvalidToken, err)
	}
	if _, ok := claims[p.cfg.GroupsClaim]; !ok && d.provider.UserInfoEndpoint() != "" {
		info, err := d.provider.UserInfo(p.clientContext(ctx), oauth2.StaticTokenSource(token))
		if err != nil {
			return nil, flowError(ReasonProviderUnreachable, fmt.Errorf("userinfo: %w", err))
		}
		// The userinfo answer must be about the ID token's subject
		// (OpenID Connect Core 5.3.2).
		if info.Subject != idToken.Subject {
			return nil, flowError(ReasonInvalidToken, errors.New("userinfo is about another subject"))
		}
		more := map[string]json.RawMessage{}
		if err := info.Claims(&more); err != nil {
			return nil, flowError(ReasonInvalidToken, fmt.Errorf("userinfo: %w", err))
		}
		for k, v := range more {
			if _, ok := claims[k]; !ok {
				claims[k] = v
			}
		}
	}
	groups, err := stringList(claims[p.cfg.GroupsClaim])
	if err != nil {
		return nil, flowError(ReasonInvalidToken, fmt.Errorf("claim %s: %w", p.cfg.GroupsClaim, err))
	}
	id := &Identity{
		SSOIdentity: auth.SSOIdentity{
			Issuer:        idToken.Issuer,
			Subject:       idToken.Subject,
			PreferredName: stringClaim(claims, "preferred_username"),
			DisplayName:   stringClaim(claims, "name"),
		},
		Email:  stringClaim(claims, "email"),
		Groups: groups,
	}
	if id.PreferredName == "" {
		id.PreferredName = cmp.Or(id.Email, id.Subject)
	}
	return id, nil
}

// Roles is what id's groups give in the console (Mapping.Resolve); a
// *FlowError with ReasonNoGroup when they give nothing.
func (p *Provider) Roles(id *Identity) (auth.Role, map[string]auth.Role, error) {
	role, grants, ok := p.cfg.Mapping.Resolve(id.Groups)
	if !ok {
		return "", nil, flowError(ReasonNoGroup, fmt.Errorf("no mapped group among %d", len(id.Groups)))
	}
	return role, grants, nil
}

// exchangeError tells a provider that refused the code from one that did
// not answer. Only the OAuth error code is kept: the provider's body is
// not ours to log.
func exchangeError(err error) error {
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return flowError(ReasonProviderUnreachable, fmt.Errorf("token endpoint: %s", re.Response.Status))
		}
		status := ""
		if re.Response != nil {
			status = re.Response.Status
		}
		return flowError(ReasonExchangeFailed, fmt.Errorf("token endpoint: %s %q", status, re.ErrorCode))
	}
	return flowError(ReasonProviderUnreachable, fmt.Errorf("token endpoint: %w", err))
}

// stringList reads a claim holding a list of strings, or one string; an
// absent claim is no groups.
func stringList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, errors.New("is neither a list of strings nor a string")
	}
	return []string{one}, nil
}

func stringClaim(claims map[string]json.RawMessage, name string) string {
	var s string
	_ = json.Unmarshal(claims[name], &s) // absent or not a string: ""
	return s
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath returns next when it is a path of this site, else "/": the
// return address must not send a signed-in browser elsewhere.
func localPath(next string) string {
	// Browsers drop tabs and line breaks from a URL and read "\" as "/":
	// "/\t/evil" and "/\\evil" are other sites. The handlers check next
	// more closely (safeNext); this keeps Begin's promise on its own.
	if !strings.HasPrefix(next, "/") || strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "/"
	}
	if rest := strings.TrimLeft(next[1:], "/\\"); len(rest) != len(next)-1 {
		return "/"
	}
	return next
}

package sso

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/oidctest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

// callbackURL is the console's callback as registered at the provider:
// the tests read the provider's redirect instead of serving it.
const callbackURL = "http://127.0.0.1:1/sso/callback"

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
)

// testPool is the package database's pool (migrated: sso_states is 00018's).
func testPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	poolOnce.Do(func() {
		pool, poolErr = pgxpool.New(context.Background(), dbURL)
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return pool
}

// users of the test provider: alice in a mapped group, carol in none.
var users = []oidctest.User{
	{Subject: "sub-alice", Username: "alice", Password: "alice-password-1", Name: "Alice Liddell", Email: "alice@example.com", Groups: []string{"netops", "staff"}},
	{Subject: "sub-bob", Username: "bob", Password: "bob-password-1", Name: "Bob", Email: "bob@example.com", Groups: []string{"auditors"}},
	{Subject: "sub-carol", Username: "carol", Password: "carol-password-1", Name: "Carol", Email: "carol@example.com", Groups: []string{"visitors"}},
}

const testMapping = "netops=editor,auditors=viewer@prod"

// startProvider runs a provider that signs alice in without a form.
func startProvider(t *testing.T, modify ...func(*oidctest.Options)) *oidctest.Provider {
	t.Helper()
	o := oidctest.Options{RedirectURLs: []string{callbackURL}, Users: users, AutoLogin: "alice"}
	for _, f := range modify {
		f(&o)
	}
	return oidctest.Start(t, o)
}

// clock is a settable offset from the real time (the provider's tokens
// carry real times).
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newTestProvider is the console's side, configured for op.
func newTestProvider(t *testing.T, op *oidctest.Provider, c *clock) *Provider {
	t.Helper()
	m, err := ParseMapping(testMapping)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Name: "Test IdP", Issuer: op.URL(), ClientID: op.ClientID(), ClientSecret: op.ClientSecret(),
		RedirectURL: callbackURL, Scopes: []string{"openid", "profile", "email"}, Mapping: m,
	}
	if c != nil {
		cfg.Now = c.now
	}
	return New(cfg, testPool(t), nil)
}

// authorize follows the sign-in URL to the provider, which signs its
// AutoLogin user in and sends the browser back: it returns the state and
// code of that redirect.
func authorize(t *testing.T, authURL string) (state, code string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), callbackURL) {
		t.Fatalf("the provider answered %s, Location %q: not a redirect to the callback", resp.Status, resp.Header.Get("Location"))
	}
	if e := loc.Query().Get("error"); e != "" {
		t.Fatalf("the provider refused: %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc.Query().Get("state"), loc.Query().Get("code")
}

// begin starts a sign-in and takes it through the provider.
func begin(t *testing.T, p *Provider, next string) (state, code string) {
	t.Helper()
	authURL, issued, err := p.Begin(context.Background(), next)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	state, code = authorize(t, authURL)
	if state != issued {
		t.Fatalf("the provider sent back state %q; Begin said it issued %q", state, issued)
	}
	return state, code
}

// wantReason checks err is a FlowError of reason, and holds no secret.
func wantReason(t *testing.T, err error, reason string, secrets ...string) {
	t.Helper()
	fe, ok := errors.AsType[*FlowError](err)
	if !ok {
		t.Fatalf("error %v, want a FlowError %s", err, reason)
	}
	if fe.Reason != reason {
		t.Fatalf("reason %q (%v), want %q", fe.Reason, err, reason)
	}
	if fe.Message == "" {
		t.Errorf("reason %q has no message for the page", reason)
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(err.Error(), s) || strings.Contains(fe.Message, s)) {
			t.Errorf("the error shows a secret: %v", err)
		}
	}
}

func TestSignInWithGroups(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	state, code := begin(t, p, "/endpoints?page=2")

	id, next, err := p.Finish(context.Background(), state, code)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := &Identity{SSOIdentity: auth.SSOIdentity{Issuer: op.Issuer(), Subject: "sub-alice", PreferredName: "alice", DisplayName: "Alice Liddell"},
		Email: "alice@example.com", Groups: []string{"netops", "staff"}}
	if diff := cmp.Diff(want, id); diff != "" {
		t.Errorf("identity mismatch (-want +got):\n%s", diff)
	}
	if next != "/endpoints?page=2" {
		t.Errorf("next = %q, want /endpoints?page=2", next)
	}
	role, grants, err := p.Roles(id)
	if err != nil || role != auth.Editor || len(grants) != 0 {
		t.Errorf("Roles = %q, %v, %v; want editor, no grants", role, grants, err)
	}
}

func TestGroupsFromUserinfo(t *testing.T) {
	t.Parallel()
	op := startProvider(t, func(o *oidctest.Options) { o.GroupsOnlyInUserinfo = true; o.AutoLogin = "bob" })
	p := newTestProvider(t, op, nil)
	state, code := begin(t, p, "/")

	id, _, err := p.Finish(context.Background(), state, code)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if diff := cmp.Diff([]string{"auditors"}, id.Groups); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}
	role, grants, err := p.Roles(id)
	if err != nil || role != auth.Viewer || grants["prod"] != auth.Viewer {
		t.Errorf("Roles = %q, %v, %v; want viewer with viewer in prod", role, grants, err)
	}
}

func TestNoMappedGroupRefused(t *testing.T) {
	t.Parallel()
	op := startProvider(t, func(o *oidctest.Options) { o.AutoLogin = "carol" })
	p := newTestProvider(t, op, nil)
	state, code := begin(t, p, "/")

	id, _, err := p.Finish(context.Background(), state, code)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	_, grants, err := p.Roles(id)
	wantReason(t, err, ReasonNoGroup)
	if grants != nil {
		t.Errorf("grants %v for a refused sign-in", grants)
	}
}

// TestTokenRefused provokes, at the provider, every flaw of an ID token
// the console must refuse, and the near misses it must accept.
func TestTokenRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fault  func(*oidctest.Provider)
		reason string // "": accepted
	}{
		{"wrong issuer in the token", func(op *oidctest.Provider) { op.SetIssuer("https://evil.example.com") }, ReasonWrongIssuer},
		{"wrong audience", func(op *oidctest.Provider) { op.SetAudience("another-client") }, ReasonWrongAudience},
		{"tampered token", func(op *oidctest.Provider) { op.TamperSignature(true) }, ReasonBadSignature},
		{"expired token", func(op *oidctest.Provider) { op.SetExpiresIn(-5 * time.Minute) }, ReasonExpired},
		{"expired within a minute", func(op *oidctest.Provider) { op.SetExpiresIn(-30 * time.Second) }, ""},
		{"provider clock two minutes ahead", func(op *oidctest.Provider) { op.SetClockSkew(2 * time.Minute) }, ReasonClockSkew},
		{"provider clock half a minute ahead", func(op *oidctest.Provider) { op.SetClockSkew(30 * time.Second) }, ""},
		{"provider clock ten minutes behind", func(op *oidctest.Provider) { op.SetClockSkew(-10 * time.Minute) }, ReasonExpired},
		{"provider clock half a minute behind", func(op *oidctest.Provider) { op.SetClockSkew(-30 * time.Second) }, ""},
		{"nonce of another attempt", func(op *oidctest.Provider) { op.SetNonce("someone-elses-nonce") }, ReasonNonceMismatch},
		{"keys rotated", func(op *oidctest.Provider) {
			if err := op.RotateKeys(); err != nil {
				t.Fatal(err)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := startProvider(t)
			p := newTestProvider(t, op, nil)
			// A first sign-in caches discovery and keys, as a running console has.
			state, code := begin(t, p, "/")
			if _, _, err := p.Finish(context.Background(), state, code); err != nil {
				t.Fatalf("first sign-in: %v", err)
			}
			tc.fault(op)
			state, code = begin(t, p, "/")
			id, _, err := p.Finish(context.Background(), state, code)
			if tc.reason == "" {
				if err != nil || id.Subject != "sub-alice" {
					t.Fatalf("Finish = %v, %v; want alice signed in", id, err)
				}
				return
			}
			if id != nil {
				t.Errorf("identity %v for a refused sign-in", id)
			}
			wantReason(t, err, tc.reason, op.ClientSecret(), code)
		})
	}
}

func TestReplayedState(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	state, code := begin(t, p, "/")
	if _, _, err := p.Finish(context.Background(), state, code); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	_, _, err := p.Finish(context.Background(), state, code)
	wantReason(t, err, ReasonBadState, op.ClientSecret(), code)

	// A fresh state does not make a used code good again.
	state2, _ := begin(t, p, "/")
	_, _, err = p.Finish(context.Background(), state2, code)
	wantReason(t, err, ReasonExchangeFailed, op.ClientSecret(), code)
}

func TestUnknownAndMissingState(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	_, code := begin(t, p, "/")
	for _, state := range []string{"", "made-up-state"} {
		_, _, err := p.Finish(context.Background(), state, code)
		wantReason(t, err, ReasonBadState)
	}
}

func TestExpiredState(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	var c clock
	p := newTestProvider(t, op, &c)
	state, code := begin(t, p, "/")
	c.advance(StateLifetime + time.Second)
	_, _, err := p.Finish(context.Background(), state, code)
	wantReason(t, err, ReasonBadState)
}

func TestStateStoredHashed(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	authURL, _, err := p.Begin(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	state := q.Get("state")
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || state == "" {
		t.Fatalf("the sign-in URL lacks PKCE S256, a nonce or a state: %s", authURL)
	}
	var stored int
	err = testPool(t).QueryRow(context.Background(),
		`SELECT count(*) FROM sso_states WHERE state_hash = $1 AND state_hash <> $2`, hashState(state), state).Scan(&stored)
	if err != nil || stored != 1 {
		t.Fatalf("state rows by hash = %d, %v; want 1", stored, err)
	}
}

func TestProviderDown(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	op.Down(true)
	p := newTestProvider(t, op, nil)
	// Down at the first sign-in: refused, and discovery tried again later.
	_, _, err := p.Begin(context.Background(), "/")
	wantReason(t, err, ReasonProviderUnreachable, op.ClientSecret())

	op.Down(false)
	state, code := begin(t, p, "/")
	// Down between the browser's visit and the callback.
	op.Down(true)
	_, _, err = p.Finish(context.Background(), state, code)
	wantReason(t, err, ReasonProviderUnreachable, op.ClientSecret(), code)
}

func TestProviderUnreachable(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	op.Close() // nothing listens any more
	_, _, err := p.Begin(context.Background(), "/")
	wantReason(t, err, ReasonProviderUnreachable)
}

func TestDiscoveryOfAnotherIssuer(t *testing.T) {
	t.Parallel()
	op := startProvider(t, func(o *oidctest.Options) { o.Issuer = "https://idp.elsewhere.example" })
	m, _ := ParseMapping(testMapping)
	p := New(Config{Issuer: op.URL(), ClientID: op.ClientID(), ClientSecret: op.ClientSecret(), RedirectURL: callbackURL,
		Scopes: []string{"openid"}, Mapping: m}, testPool(t), nil)
	_, _, err := p.Begin(context.Background(), "/")
	wantReason(t, err, ReasonWrongIssuer, op.ClientSecret())
}

func TestNextStaysOnTheConsole(t *testing.T) {
	t.Parallel()
	for next, want := range map[string]string{
		"/audit?x=1":             "/audit?x=1",
		"":                       "/",
		"https://evil.example/":  "/",
		"//evil.example/":        "/",
		"/\\evil.example":        "/",
		"javascript:alert(1)":    "/",
		"/ok\r\nSet-Cookie: x=1": "/",
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestStateUsedOnceUnderRace: two callbacks with the same state at once
// (a double click, or an attacker racing the user): one signs in.
func TestStateUsedOnceUnderRace(t *testing.T) {
	t.Parallel()
	op := startProvider(t)
	p := newTestProvider(t, op, nil)
	state, code := begin(t, p, "/")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := p.Finish(context.Background(), state, code)
			errs <- err
		}()
	}
	var signedIn int
	for range 2 {
		if err := <-errs; err == nil {
			signedIn++
		} else {
			wantReason(t, err, ReasonBadState)
		}
	}
	if signedIn != 1 {
		t.Errorf("%d sign-ins from one state, want 1", signedIn)
	}
}

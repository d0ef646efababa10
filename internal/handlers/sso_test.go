package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/oidctest"
	"github.com/vpcep-console/vpcep-console/internal/sso"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// consoleCallback is where the provider sends the browser back: the test
// serves it through the handler, so only its path and query matter.
const consoleCallback = "https://console.example/login/sso/callback"

// ssoApp is a console with single sign-on through a real OpenID Connect
// provider running in the test (discovery, JWKS, signed ID tokens), whose
// users carol (network engineers) and dave (auditors) sign in without a
// form (AutoLogin, login_hint).
type ssoApp struct {
	*app
	idp *oidctest.Provider
}

// ssoConsole is a console whose single sign-on is idp's, with the groups
// mapped as mapping says; only is OIDC_ONLY.
func ssoConsole(t *testing.T, idp *oidctest.Provider, mapping string, only bool) *testapp.Console {
	t.Helper()
	m, err := sso.ParseMapping(mapping)
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testdb.Migrated(t)
	pool := testdb.Pool(t, dbURL)
	return testapp.New(t, testapp.Options{DBURL: dbURL, Deps: func(d *handlers.Deps) {
		d.SSO = sso.New(sso.Config{Name: "Acme SSO", Issuer: idp.Issuer(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(),
			RedirectURL: consoleCallback, Scopes: []string{"openid", "profile", "email"}, GroupsClaim: "groups", Mapping: m, Only: only},
			pool, slog.New(slog.DiscardHandler))
	}})
}

func newSSOApp(t *testing.T) *ssoApp {
	t.Helper()
	idp := oidctest.Start(t, oidctest.Options{
		RedirectURLs: []string{consoleCallback},
		Users: []oidctest.User{
			{Subject: "sub-carol-1", Username: "carol", Password: "carol's password 1", Name: "Carol Engineer", Email: "carol@example.com", Groups: []string{"network-engineers"}},
			{Subject: "sub-dave-2", Username: "dave", Password: "dave's password 22", Name: "Dave Auditor", Email: "dave@example.com", Groups: []string{"auditors"}},
			{Subject: "sub-erin-3", Username: "erin", Password: "erin's password 333", Name: "Erin Elsewhere", Groups: []string{"marketing"}},
		},
		AutoLogin: "carol",
	})
	c := ssoConsole(t, idp, "network-engineers=editor,auditors=viewer", false)
	a := &app{sim: c.Sim, store: c.Store, audit: c.Audit, pool: c.Pool, auth: c.Auth,
		refresher: c.Refresher, handler: c.Handler, logs: c.Logs, cookies: map[string]string{}}
	a.refresh(t)
	return &ssoApp{app: a, idp: idp}
}

// begin starts a sign-in as user and returns the provider's answer: the
// callback URL (path and query) it sends the browser to.
func (s *ssoApp) begin(t *testing.T, user, next string) string {
	t.Helper()
	start := s.get(t, "/login/sso?next="+url.QueryEscape(next))
	if start.Code != http.StatusSeeOther {
		t.Fatalf("start: %d %s", start.Code, start.Body)
	}
	authURL := start.Header().Get("Location") + "&login_hint=" + user
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(back.String(), consoleCallback) {
		t.Fatalf("the provider answered %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.Path + "?" + back.RawQuery
}

// signInSSO signs user in through the provider and returns the callback's answer.
func (s *ssoApp) signInSSO(t *testing.T, user, next string) response {
	t.Helper()
	return s.get(t, s.begin(t, user, next))
}

// TestSSOSignIn: the whole code flow against a real provider. The
// account is created on first sign-in, marked as the provider's, with the
// role its groups map to; the role is recomputed at the next sign-in; an
// audit entry names the provider's subject and display name; a local
// admin can disable the account.
func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	ctx := context.Background()
	login := s.get(t, "/login")
	if got := login.doc.Find(testid("sso-sign-in")).Text(); got != "Sign in with Acme SSO" {
		t.Errorf("sign-in page offers %q", got)
	}
	if login.doc.Find(testid("login-password")).Length() != 1 {
		t.Error("the password form is gone without OIDC_ONLY")
	}

	done := s.signInSSO(t, "carol", "/audit")
	if done.Code != http.StatusSeeOther || done.Header().Get("Location") != "/audit" {
		t.Fatalf("callback: %d → %q %s", done.Code, done.Header().Get("Location"), done.Body)
	}
	if page := s.get(t, "/endpoints"); page.Code != http.StatusOK || page.doc.Find(testid("nav-account")).Length() != 1 {
		t.Fatalf("signed in by SSO, the list answers %d", page.Code)
	}
	accounts, err := s.auth.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var carol *auth.Account
	for _, a := range accounts {
		if a.Subject == "sub-carol-1" {
			carol = a
		}
	}
	if carol == nil || carol.Source != auth.SourceOIDC || carol.Role != auth.Editor || carol.DisplayName != "Carol Engineer" {
		t.Fatalf("carol's account: %+v", carol)
	}

	// A change names her subject and display name.
	gw := s.sim.Gateway(t, 1)
	if rec := (&twoProjects{app: s.app}).putPolicy(t, "", gw.ID, "obs:*:*:object:sso/*", nil); rec.Code != http.StatusOK {
		t.Fatalf("PUT as carol: %d %s", rec.Code, rec.Body)
	}
	var actor string
	if err := s.pool.QueryRow(ctx, `SELECT actor FROM audit_entries WHERE action = 'update' ORDER BY id DESC LIMIT 1`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(actor, "sub-carol-1") || !strings.Contains(actor, "Carol Engineer") {
		t.Errorf("the entry names %q", actor)
	}

	// No API token for an account whose role follows the provider.
	form := url.Values{"name": {"ci"}, "expires_days": {"30"}, "_csrf": {s.cookies["__Host-csrf"]}}
	if rec := s.do(t, http.MethodPost, "/account/tokens", form, nil); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("an SSO account's token: %d", rec.Code)
	}
	if n := countRows(t, s.app, `SELECT count(*) FROM api_tokens`); n != 0 {
		t.Errorf("%d tokens", n)
	}

	// Her account page offers no password or token.
	if page := s.get(t, "/account"); page.doc.Find(testid("sso-account-note")).Length() != 1 || page.doc.Find(testid("new-token-form")).Length() != 0 {
		t.Error("an SSO account's page offers a password or token form")
	}

	// Out of the group: viewer at the next sign-in.
	if err := s.idp.SetGroups("carol", []string{"auditors"}); err != nil {
		t.Fatal(err)
	}
	s.cookies = map[string]string{}
	if done := s.signInSSO(t, "carol", "/endpoints"); done.Code != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d %s", done.Code, done.Body)
	}
	if a, err := s.auth.AccountByName(ctx, carol.Name); err != nil || a.Role != auth.Viewer || a.ID != carol.ID {
		t.Errorf("after leaving the group: %+v %v", a, err)
	}

	// The admin page marks the account as the provider's.
	boss := &app{handler: s.handler, auth: s.auth, pool: s.pool, cookies: map[string]string{}}
	boss.signIn(t, boss.account(t, auth.Admin))
	if got := boss.get(t, "/admin/accounts").doc.Find(`[data-account="` + carol.Name + `"] ` + testid("sso-account")).Length(); got != 1 {
		t.Error("the admin page does not mark carol's account as single sign-on")
	}

	// Disabled locally: refused at the provider's return, no session.
	if err := s.auth.SetDisabled(ctx, carol.Name, true); err != nil {
		t.Fatal(err)
	}
	s.cookies = map[string]string{}
	refused := s.signInSSO(t, "carol", "/endpoints")
	if refused.Code != http.StatusForbidden || s.cookies["__Host-session"] != "" || !strings.Contains(refused.text(testid("login-error")), "disabled") {
		t.Errorf("disabled: %d, session %q, %q", refused.Code, s.cookies["__Host-session"], refused.text(testid("login-error")))
	}
}

// TestSSORefusals: every failure of the flow shows a plain sign-in page
// with the reason in words, signs nobody in, and is a security event with
// its reason.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fault  func(*oidctest.Provider)
		user   string
		status int
		reason string
	}{
		{"wrong audience", func(p *oidctest.Provider) { p.SetAudience("someone-else") }, "carol", http.StatusUnauthorized, sso.ReasonWrongAudience},
		{"expired token", func(p *oidctest.Provider) { p.SetExpiresIn(-5 * time.Minute) }, "carol", http.StatusUnauthorized, sso.ReasonExpired},
		{"clock skew beyond a minute", func(p *oidctest.Provider) { p.SetClockSkew(3 * time.Minute) }, "carol", http.StatusUnauthorized, sso.ReasonClockSkew},
		{"tampered token", func(p *oidctest.Provider) { p.TamperSignature(true) }, "carol", http.StatusUnauthorized, sso.ReasonBadSignature},
		{"wrong issuer", func(p *oidctest.Provider) { p.SetIssuer("https://evil.example") }, "carol", http.StatusUnauthorized, sso.ReasonWrongIssuer},
		{"another attempt's nonce", func(p *oidctest.Provider) { p.SetNonce("not-this-one") }, "carol", http.StatusUnauthorized, sso.ReasonNonceMismatch},
		{"no mapped group", nil, "erin", http.StatusForbidden, sso.ReasonNoGroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSSOApp(t)
			callback := s.begin(t, tc.user, "/endpoints")
			if tc.fault != nil {
				// The token is made at the code's exchange: a fault set now is in it.
				tc.fault(s.idp)
			}
			got := s.get(t, callback)
			if got.Code != tc.status || s.cookies["__Host-session"] != "" || got.text(testid("login-error")) == "" {
				t.Errorf("%d, session %q, error %q", got.Code, s.cookies["__Host-session"], got.text(testid("login-error")))
			}
			if n := countRows(t, s.app, `SELECT count(*) FROM security_events WHERE kind = 'sign_in_failed' AND detail = $1`, "refused: "+tc.reason); n != 1 {
				t.Errorf("%d security events with reason %s", n, tc.reason)
			}
			if n := countRows(t, s.app, `SELECT count(*) FROM accounts WHERE source = 'oidc'`); tc.reason != sso.ReasonNoGroup && n != 0 {
				t.Errorf("%d SSO accounts after a refusal", n)
			}
		})
	}
}

// TestSSOStateIsOneUseAndThisBrowsers: the provider's answer is good once,
// and only in the browser that started the sign-in (no planted sign-in).
func TestSSOStateIsOneUseAndThisBrowsers(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	callback := s.begin(t, "carol", "/endpoints")

	// Another browser (no state cookie) brings the answer: refused, and
	// the attempt is spent.
	stranger := &app{handler: s.handler, cookies: map[string]string{}, pool: s.pool}
	if got := stranger.get(t, callback); got.Code != http.StatusUnauthorized || stranger.cookies["__Host-session"] != "" {
		t.Errorf("another browser: %d", got.Code)
	}
	if got := s.get(t, callback); got.Code != http.StatusUnauthorized || s.cookies["__Host-session"] != "" {
		t.Errorf("after another browser spent it: %d", got.Code)
	}

	// A fresh attempt works once; replayed, it is refused.
	callback = s.begin(t, "carol", "/endpoints")
	jar := map[string]string{}
	for k, v := range s.cookies {
		jar[k] = v
	}
	if got := s.get(t, callback); got.Code != http.StatusSeeOther {
		t.Fatalf("first use: %d %s", got.Code, got.Body)
	}
	replay := &app{handler: s.handler, cookies: jar, pool: s.pool}
	if got := replay.get(t, callback); got.Code != http.StatusUnauthorized || replay.cookies["__Host-session"] != "" {
		t.Errorf("replayed: %d", got.Code)
	}
	if n := countRows(t, s.app, `SELECT count(*) FROM security_events WHERE detail = 'refused: bad_state'`); n < 3 {
		t.Errorf("%d bad_state events, want 3", n)
	}
}

// TestSSOProviderDown: a provider that cannot be reached is said in plain
// words (502) and signs nobody in; the console keeps serving local
// sign-in.
func TestSSOProviderDown(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	s.idp.Down(true)
	got := s.get(t, "/login/sso?next=/endpoints")
	if got.Code != http.StatusBadGateway || got.text(testid("login-error")) == "" || got.doc.Find(testid("login-password")).Length() != 1 {
		t.Errorf("provider down: %d %q", got.Code, got.text(testid("login-error")))
	}
	if n := countRows(t, s.app, `SELECT count(*) FROM security_events WHERE detail = 'refused: provider_unreachable'`); n != 1 {
		t.Errorf("%d provider_unreachable events", n)
	}
	s.signIn(t, s.account(t, auth.Admin))
	s.idp.Down(false)
}

// TestSSOOnly: with OIDC_ONLY the sign-in page offers the provider alone;
// a local (break-glass) admin still signs in at /login?local=1.
func TestSSOOnly(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{RedirectURLs: []string{consoleCallback}})
	c := ssoConsole(t, idp, "network-engineers=editor", true)
	a := &app{handler: c.Handler, auth: c.Auth, pool: c.Pool, cookies: map[string]string{}}
	page := a.get(t, "/login")
	if page.doc.Find(testid("login-password")).Length() != 0 || page.doc.Find(testid("local-sign-in")).Length() != 1 {
		t.Error("OIDC_ONLY still shows the password form, or no way to a local account")
	}
	if local := a.get(t, "/login?local=1"); local.doc.Find(testid("login-password")).Length() != 1 {
		t.Error("no password form at /login?local=1")
	}
	a.signIn(t, a.account(t, auth.Admin))
}

// TestSSOCancelKeepsWhereItWasGoing: cancelled at the provider, the
// sign-in page says so and still leads where the sign-in was going.
func TestSSOCancelKeepsWhereItWasGoing(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	callback := s.begin(t, "carol", "/audit?actor=x")
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	got := s.get(t, u.Path+"?"+q.Encode())
	if got.Code != http.StatusUnauthorized || !strings.Contains(got.doc.Find(testid("sso-sign-in")).AttrOr("href", ""), url.QueryEscape("/audit?actor=x")) {
		t.Errorf("cancelled: %d, button %q", got.Code, got.doc.Find(testid("sso-sign-in")).AttrOr("href", ""))
	}
}

// TestSSOStartsAreBounded: one address cannot start single sign-on
// without end (each start stores an attempt): past the bound it is told
// to wait, with Retry-After, and a security event.
func TestSSOStartsAreBounded(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	var last response
	for range 31 {
		last = s.get(t, "/login/sso?next=/endpoints")
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Errorf("start 31 in a minute: %d, Retry-After %q", last.Code, last.Header().Get("Retry-After"))
	}
	if n := countRows(t, s.app, `SELECT count(*) FROM sso_states`); n != 30 {
		t.Errorf("%d attempts stored, want 30", n)
	}
	if n := countRows(t, s.app, `SELECT count(*) FROM security_events WHERE kind = 'sign_in_throttled' AND subject = 'single sign-on'`); n != 1 {
		t.Errorf("%d throttle events", n)
	}
}

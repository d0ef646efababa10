package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/oidctest"
)

// TestSSOLeavingEveryGroupEndsAccess: a person removed from every
// mapped group is refused at their next sign-in (no_group), and then the
// account loses its role and its other sessions end: the browser still
// signed in elsewhere can change nothing.
func TestSSOLeavingEveryGroupEndsAccess(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	ctx := context.Background()
	if done := s.signInSSO(t, "carol", "/endpoints"); done.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", done.Code, done.Body)
	}
	laptop := map[string]string{}
	for k, v := range s.cookies {
		laptop[k] = v
	}
	// Carol leaves every group the console maps.
	if err := s.idp.SetGroups("carol", []string{"marketing"}); err != nil {
		t.Fatal(err)
	}
	s.cookies = map[string]string{} // another browser
	if got := s.signInSSO(t, "carol", "/endpoints"); got.Code != http.StatusForbidden {
		t.Fatalf("sign-in out of every group: %d", got.Code)
	}
	var role string
	if err := s.pool.QueryRow(ctx, `SELECT role FROM accounts WHERE subject = 'sub-carol-1'`).Scan(&role); err != nil {
		t.Fatal(err)
	}
	if role == string(auth.Editor) {
		t.Errorf("after the refused sign-in the account is still %s", role)
	}
	s.cookies = laptop
	gw := s.sim.Gateway(t, 1)
	if rec := (&twoProjects{app: s.app}).putPolicy(t, "", gw.ID, "obs:*:*:object:gone/*", nil); rec.Code == http.StatusOK {
		t.Errorf("the earlier session still changes a policy after carol left every group: %d", rec.Code)
	}
}

// TestSSONewSessionOldEnded: a browser signed in as someone else gets
// a new session token at the callback and the old session is ended.
func TestSSONewSessionOldEnded(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	s.signIn(t, s.account(t, auth.Admin))
	old := s.cookies["__Host-session"]
	if done := s.signInSSO(t, "carol", "/endpoints"); done.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", done.Code)
	}
	if s.cookies["__Host-session"] == old || s.cookies["__Host-session"] == "" {
		t.Errorf("session token not renewed")
	}
	stale := &app{handler: s.handler, pool: s.pool, cookies: map[string]string{"__Host-session": old}}
	if got := stale.get(t, "/admin/accounts"); got.Code == http.StatusOK {
		t.Errorf("the old session still works: %d", got.Code)
	}
}

// TestSSOAdminSetsPasswordOfSSOAccount: an admin setting a password
// on a single sign-on account gets a plain refusal, not an internal error.
func TestSSOAdminSetsPasswordOfSSOAccount(t *testing.T) {
	t.Parallel()
	s := newSSOApp(t)
	if done := s.signInSSO(t, "carol", "/endpoints"); done.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", done.Code)
	}
	var name string
	if err := s.pool.QueryRow(context.Background(), `SELECT name FROM accounts WHERE subject = 'sub-carol-1'`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	boss := &app{handler: s.handler, auth: s.auth, pool: s.pool, cookies: map[string]string{}}
	boss.signIn(t, boss.account(t, auth.Admin))
	boss.get(t, "/admin/accounts")
	form := url.Values{"password": {"a long enough new password 1"}, "_csrf": {boss.cookies["__Host-csrf"]}}
	got := boss.do(t, http.MethodPost, "/admin/accounts/"+name+"/password", form, nil)
	if got.Code != http.StatusUnprocessableEntity {
		t.Errorf("password of an SSO account set by an admin: %d %s", got.Code, got.Body.String()[:min(300, got.Body.Len())])
	}
}

// TestSSOOnlyKeepsPasswordsForBreakGlassAdmins: with OIDC_ONLY a local
// account other than an admin (the break-glass way in) is refused a
// password sign-in: nobody gets round the provider's MFA and offboarding.
func TestSSOOnlyKeepsPasswordsForBreakGlassAdmins(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t, oidctest.Options{RedirectURLs: []string{consoleCallback}})
	c := ssoConsole(t, idp, "network-engineers=editor", true)
	a := &app{handler: c.Handler, auth: c.Auth, pool: c.Pool, cookies: map[string]string{}}
	name := a.account(t, auth.Editor)
	a.get(t, "/login?local=1")
	r := a.do(t, http.MethodPost, "/login", url.Values{"name": {name}, "password": {testPassword}, "_csrf": {a.cookies["__Host-csrf"]}}, nil)
	if r.Code == http.StatusSeeOther {
		t.Errorf("with OIDC_ONLY a local editor signed in with a password")
	}
}

package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestCSRFTokenBoundToSession: every cookie-authenticated change needs the
// token whatever Sec-Fetch-Site says, and the token is the session's own:
// another session's, even planted in the cookie, is refused.
func TestCSRFTokenBoundToSession(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Viewer))
	a.refresh(t)
	other := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
	other.signIn(t, a.account(t, auth.Viewer))
	if a.cookies["__Host-csrf"] == other.cookies["__Host-csrf"] || a.cookies["__Host-csrf"] == "" {
		t.Fatal("two sessions share a CSRF token")
	}
	before := countRows(t, a, `SELECT count(*) FROM inventory_refreshes`)
	for name, header := range map[string]http.Header{
		"same-origin, no token": {"Sec-Fetch-Site": {"same-origin"}, "X-Csrf-Token": {""}},
		"none, no token":        {"Sec-Fetch-Site": {"none"}, "X-Csrf-Token": {""}},
		"no header, no token":   {"X-Csrf-Token": {""}},
	} {
		if r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, header); r.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, r.Code)
		}
	}
	// Another session's token, planted in this browser's cookie too.
	planted := map[string]string{}
	for k, v := range a.cookies {
		planted[k] = v
	}
	a.cookies["__Host-csrf"] = other.cookies["__Host-csrf"]
	if r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{"_csrf": {other.cookies["__Host-csrf"]}}, nil); r.Code != http.StatusForbidden {
		t.Errorf("another session's token: %d", r.Code)
	}
	a.cookies = planted
	if r := a.do(t, http.MethodPost, "/logout", url.Values{}, http.Header{"X-Csrf-Token": {""}, "Sec-Fetch-Site": {"same-origin"}}); r.Code != http.StatusForbidden {
		t.Errorf("sign-out without a token: %d", r.Code)
	}
	if n := countRows(t, a, `SELECT count(*) FROM inventory_refreshes`); n != before {
		t.Fatalf("a forged request refreshed (%d → %d)", before, n)
	}
	// The page's own token works, and is the session's.
	page := a.get(t, "/account")
	token := page.doc.Find(`input[name=_csrf]`).First().AttrOr("value", "")
	if token == "" || token != a.cookies["__Host-csrf"] {
		t.Fatalf("the page's token %q is not the session's", token)
	}
	if r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{"_csrf": {token}}, http.Header{"X-Csrf-Token": {""}}); r.Code != http.StatusSeeOther {
		t.Errorf("the page's own token: %d, want %d (the refresh done, back to the list)", r.Code, http.StatusSeeOther)
	}
	// A new session, a new token: the old one is worth nothing.
	old := a.cookies["__Host-csrf"]
	a.signIn(t, a.name)
	if a.cookies["__Host-csrf"] == old {
		t.Error("the CSRF token outlived its session")
	}
	if r := a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, http.Header{"X-Csrf-Token": {old}}); r.Code != http.StatusForbidden {
		t.Errorf("the previous session's token: %d", r.Code)
	}
}

// TestFailedChecksAreSecurityEvents: a wrong current password on the
// password page is a security event and counts as a sign-in failure; a
// sign-in under a name no account has keeps only a keyed hash of the name.
func TestFailedChecksAreSecurityEvents(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Viewer))
	if r := a.do(t, http.MethodPost, "/account/password", url.Values{"current": {"not my password at all"}, "new": {"a fresh long password"}}, nil); r.Code != http.StatusUnprocessableEntity {
		t.Fatalf("wrong current password: %d", r.Code)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'password_check_failed' AND subject = $1`, a.name); n != 1 {
		t.Errorf("%d password_check_failed events", n)
	}
	if n := countRows(t, a, `SELECT count(*) FROM login_failures WHERE account_name = $1`, a.name); n != 1 {
		t.Errorf("the wrong current password counted %d times", n)
	}

	// A password typed into the name box, twice.
	typed := "hunter2-typed-in-the-name-box"
	browser := &app{handler: a.handler, cookies: map[string]string{}}
	for range 2 {
		browser.get(t, "/login")
		if r := browser.do(t, http.MethodPost, "/login", url.Values{"name": {typed}, "password": {"whatever it is here"}, "_csrf": {browser.cookies["__Host-csrf"]}}, nil); r.Code != http.StatusUnauthorized {
			t.Fatalf("unknown name: %d", r.Code)
		}
	}
	rows, err := a.pool.Query(context.Background(), `
		SELECT row_to_json(e)::text FROM security_events e WHERE kind = 'sign_in_failed'
		UNION ALL SELECT row_to_json(f)::text FROM login_failures f`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(stored, "\n")
	if strings.Contains(all, typed) || strings.Contains(a.logs.String(), typed) {
		t.Errorf("the name typed is kept as text:\n%s", all)
	}
	if n := countRows(t, a, `SELECT count(DISTINCT account_name) FROM login_failures WHERE account_name LIKE 'name-hmac1:%'`); n != 1 {
		t.Errorf("%d distinct keyed names for one name tried twice", n)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'sign_in_failed' AND actor LIKE 'name-hmac1:%' AND subject LIKE 'name-hmac1:%'`); n != 2 {
		t.Errorf("%d failed sign-ins under the keyed name", n)
	}
}

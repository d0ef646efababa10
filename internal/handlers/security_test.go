package handlers_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// concrete fills a route pattern's parameters.
func concrete(path, endpointID, accountName string) string {
	r := strings.NewReplacer(":id/policy", endpointID+"/policy", "/endpoints/:id", "/endpoints/"+endpointID,
		":id", "1", ":name", accountName, ":op", "disable", "*", "app.css")
	return r.Replace(path)
}

// TestRouteInventory walks every registered route: each has an access rule;
// signed out, pages redirect to sign-in and the API answers 401; a viewer
// gets 403 on every route that needs more, and nothing changes.
func TestRouteInventory(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	ep := a.sim.Gateway(t, 2)
	victim := a.account(t, auth.Editor)
	routes := a.handler.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	a.get(t, "/login") // a CSRF cookie, so the checks below test the role, not the token

	for _, r := range routes {
		if !r.Checked {
			t.Errorf("%s %s is registered without an access rule", r.Method, r.Path)
			continue
		}
		if r.Role == "" {
			continue
		}
		target := concrete(r.Path, ep.ID, victim)
		t.Run("signed out "+r.Method+" "+r.Path, func(t *testing.T) {
			rec := a.send(httptest.NewRequest(r.Method, target, strings.NewReader("{}")), nil)
			switch {
			case strings.HasPrefix(r.Path, "/api/"):
				if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("%d", rec.Code)
				}
			default:
				if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
					t.Errorf("%d → %q", rec.Code, rec.Header().Get("Location"))
				}
			}
		})
	}

	a.signIn(t, a.account(t, auth.Viewer))
	for _, r := range routes {
		if r.Role != auth.Editor && r.Role != auth.Admin {
			continue
		}
		target := concrete(r.Path, ep.ID, victim)
		t.Run("viewer "+r.Method+" "+r.Path, func(t *testing.T) {
			body := url.Values{"role": {"admin"}, "password": {"a new password for the victim"}, "reason": {"x"}, "name": {"t"}}
			req := httptest.NewRequest(r.Method, target, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if rec := a.send(req, nil); rec.Code != http.StatusForbidden {
				t.Errorf("%d", rec.Code)
			}
		})
	}
	if a.sim.Puts() != 0 {
		t.Error("a viewer's request reached the upstream")
	}
	if n := countRows(t, a, `SELECT count(*) FROM audit_entries`); n != 0 {
		t.Errorf("%d audit entries from a viewer", n)
	}
	if v, err := a.auth.AccountByName(context.Background(), victim); err != nil || v.Role != auth.Editor || v.Disabled {
		t.Errorf("a viewer changed an account: %+v %v", v, err)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`); n == 0 {
		t.Error("refusals were not recorded as security events")
	}
	// The UI hides what a viewer cannot do.
	page := a.get(t, "/endpoints/"+ep.ID)
	if page.doc.Find(testid("edit-policy")).Length() != 0 || page.doc.Find(testid("nav-admin")).Length() != 0 {
		t.Error("a viewer is offered editing or administration")
	}
}

// countRows runs a count query with its arguments.
func countRows(t *testing.T, a *app, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSignInSessionCookieAndSignOut(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	a.refresh(t) // /endpoints answers 503 until the inventory is loaded
	name := a.account(t, auth.Editor)

	// A session token planted before sign-in is replaced at sign-in.
	a.get(t, "/login")
	planted := "planted-session-token"
	a.cookies["__Host-session"] = planted
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {name}, "password": {testPassword}, "_csrf": {a.cookies["__Host-csrf"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := a.send(req, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/endpoints" {
		t.Fatalf("sign in: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	set := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-session=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Domain=") || a.cookies["__Host-session"] == planted {
		t.Errorf("session cookie %q", set)
	}
	if r := a.get(t, "/endpoints"); r.Code != http.StatusOK {
		t.Fatalf("signed in: %d", r.Code)
	}
	token := a.cookies["__Host-session"]

	// Sign out deletes the session: the old cookie no longer works.
	if r := a.do(t, http.MethodPost, "/logout", url.Values{}, nil); r.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Code)
	}
	if n := countRows(t, a, `SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("%d sessions after sign-out", n)
	}
	a.cookies["__Host-session"] = token
	if r := a.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("the signed-out token still works: %d", r.Code)
	}

	// Idle and absolute expiry, as the server sees them.
	a.signIn(t, name)
	if _, err := a.pool.Exec(context.Background(), `UPDATE sessions SET last_seen_at = now() - interval '31 minutes'`); err != nil {
		t.Fatal(err)
	}
	if r := a.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("idle session: %d", r.Code)
	}
	a.signIn(t, name)
	if _, err := a.pool.Exec(context.Background(), `UPDATE sessions SET created_at = now() - interval '13 hours'`); err != nil {
		t.Fatal(err)
	}
	if r := a.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("session past its lifetime: %d", r.Code)
	}
	// next= brings the admin back, but only within the site.
	a.signIn(t, name)
	for next, want := range map[string]string{"/audit?actor=x": "/audit?actor=x", "//evil.example/": "/endpoints", "https://evil.example": "/endpoints"} {
		a.do(t, http.MethodPost, "/logout", url.Values{}, nil)
		a.get(t, "/login")
		r := a.do(t, http.MethodPost, "/login", url.Values{"name": {name}, "password": {testPassword}, "next": {next}, "_csrf": {a.cookies["__Host-csrf"]}}, nil)
		if r.Header().Get("Location") != want {
			t.Errorf("next=%s → %s", next, r.Header().Get("Location"))
		}
	}
}

func TestDisablingOrDemotingEndsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	admin := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
	admin.refresh(t) // /endpoints answers 503 until the inventory is loaded
	// A second "browser" on the same console, as an editor.
	user := &app{handler: admin.handler, auth: admin.auth, pool: admin.pool, sim: admin.sim, cookies: map[string]string{}}
	name := admin.account(t, auth.Editor)
	user.signIn(t, name)
	if r := user.get(t, "/endpoints"); r.Code != http.StatusOK {
		t.Fatal(r.Code)
	}
	page := admin.get(t, "/admin/accounts")
	if r := admin.do(t, http.MethodPost, "/admin/accounts/"+name+"/role", url.Values{"role": {"viewer"}, "_csrf": {page.doc.Find(`input[name=_csrf]`).AttrOr("value", "")}}, nil); r.Code != http.StatusSeeOther {
		t.Fatalf("set role: %d %s", r.Code, r.text(testid("form-error")))
	}
	if r := user.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("a demoted account's session lives on: %d", r.Code)
	}
	user.signIn(t, name)
	if r := admin.do(t, http.MethodPost, "/admin/accounts/"+name+"/disable", url.Values{}, nil); r.Code != http.StatusSeeOther {
		t.Fatal(r.Code)
	}
	if r := user.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("a disabled account's session lives on: %d", r.Code)
	}
	if r := user.do(t, http.MethodPost, "/login", url.Values{"name": {name}, "password": {testPassword}}, nil); r.Code != http.StatusUnauthorized || r.text(testid("login-error")) != "Wrong name or password." {
		t.Errorf("a disabled account signs in: %d", r.Code)
	}
	// An admin cannot lock themselves out.
	if r := admin.do(t, http.MethodPost, "/admin/accounts/"+admin.name+"/disable", url.Values{}, nil); r.Code != http.StatusUnprocessableEntity {
		t.Errorf("self-disable: %d", r.Code)
	}
	events := admin.get(t, "/security-events")
	for _, kind := range []string{"sign_in", "role_changed", "account_disabled", "sign_in_failed"} {
		if events.doc.Find(`[data-kind="`+kind+`"]`).Length() == 0 {
			t.Errorf("no %s security event", kind)
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	form := preparedChange(t, a, ep, readOnlyLogs)
	tests := []struct {
		name   string
		header http.Header
		strip  bool // drop the form's _csrf
	}{
		{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}, false},
		{"missing token", http.Header{"X-Csrf-Token": {""}}, true},
		{"wrong token", http.Header{"X-Csrf-Token": {"forged"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range form {
				v[k] = vs
			}
			if tt.strip {
				v.Del("_csrf")
			}
			if tt.name == "wrong token" {
				v.Set("_csrf", "forged")
			}
			r := a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy", v, tt.header)
			if r.Code != http.StatusForbidden || !strings.Contains(r.text(testid("error-message")), "nothing was changed") {
				t.Fatalf("%d %q", r.Code, r.text(testid("error-message")))
			}
		})
	}
	// Reading an endpoint may record its baseline; nothing else is recorded.
	if a.sim.Puts() != 0 || countRows(t, a, `SELECT count(*) FROM audit_entries WHERE action <> 'baseline'`) != 0 {
		t.Fatal("a forged request changed something")
	}
	// The same form from the console itself goes through.
	if r := a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy", form, http.Header{"Sec-Fetch-Site": {"same-origin"}}); r.Code != http.StatusSeeOther {
		t.Fatalf("same-origin: %d", r.Code)
	}
}

func TestBruteForceLimitsHoldAcrossReplicas(t *testing.T) {
	t.Parallel()
	url1 := testdb.Migrated(t)
	replicaA := newApp(t, withDB(url1), signedOut())
	replicaB := newApp(t, withDB(url1), signedOut(), withProxies(mustCIDR(t, "10.0.0.0/8")))
	// A first wait longer than the test may take on a loaded machine, where
	// the 1 s default can rightly run out between two attempts.
	replicaA.auth.SetFirstDelay(time.Minute)
	replicaB.auth.SetFirstDelay(time.Minute)
	name := replicaA.account(t, auth.Editor)
	attempt := func(a *app, xff string) int {
		a.get(t, "/login")
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {name}, "password": {"wrong password guess"}, "_csrf": {a.cookies["__Host-csrf"]}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "192.0.2.50:4000" // not a trusted proxy: X-Forwarded-For is ignored
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return a.send(req, nil).Code
	}
	codes := []int{}
	for i := range 6 {
		app := replicaA
		if i%2 == 1 {
			app = replicaB
		}
		codes = append(codes, attempt(app, fmt.Sprintf("203.0.113.%d", i)))
	}
	// Three free failures, then every attempt waits, whichever replica and whatever X-Forwarded-For.
	want := []int{401, 401, 401, 429, 429, 429}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	// Even the right password waits.
	replicaB.get(t, "/login")
	r := replicaB.do(t, http.MethodPost, "/login", url.Values{"name": {name}, "password": {testPassword}, "_csrf": {replicaB.cookies["__Host-csrf"]}}, nil)
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
		t.Fatalf("right password while throttled: %d", r.Code)
	}
	rows, err := replicaA.pool.Query(context.Background(), `SELECT DISTINCT client_ip FROM login_failures`)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ips) != "[192.0.2.50]" {
		t.Errorf("failures counted against %v: X-Forwarded-For from an untrusted peer was believed", ips)
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSecurityHeadersOnEveryStatus(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t) // /endpoints answers 503 until the inventory is loaded
	check := func(name string, rec *httptest.ResponseRecorder, wantStatus int) {
		t.Helper()
		if rec.Code != wantStatus {
			t.Errorf("%s: status %d, want %d", name, rec.Code, wantStatus)
		}
		h := rec.Header()
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s (%d): headers %v", name, rec.Code, h)
		}
	}
	check("200", a.send(httptest.NewRequest(http.MethodGet, "/endpoints", nil), nil), 200)
	check("404", a.send(httptest.NewRequest(http.MethodGet, "/nowhere", nil), nil), 404)
	big := httptest.NewRequest(http.MethodPost, "/endpoints/refresh", strings.NewReader(strings.Repeat("x", 300<<10)))
	big.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	check("413", a.send(big, nil), 413)
	throttled := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	name := throttled.account(t, auth.Viewer)
	if _, err := throttled.pool.Exec(context.Background(), `INSERT INTO login_failures (account_name, client_ip) SELECT $1, '192.0.2.1' FROM generate_series(1, 100)`, name); err != nil {
		t.Fatal(err)
	}
	throttled.get(t, "/login")
	login := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {name}, "password": {testPassword}, "_csrf": {throttled.cookies["__Host-csrf"]}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	check("429", throttled.send(login, nil), 429)
	// A table gone missing is an internal error; the database gone away
	// is an outage.
	if _, err := a.pool.Exec(context.Background(), `ALTER TABLE audit_entries RENAME TO audit_entries_gone`); err != nil {
		t.Fatal(err)
	}
	check("500", a.send(httptest.NewRequest(http.MethodGet, "/audit", nil), nil), 500)
	a.pool.Close()
	check("503", a.send(httptest.NewRequest(http.MethodGet, "/endpoints", nil), nil), 503)

	if rec := a.send(httptest.NewRequest(http.MethodGet, "/healthz", nil), nil); rec.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	tlsApp := newApp(t, signedOut(), withTLS())
	if rec := tlsApp.send(httptest.NewRequest(http.MethodGet, "/login", nil), nil); !strings.HasPrefix(rec.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS over TLS")
	}
}

// TestSecretsNeverLeak runs a session that touches every secret the console
// handles, then greps everything it captured: logs, every page and API
// answer, the audit log and the security events.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
	var captured strings.Builder
	capture := func(s string) { captured.WriteString(s); captured.WriteString("\n") }
	ep := a.sim.Gateway(t, 2)
	session := a.cookies["__Host-session"]

	// A failed sign-in with a near-miss password, as another browser.
	other := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
	other.get(t, "/login")
	wrong := "correct horse battery stapler"
	capture(other.do(t, http.MethodPost, "/login", url.Values{"name": {a.name}, "password": {wrong}, "_csrf": {other.cookies["__Host-csrf"]}}, nil).Body.String())

	// An API token made on the admin page, then used.
	page := a.get(t, "/admin/accounts")
	capture(page.Body.String())
	created := a.do(t, http.MethodPost, "/admin/accounts/"+a.name+"/tokens", url.Values{"name": {"ci"}, "expires_days": {"30"}}, nil)
	capture(created.Header().Get("Location") + strings.Join(created.Header().Values("Set-Cookie"), "\n"))
	token := a.get(t, "/admin/accounts").text(testid("new-token-value")) // shown once, after the redirect
	if !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("no token shown: %q", token)
	}
	bearer := &app{handler: a.handler, cookies: map[string]string{}}
	r := bearer.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy",
		`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:a/*"]}], "reason": "via token"}`,
		map[string]string{"Authorization": "Bearer " + token})
	if r.code != 200 || !strings.HasPrefix(r.body["entry"].(map[string]any)["actor"].(string), "token:") {
		t.Fatalf("API with token: %d %.300s", r.code, r.raw)
	}
	capture(r.raw)
	// Password change and a change in the browser.
	capture(a.do(t, http.MethodPost, "/admin/accounts/"+other.account(t, auth.Viewer)+"/password", url.Values{"password": {"a brand new secret pw"}}, nil).Body.String())
	form := preparedChange(t, a, ep, readOnlyLogs)
	done := a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy", form, nil)
	entryPage := a.get(t, done.Header().Get("Location"))
	capture(entryPage.Body.String())
	if got := entryPage.text(testid("entry-facts") + " dd"); got != a.name {
		t.Errorf("the entry's actor is %q, want %q", got, a.name)
	}
	for _, path := range []string{"/audit", "/audit.json", "/audit.csv", "/security-events", "/account", "/endpoints/" + ep.ID, "/api/v1/audit"} {
		capture(a.get(t, path).Body.String())
	}
	// Everything stored.
	rows, err := a.pool.Query(context.Background(), `
		SELECT row_to_json(e)::text FROM audit_entries e
		UNION ALL SELECT row_to_json(s)::text FROM security_events s
		UNION ALL SELECT row_to_json(f)::text FROM login_failures f`)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range stored {
		capture(row)
	}
	capture(a.logs.String())

	all := captured.String()
	for name, secret := range map[string]string{
		"password": testPassword, "wrong password": wrong, "new password": "a brand new secret pw",
		"session token": session, "API token": token, "upstream SK": a.sim.SK, "upstream AK": a.sim.AK,
	} {
		if secret != "" && strings.Contains(all, secret) {
			t.Errorf("the %s appears in what was captured", name)
		}
	}
	if len(all) < 10000 {
		t.Fatalf("captured only %d bytes: the test looked at too little", len(all))
	}
}

func TestAccountPageTokensAndPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Viewer))
	a.refresh(t) // /endpoints answers 503 until the inventory is loaded
	token, tok, err := a.auth.CreateToken(ctx, a.name, "laptop", 0)
	if err != nil {
		t.Fatal(err)
	}
	othersToken, others, err := a.auth.CreateToken(ctx, a.account(t, auth.Editor), "theirs", 0)
	if err != nil {
		t.Fatal(err)
	}
	page := a.get(t, "/account")
	if page.doc.Find(testid("token-row")).Length() != 1 || strings.Contains(page.Body.String(), token) {
		t.Fatalf("account page: %d tokens, or the token itself shown", page.doc.Find(testid("token-row")).Length())
	}
	// Someone else's token cannot be revoked from here.
	if r := a.do(t, http.MethodPost, fmt.Sprintf("/account/tokens/%d/revoke", others.ID), url.Values{}, nil); r.Code != http.StatusNotFound {
		t.Errorf("revoke another's token: %d", r.Code)
	}
	if r := a.do(t, http.MethodPost, fmt.Sprintf("/account/tokens/%d/revoke", tok.ID), url.Values{}, nil); r.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Code)
	}
	bearer := &app{handler: a.handler, cookies: map[string]string{}}
	if r := bearer.api(t, "GET", "/api/v1/audit", "", map[string]string{"Authorization": "Bearer " + token}); r.code != 401 {
		t.Errorf("a revoked token works: %d", r.code)
	}
	if r := bearer.api(t, "GET", "/api/v1/audit", "", map[string]string{"Authorization": "Bearer " + othersToken}); r.code != 200 {
		t.Errorf("the other token stopped working: %d", r.code)
	}
	// A viewer's token reads but cannot change anything.
	viewerToken, _, _ := a.auth.CreateToken(ctx, a.name, "ci", 0)
	ep := a.sim.Gateway(t, 2)
	if r := bearer.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy", `{"policy_statement": [], "reason": "x"}`,
		map[string]string{"Authorization": "Bearer " + viewerToken}); r.code != 403 || r.errField("code") != "forbidden" {
		t.Errorf("a viewer token changed a policy: %d %s", r.code, r.raw)
	}

	// Changing one's own password: the current one is required; other sessions end.
	other := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
	other.signIn(t, a.name)
	if r := a.do(t, http.MethodPost, "/account/password", url.Values{"current": {"not it at all"}, "new": {"a fresh long password"}}, nil); r.Code != http.StatusUnprocessableEntity {
		t.Errorf("wrong current password: %d", r.Code)
	}
	if r := a.do(t, http.MethodPost, "/account/password", url.Values{"current": {testPassword}, "new": {"short"}}, nil); r.Code != http.StatusUnprocessableEntity {
		t.Errorf("short new password: %d", r.Code)
	}
	if r := a.do(t, http.MethodPost, "/account/password", url.Values{"current": {testPassword}, "new": {"a fresh long password"}}, nil); r.Code != http.StatusSeeOther {
		t.Fatalf("change password: %d", r.Code)
	}
	if r := a.get(t, "/endpoints"); r.Code != http.StatusOK {
		t.Errorf("this browser was signed out: %d", r.Code)
	}
	if r := other.get(t, "/endpoints"); r.Code != http.StatusSeeOther {
		t.Errorf("the other session survived the password change: %d", r.Code)
	}
}

func TestAdminManagesAccounts(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedInAs(auth.Admin))
	for _, tt := range []struct {
		name, role, password string
		want                 int
	}{
		{"new-editor", "editor", "a long enough password", http.StatusSeeOther},
		{"new-editor", "editor", "a long enough password", http.StatusUnprocessableEntity}, // taken
		{"Bad Name", "viewer", "a long enough password", http.StatusUnprocessableEntity},
		{"shorty", "viewer", "short", http.StatusUnprocessableEntity},
		{"rooted", "root", "a long enough password", http.StatusUnprocessableEntity},
	} {
		r := a.do(t, http.MethodPost, "/admin/accounts", url.Values{"name": {tt.name}, "role": {tt.role}, "password": {tt.password}}, nil)
		if r.Code != tt.want {
			t.Errorf("add %s: %d, want %d (%s)", tt.name, r.Code, tt.want, r.text(testid("form-error")))
		}
		if tt.want != http.StatusSeeOther && r.doc.Find(`input[name=name]`).Last().AttrOr("value", "") != tt.name {
			t.Errorf("add %s: the name typed was not kept", tt.name)
		}
	}
	editor := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
	a.do(t, http.MethodPost, "/admin/accounts/new-editor/password", url.Values{"password": {testPassword}}, nil)
	editor.signIn(t, "new-editor")
	if r := editor.get(t, "/admin/accounts"); r.Code != http.StatusForbidden {
		t.Errorf("an editor reached the admin page: %d", r.Code)
	}
	if r := editor.get(t, "/security-events"); r.Code != http.StatusForbidden {
		t.Errorf("an editor reached the security events: %d", r.Code)
	}
}

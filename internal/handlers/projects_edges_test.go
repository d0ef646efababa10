package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
)

// TestSignInKeepsProject: a signed-out visit to a page of project
// beta must come back to beta after sign-in: next= keeps /p/beta.
func TestSignInKeepsProject(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	for _, target := range []string{"/p/beta/endpoints?q=x", "/p/beta/audit"} {
		rec := tp.get(t, target)
		loc := rec.Header().Get("Location")
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusSeeOther || u.Query().Get("next") != target {
			t.Errorf("signed out %s: %d → %q, want next=%q", target, rec.Code, loc, target)
		}
	}
}

// TestProjectAdminGrantIsNotConsoleAdmin: a per-project grant of
// admin (the store, ParseGrant and the table's CHECK accept it) must not
// make the account an admin of the console: account administration and
// security events stay with console admins.
func TestProjectAdminGrantIsNotConsoleAdmin(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	name := tp.account(t, auth.Viewer)
	// The store and the table both refuse an admin grant; the account's
	// best grant, editor, makes no admin either.
	if err := tp.auth.SetProjectRole(context.Background(), name, "alpha", auth.Admin); err == nil {
		t.Error("an admin grant was taken")
	}
	if _, err := tp.pool.Exec(context.Background(), `INSERT INTO account_project_roles (account_id, project, role)
		SELECT id, 'alpha', 'admin' FROM accounts WHERE name = $1`, name); err == nil {
		t.Error("the table took an admin grant")
	}
	if err := tp.auth.SetProjectRole(context.Background(), name, "alpha", auth.Editor); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	for _, target := range []string{"/admin/accounts", "/security-events", "/p/alpha/admin/accounts"} {
		if rec := tp.get(t, target); rec.Code != http.StatusForbidden {
			t.Errorf("%s as viewer with an admin grant in alpha: %d, want 403", target, rec.Code)
		}
	}
	form := url.Values{"name": {"mallory-13"}, "password": {testPassword}, "role": {"admin"}, "_csrf": {tp.cookies["__Host-csrf"]}}
	if rec := tp.do(t, http.MethodPost, "/admin/accounts", form, nil); rec.Code != http.StatusForbidden {
		t.Errorf("creating an admin account with a project admin grant: %d, want 403", rec.Code)
	}
}

// TestIdempotencyKeyPerProject: the same Idempotency-Key used by one
// account in two projects is two changes; the second must reach beta's
// upstream, and must never answer with alpha's entry, least of all once
// the account has lost access to alpha.
func TestIdempotencyKeyPerProject(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	alpha, beta := tp.project("alpha"), tp.project("beta")
	name := tp.account(t, auth.Editor)
	tp.signIn(t, name)
	key := http.Header{"Idempotency-Key": {"deploy-2026-11-27"}}
	if rec := tp.putPolicy(t, "/p/alpha", alpha.Sim.Gateway(t, 1).ID, "obs:*:*:object:alpha/*", key); rec.Code != http.StatusOK {
		t.Fatalf("PUT in alpha: %d %s", rec.Code, rec.Body)
	}
	if err := tp.auth.SetProjectRole(context.Background(), name, "alpha", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	puts := beta.Sim.Puts()
	rec := tp.putPolicy(t, "/p/beta", beta.Sim.Gateway(t, 1).ID, "obs:*:*:object:beta/*", key)
	if rec.Code != http.StatusOK || beta.Sim.Puts() != puts+1 {
		t.Errorf("PUT in beta with the key used in alpha: %d, beta PUTs %d→%d: %s", rec.Code, puts, beta.Sim.Puts(), rec.Body)
	}
	if strings.Contains(rec.Body.String(), alpha.ProjectID) {
		t.Errorf("the answer in beta shows alpha's entry to an account without access to alpha: %s", rec.Body)
	}
}

// TestRefusalWithoutAccessIsRecorded: a change attempted on an entry
// of a project the account has no access to is a refused change: it is
// recorded as a security event (whatever the status, 403 or 404).
func TestRefusalWithoutAccessIsRecorded(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	beta := tp.project("beta")
	ctx := context.Background()
	boss := newTwoProjectsSession(tp, t, auth.Editor)
	if rec := boss.putPolicy(t, "/p/beta", beta.Sim.Gateway(t, 1).ID, "obs:*:*:object:beta/*", nil); rec.Code != http.StatusOK {
		t.Fatalf("boss PUT: %d %s", rec.Code, rec.Body)
	}
	var betaEntry int64
	if err := tp.pool.QueryRow(ctx, `SELECT max(id) FROM audit_entries WHERE project_id = $1`, beta.ProjectID).Scan(&betaEntry); err != nil {
		t.Fatal(err)
	}
	name := tp.account(t, auth.Editor)
	if err := tp.auth.SetProjectRole(ctx, name, "beta", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	before := countRows(t, tp.app, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`)
	puts := beta.Sim.Puts()
	req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/v1/audit/%d/rollback", betaEntry), strings.NewReader(`{"reason": "undo", "restores": "before"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := tp.send(req, nil)
	if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound {
		t.Fatalf("rollback without access: %d", rec.Code)
	}
	form := url.Values{"reason": {"undo"}, "restores": {"before"}, "_csrf": {tp.cookies["__Host-csrf"]}}
	tp.do(t, http.MethodPost, fmt.Sprintf("/audit/%d/rollback", betaEntry), form, nil)
	if beta.Sim.Puts() != puts {
		t.Fatal("a refused rollback reached beta")
	}
	if after := countRows(t, tp.app, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`); after < before+2 {
		t.Errorf("two refused rollbacks in a project without access: %d security events, want 2 (status %d)", after-before, rec.Code)
	}
}

// TestNoAccessPagesHideProject: the refusal of a page of a project
// the account has no access to does not show that project's id (the
// page frame shows the URL's project id and region whatever the role).
func TestNoAccessPagesHideProject(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	beta := tp.project("beta")
	id := beta.Sim.Gateway(t, 1).ID
	name := tp.account(t, auth.Editor)
	if err := tp.auth.SetProjectRole(context.Background(), name, "beta", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	for _, target := range []string{"/p/beta/endpoints", "/p/beta/endpoints/" + id + "/history", "/p/beta/audit"} {
		if rec := tp.get(t, target); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), beta.ProjectID) {
			t.Errorf("%s without access to beta: %d, shows beta's project id: %v", target, rec.Code, strings.Contains(rec.Body.String(), beta.ProjectID))
		}
	}
}

// TestEncodedPrefix: an address whose prefix is percent-encoded
// (as a proxy or client may send it) is the same page: scopeProject takes
// the project from the decoded Path but leaves RawPath (which Echo routes
// on) untrimmed, so the route is never found.
func TestEncodedPrefix(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, auth.Viewer)
	for _, target := range []string{"/p/bet%61/endpoints", "/p/%62eta/api/v1/endpoints"} {
		if rec := tp.get(t, target); rec.Code != http.StatusOK {
			t.Errorf("%s: %d, want 200 as /p/beta/...", target, rec.Code)
		}
	}
}

// TestRequestLogNamesProject: the request log line of a project's
// page says which project (the path logged is the one requested).
func TestRequestLogNamesProject(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, auth.Viewer)
	tp.get(t, "/p/beta/endpoints?q=review13")
	if !strings.Contains(tp.logs.String(), "/p/beta/endpoints") {
		t.Errorf("the request log does not name the project: %s", tp.logs.String())
	}
}

// TestReadyzCredentialsForAdminToken: /readyz tells a signed-in
// admin how the projects' credentials stand, "session or token"
// (readiness.Credentials): an admin's API token (a monitoring script) must
// get them too.
func TestReadyzCredentialsForAdminToken(t *testing.T) {
	t.Parallel()
	c := testapp.New(t, testapp.Options{Projects: []testapp.ProjectOptions{
		{Name: "alpha"},
		{Name: "beta", IAM: true},
	}})
	a := &app{sim: c.Sim, store: c.Store, audit: c.Audit, pool: c.Pool, auth: c.Auth,
		refresher: c.Refresher, handler: c.Handler, logs: c.Logs, cookies: map[string]string{}}
	for _, p := range c.Projects {
		_ = p.Refresher.Refresh(context.Background(), inventory.TriggerManual)
	}
	name := a.account(t, auth.Admin)
	a.signIn(t, name)
	bySession := a.get(t, "/readyz")
	if !strings.Contains(bySession.Body.String(), `"credentials"`) {
		t.Fatalf("/readyz by an admin's session: %s", bySession.Body)
	}
	plain, _, err := a.auth.CreateToken(context.Background(), name, "monitor", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	a.cookies = map[string]string{}
	rec := a.send(httptest.NewRequest(http.MethodGet, "/readyz", nil), http.Header{"Authorization": {"Bearer " + plain}})
	if !strings.Contains(rec.Body.String(), `"credentials"`) {
		t.Errorf("/readyz by an admin's API token: no credentials: %s", rec.Body)
	}
}

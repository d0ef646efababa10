package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// twoProjects is a console serving two simulated projects in two regions,
// each refreshed once, signed in as an account of role (its role in every
// project unless granted otherwise).
type twoProjects struct {
	*app
	console *testapp.Console
}

func newTwoProjects(t *testing.T, role auth.Role) *twoProjects {
	t.Helper()
	now := time.Now()
	c := testapp.New(t, testapp.Options{Projects: []testapp.ProjectOptions{
		{Name: "alpha", Region: "cn-north-4", Endpoints: vpcepsim.DemoEndpoints(1, now)},
		{Name: "beta", Region: "ap-southeast-1", Endpoints: vpcepsim.RegionDemoEndpoints("ap-southeast-1", 2, now)},
	}})
	a := &app{sim: c.Sim, store: c.Store, audit: c.Audit, pool: c.Pool, auth: c.Auth,
		refresher: c.Refresher, handler: c.Handler, logs: c.Logs, cookies: map[string]string{}}
	for _, p := range c.Projects {
		if err := p.Refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			t.Fatalf("refresh %s: %v", p.Name, err)
		}
	}
	if role != "" {
		a.signIn(t, a.account(t, role))
	}
	return &twoProjects{app: a, console: c}
}

func (tp *twoProjects) project(name string) *testapp.Project {
	for _, p := range tp.console.Projects {
		if p.Name == name {
			return p
		}
	}
	panic("no project " + name)
}

// putPolicy changes an endpoint's policy through the JSON API of a project.
func (tp *twoProjects) putPolicy(t *testing.T, prefix, id, resource string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	body := fmt.Sprintf(`{"reason": "per-project test", "policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": [%q]}]}`, resource)
	req := httptest.NewRequest(http.MethodPut, prefix+"/api/v1/endpoints/"+id+"/policy", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return tp.send(req, header)
}

// TestProjectsBrowseEditRollBackInEach browses, edits and rolls back in
// each of two projects: every call reaches its own project's upstream and
// its entry records that project's id and region.
func TestProjectsBrowseEditRollBackInEach(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, auth.Editor)
	alpha, beta := tp.project("alpha"), tp.project("beta")
	gws := map[string]*vpcepsim.Endpoint{"alpha": alpha.Sim.Gateway(t, 1), "beta": beta.Sim.Gateway(t, 1)}
	for _, p := range []*testapp.Project{alpha, beta} {
		if err := p.Refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*testapp.Project{alpha, beta} {
		other := alpha
		if p == alpha {
			other = beta
		}
		prefix := "/p/" + p.Name
		t.Run(p.Name, func(t *testing.T) {
			list := tp.get(t, prefix+"/endpoints?q="+gws[p.Name].ID)
			if list.Code != http.StatusOK || !strings.Contains(list.Body.String(), gws[p.Name].ID) {
				t.Fatalf("list: %d, own gateway shown: %v", list.Code, strings.Contains(list.Body.String(), gws[p.Name].ID))
			}
			if got := tp.get(t, prefix+"/endpoints?q="+gws[other.Name].ID); strings.Contains(got.Body.String(), `href="`+prefix+"/endpoints/"+gws[other.Name].ID) {
				t.Error("the other project's endpoint is listed")
			}
			// Links stay in the project.
			if got := list.doc.Find(testid("endpoint-link")).AttrOr("href", ""); !strings.HasPrefix(got, prefix+"/endpoints/") {
				t.Errorf("endpoint link %q leaves the project", got)
			}
			page := tp.get(t, prefix+"/endpoints/"+gws[p.Name].ID)
			if page.Code != http.StatusOK || page.doc.Find(testid("edit-policy")).AttrOr("href", "") != prefix+"/endpoints/"+gws[p.Name].ID+"/policy/edit" {
				t.Fatalf("endpoint page: %d, edit link %q", page.Code, page.doc.Find(testid("edit-policy")).AttrOr("href", ""))
			}
			// The other project's endpoint is not this project's.
			if got := tp.get(t, prefix+"/endpoints/"+gws[other.Name].ID); got.Code != http.StatusNotFound {
				t.Errorf("the other project's endpoint through this one: %d", got.Code)
			}

			putsBefore, otherBefore := p.Sim.Puts(), other.Sim.Puts()
			rec := tp.putPolicy(t, prefix, gws[p.Name].ID, "obs:*:*:object:"+p.Name+"/*", nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
			}
			var res struct {
				Entry struct {
					ID                int64
					ProjectID, Region string
				} `json:"entry"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if p.Sim.Puts() != putsBefore+1 || other.Sim.Puts() != otherBefore {
				t.Errorf("PUTs: this %d→%d, other %d→%d", putsBefore, p.Sim.Puts(), otherBefore, other.Sim.Puts())
			}
			e, err := tp.audit.Get(context.Background(), res.Entry.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.ProjectID != p.ProjectID || e.Region != p.Region {
				t.Errorf("entry of %s/%s, want %s/%s", e.ProjectID, e.Region, p.ProjectID, p.Region)
			}

			// Roll it back from the audit log without a prefix: the entry
			// says which project.
			req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/v1/audit/%d/rollback", e.ID),
				strings.NewReader(`{"reason": "undo per-project test", "restores": "before"}`))
			req.Header.Set("Content-Type", "application/json")
			if rec := tp.send(req, nil); rec.Code != http.StatusOK {
				t.Fatalf("rollback: %d %s", rec.Code, rec.Body)
			}
			if p.Sim.Puts() != putsBefore+2 || other.Sim.Puts() != otherBefore {
				t.Errorf("rollback PUTs: this %d, other %d→%d", p.Sim.Puts()-putsBefore, otherBefore, other.Sim.Puts())
			}
			if got := p.Sim.Live(t, gws[p.Name].ID); len(got) != 1 || strings.Contains(fmt.Sprint(got), p.Name+"/") {
				t.Errorf("after the rollback the live policy is %v", got)
			}
		})
	}

	// The audit log across both, and of one.
	all := tp.get(t, "/audit")
	if all.Code != http.StatusOK {
		t.Fatalf("/audit: %d", all.Code)
	}
	names := map[string]int{}
	all.doc.Find(testid("audit-project-name")).Each(func(_ int, s *goquery.Selection) { names[strings.Fields(s.Text())[0]]++ })
	if names["alpha"] == 0 || names["beta"] == 0 {
		t.Errorf("/audit shows entries of %v, want both projects", names)
	}
	for _, target := range []string{"/audit?project=beta", "/p/beta/audit", "/audit?region=ap-southeast-1"} {
		got := tp.get(t, target)
		n := map[string]int{}
		got.doc.Find(testid("audit-project-name")).Each(func(_ int, s *goquery.Selection) { n[strings.Fields(s.Text())[0]]++ })
		if got.Code != http.StatusOK || n["alpha"] != 0 || n["beta"] == 0 {
			t.Errorf("%s: %d, entries of %v", target, got.Code, n)
		}
	}
	if got := tp.get(t, "/audit?project=gamma"); got.Code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown project filter: %d", got.Code)
	}
	csv := tp.get(t, "/audit.csv?project=alpha")
	if csv.Code != http.StatusOK || strings.Contains(csv.Body.String(), beta.ProjectID) || !strings.Contains(csv.Body.String(), alpha.ProjectID) {
		t.Errorf("CSV of alpha: %d, holds beta: %v", csv.Code, strings.Contains(csv.Body.String(), beta.ProjectID))
	}
}

// TestProjectsURLs: with several projects an address names one; one that
// names none is sent to the first, or told which to name.
func TestProjectsURLs(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, auth.Viewer)
	cases := []struct {
		target   string
		status   int
		location string
	}{
		{"/", http.StatusFound, "/p/alpha/"},
		{"/endpoints?q=x", http.StatusFound, "/p/alpha/endpoints?q=x"},
		{"/p/alpha/", http.StatusFound, "/p/alpha/endpoints"},
		{"/p/beta/endpoints", http.StatusOK, ""},
		{"/p/gamma/endpoints", http.StatusNotFound, ""},
		{"/api/v1/endpoints", http.StatusNotFound, ""},
		{"/p/beta/api/v1/endpoints", http.StatusOK, ""},
		{"/audit", http.StatusOK, ""},
		{"/p/beta/audit", http.StatusOK, ""},
	}
	for _, tc := range cases {
		rec := tp.get(t, tc.target)
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s: %d → %q, want %d → %q", tc.target, rec.Code, rec.Header().Get("Location"), tc.status, tc.location)
		}
	}
	api := tp.get(t, "/api/v1/endpoints")
	if !strings.Contains(api.Body.String(), "project_required") || !strings.Contains(api.Body.String(), "alpha") {
		t.Errorf("unscoped API: %s", api.Body)
	}
	// The switcher lists both, each linking into its project.
	page := tp.get(t, "/p/beta/endpoints")
	tabs := map[string]string{}
	page.doc.Find(testid("project-tab")).Each(func(_ int, s *goquery.Selection) { tabs[s.AttrOr("data-project", "")] = s.AttrOr("href", "") })
	if tabs["alpha"] != "/p/alpha/endpoints" || tabs["beta"] != "/p/beta/endpoints" {
		t.Errorf("switcher: %v", tabs)
	}
	var projects struct {
		Projects []struct {
			Name, Region, Role string
			ProjectID          string `json:"project_id"`
			Inventory          *struct{ State string }
		}
	}
	rec := tp.get(t, "/api/v1/projects")
	if err := json.Unmarshal(rec.Body.Bytes(), &projects); err != nil || len(projects.Projects) != 2 {
		t.Fatalf("/api/v1/projects: %d %s %v", rec.Code, rec.Body, err)
	}
	if p := projects.Projects[1]; p.Name != "beta" || p.Region != "ap-southeast-1" || p.Role != "viewer" || p.Inventory == nil || p.Inventory.State != "fresh" {
		t.Errorf("beta: %+v", p)
	}
}

// TestProjectRoles: an account's role is per project. A change to a
// project the actor may not edit is refused with 403 and a security
// event, and reaches no upstream; a project it may not view is not shown,
// in pages, the audit log or the API; its read-only token reads only.
func TestProjectRoles(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	alpha, beta := tp.project("alpha"), tp.project("beta")
	ctx := context.Background()

	// An entry in beta, made by an editor of every project.
	boss := newTwoProjectsSession(tp, t, auth.Editor)
	gwBeta := beta.Sim.Gateway(t, 1)
	if rec := boss.putPolicy(t, "/p/beta", gwBeta.ID, "obs:*:*:object:beta/*", nil); rec.Code != http.StatusOK {
		t.Fatalf("boss PUT: %d %s", rec.Code, rec.Body)
	}
	var betaEntry int64
	if err := tp.pool.QueryRow(ctx, `SELECT max(id) FROM audit_entries WHERE project_id = $1`, beta.ProjectID).Scan(&betaEntry); err != nil {
		t.Fatal(err)
	}

	// A viewer made editor of alpha only.
	name := tp.account(t, auth.Viewer)
	if err := tp.auth.SetProjectRole(ctx, name, "alpha", auth.Editor); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	gwAlpha := alpha.Sim.Gateway(t, 1)
	if rec := tp.putPolicy(t, "/p/alpha", gwAlpha.ID, "obs:*:*:object:alpha/*", nil); rec.Code != http.StatusOK {
		t.Fatalf("editor of alpha, PUT in alpha: %d %s", rec.Code, rec.Body)
	}
	puts := beta.Sim.Puts()
	events := countRows(t, tp.app, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`)
	if rec := tp.putPolicy(t, "/p/beta", gwBeta.ID, "obs:*:*:object:nope/*", nil); rec.Code != http.StatusForbidden {
		t.Errorf("viewer of beta, PUT in beta: %d %s", rec.Code, rec.Body)
	}
	form := url.Values{"reason": {"undo"}, "restores": {"before"}, "_csrf": {tp.cookies["__Host-csrf"]}}
	if rec := tp.do(t, http.MethodPost, fmt.Sprintf("/p/alpha/audit/%d/rollback", betaEntry), form, nil); rec.Code != http.StatusForbidden {
		t.Errorf("rollback of beta's entry through alpha's prefix: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/api/v1/audit/%d/rollback", betaEntry), strings.NewReader(`{"reason": "undo", "restores": "before"}`))
	req.Header.Set("Content-Type", "application/json")
	if rec := tp.send(req, nil); rec.Code != http.StatusForbidden {
		t.Errorf("API rollback of beta's entry: %d %s", rec.Code, rec.Body)
	}
	if beta.Sim.Puts() != puts {
		for _, r := range beta.Sim.Requests() {
			if r.Method == http.MethodPut {
				t.Logf("PUT %s %s", r.Path, r.Body)
			}
		}
		t.Errorf("a refused change reached beta's upstream: %d PUTs, were %d", beta.Sim.Puts(), puts)
	}
	if got := countRows(t, tp.app, `SELECT count(*) FROM security_events WHERE kind = 'access_denied' AND detail LIKE '%beta%'`); got < 3 || countRows(t, tp.app, `SELECT count(*) FROM security_events WHERE kind = 'access_denied'`) < events+3 {
		t.Errorf("%d security events naming beta", got)
	}

	// No access to beta at all: not listed, not readable.
	if err := tp.auth.SetProjectRole(ctx, name, "beta", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/p/beta/endpoints", "/p/beta/api/v1/endpoints"} {
		if rec := tp.get(t, target); rec.Code != http.StatusForbidden {
			t.Errorf("%s without access: %d", target, rec.Code)
		}
	}
	if rec := tp.get(t, fmt.Sprintf("/audit/%d", betaEntry)); rec.Code != http.StatusNotFound {
		t.Errorf("beta's entry without access: %d", rec.Code)
	}
	for _, target := range []string{"/audit", "/audit.csv", "/audit.json", "/api/v1/audit"} {
		if rec := tp.get(t, target); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), beta.ProjectID) {
			t.Errorf("%s without access to beta: %d, shows beta: %v", target, rec.Code, strings.Contains(rec.Body.String(), beta.ProjectID))
		}
	}
	if rec := tp.get(t, "/audit?project=beta"); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("filtering on a project without access: %d", rec.Code)
	}
	if rec := tp.get(t, "/api/v1/projects"); strings.Contains(rec.Body.String(), `"beta"`) {
		t.Errorf("/api/v1/projects lists beta: %s", rec.Body)
	}

	// The account's read-only token may read alpha, not change it.
	_, tokenPlain := createReadOnlyToken(t, tp.app, name)
	bearer := http.Header{"Authorization": {"Bearer " + tokenPlain}}
	cookies := tp.cookies
	tp.cookies = map[string]string{}
	defer func() { tp.cookies = cookies }()
	if rec := tp.send(httptest.NewRequest(http.MethodGet, "/p/alpha/api/v1/endpoints", nil), bearer); rec.Code != http.StatusOK {
		t.Errorf("read-only token reads alpha: %d", rec.Code)
	}
	if rec := tp.putPolicy(t, "/p/alpha", gwAlpha.ID, "obs:*:*:object:token/*", bearer); rec.Code != http.StatusForbidden {
		t.Errorf("read-only token changes alpha: %d %s", rec.Code, rec.Body)
	}
}

// newTwoProjectsSession is a second signed-in "browser" on tp's console.
func newTwoProjectsSession(tp *twoProjects, t *testing.T, role auth.Role) *twoProjects {
	a := *tp.app
	a.cookies = map[string]string{}
	a.signIn(t, a.account(t, role))
	return &twoProjects{app: &a, console: tp.console}
}

// createReadOnlyToken makes a read-only API token for the account name.
func createReadOnlyToken(t *testing.T, a *app, name string) (int64, string) {
	t.Helper()
	plain, tok, err := a.auth.CreateReadOnlyToken(context.Background(), name, "test", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID, plain
}

// TestRoutesScoped: every route of one project's endpoints is scoped (it
// needs a project and checks the role there), and nothing else is.
func TestRoutesScoped(t *testing.T) {
	t.Parallel()
	a := newApp(t, signedOut())
	want := map[string]bool{
		"GET /": true, "GET /endpoints": true, "POST /endpoints/refresh": true,
		"GET /endpoints/:id": true, "GET /endpoints/:id/history": true,
		"GET /endpoints/:id/policy/edit": true, "POST /endpoints/:id/policy/edit": true,
		"POST /endpoints/:id/policy/preview": true, "POST /endpoints/:id/policy": true,
		"GET /api/v1/endpoints": true, "GET /api/v1/endpoints/:id": true, "PUT /api/v1/endpoints/:id/policy": true,
	}
	seen := map[string]bool{}
	for _, r := range a.handler.Routes() {
		key := r.Method + " " + r.Path
		if r.Scoped != want[key] {
			t.Errorf("%s: scoped %v, want %v", key, r.Scoped, want[key])
		}
		seen[key] = true
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s is not registered", key)
		}
	}
}

// TestScopedRoutesRefuseAProjectWithoutAccess walks every scoped route
// under the prefix of a project the account has no access to: each is
// refused (403), whatever the account may do elsewhere, and nothing
// reaches that project's upstream.
func TestScopedRoutesRefuseAProjectWithoutAccess(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	beta := tp.project("beta")
	name := tp.account(t, auth.Editor)
	if err := tp.auth.SetProjectRole(context.Background(), name, "beta", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	gw := beta.Sim.Gateway(t, 1)
	puts := beta.Sim.Puts()
	n := 0
	for _, r := range tp.handler.Routes() {
		if !r.Scoped {
			continue
		}
		n++
		target := "/p/beta" + concrete(r.Path, gw.ID, name)
		body := url.Values{"reason": {"x"}, "policy_json": {"[]"}, "_csrf": {tp.cookies["__Host-csrf"]}}
		req := httptest.NewRequest(r.Method, target, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if rec := tp.send(req, nil); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s: %d, want 403", r.Method, target, rec.Code)
		}
	}
	if n < 8 {
		t.Fatalf("only %d scoped routes", n)
	}
	if beta.Sim.Puts() != puts {
		t.Error("a refused request reached the project's upstream")
	}
	// The same routes in the project it may edit are not refused for the role.
	alpha := tp.project("alpha")
	if rec := tp.get(t, "/p/alpha/endpoints/"+alpha.Sim.Gateway(t, 1).ID+"/policy/edit"); rec.Code != http.StatusOK {
		t.Errorf("the editor's own project: %d", rec.Code)
	}
}

// TestCredentialNotices: a project's credential warning (a fixed token
// about to expire) is on every page of that project for every reader, and
// in /readyz for an admin only.
func TestCredentialNotices(t *testing.T) {
	t.Parallel()
	expires := time.Now().Add(40 * time.Minute).UTC().Truncate(time.Second)
	warning := "This project's fixed IAM token expires soon: replace it."
	c := testapp.New(t, testapp.Options{
		Projects: []testapp.ProjectOptions{
			{Name: "alpha", Region: "cn-north-4", Endpoints: vpcepsim.DemoEndpoints(1, time.Now())},
			{Name: "beta", Region: "ap-southeast-1", Endpoints: vpcepsim.RegionDemoEndpoints("ap-southeast-1", 2, time.Now())},
		},
		Deps: func(d *handlers.Deps) {
			d.Projects[1].Credential = func(time.Time) handlers.CredentialNotice {
				return handlers.CredentialNotice{Warning: warning, ExpiresAt: expires}
			}
		},
	})
	for _, p := range c.Projects {
		if err := p.Refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			t.Fatal(err)
		}
	}
	a := &app{sim: c.Sim, store: c.Store, audit: c.Audit, pool: c.Pool, auth: c.Auth,
		refresher: c.Refresher, handler: c.Handler, logs: c.Logs, cookies: map[string]string{}}
	a.signIn(t, a.account(t, auth.Viewer))
	if got := a.get(t, "/p/beta/endpoints").text(testid("credential-notice")); !strings.Contains(got, "beta") || !strings.Contains(got, warning) {
		t.Errorf("beta's page: notice %q", got)
	}
	if got := a.get(t, "/p/alpha/endpoints").doc.Find(testid("credential-notice")).Length(); got != 0 {
		t.Errorf("alpha's page shows %d notices of another project", got)
	}
	if body := a.get(t, "/readyz").Body.String(); strings.Contains(body, "credentials") {
		t.Errorf("/readyz tells a viewer of credentials: %s", body)
	}
	anon := &app{handler: c.Handler, cookies: map[string]string{}}
	if body := anon.get(t, "/readyz").Body.String(); strings.Contains(body, "credentials") {
		t.Errorf("/readyz tells anyone of credentials: %s", body)
	}
	a.cookies = map[string]string{}
	a.signIn(t, a.account(t, auth.Admin))
	var r struct {
		Status      string
		Checks      map[string]string
		Credentials map[string]struct {
			Warning   string
			ExpiresAt time.Time `json:"expires_at"`
		}
	}
	rec := a.get(t, "/readyz")
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if got := r.Credentials["beta"]; got.Warning != warning || !got.ExpiresAt.Equal(expires) || r.Checks["inventory:alpha"] != "fresh" || r.Checks["inventory:beta"] != "fresh" {
		t.Errorf("/readyz for an admin: %s", rec.Body)
	}
}

// TestReadyzNamesProjectsToAdminsOnly: a probe learns whether the console
// is ready and how the inventories stand together, not the projects' names.
func TestReadyzNamesProjectsToAdminsOnly(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	anon := tp.get(t, "/readyz")
	if anon.Code != http.StatusOK || strings.Contains(anon.Body.String(), "alpha") || !strings.Contains(anon.Body.String(), `"inventory":"fresh"`) {
		t.Errorf("/readyz signed out: %d %s", anon.Code, anon.Body)
	}
	tp.signIn(t, tp.account(t, auth.Admin))
	if admin := tp.get(t, "/readyz"); !strings.Contains(admin.Body.String(), `"inventory:alpha":"fresh"`) {
		t.Errorf("/readyz for an admin: %s", admin.Body)
	}
}

// TestProjectsAsANewAdminFindsThem: what trying the demo as a new admin
// found. A refused project's page leads out of it; an entry's page is at
// its own project's address; an unknown project is said as such (in JSON
// to the API); a project's audit log refuses another project's filter and
// the switcher leads to every project's log; an entry names its project.
func TestProjectsAsANewAdminFindsThem(t *testing.T) {
	t.Parallel()
	tp := newTwoProjects(t, "")
	beta := tp.project("beta")
	boss := newTwoProjectsSession(tp, t, auth.Editor)
	if rec := boss.putPolicy(t, "/p/beta", beta.Sim.Gateway(t, 1).ID, "obs:*:*:object:beta/*", nil); rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	var betaEntry int64
	if err := tp.pool.QueryRow(context.Background(), `SELECT max(id) FROM audit_entries WHERE project_id = $1`, beta.ProjectID).Scan(&betaEntry); err != nil {
		t.Fatal(err)
	}

	name := tp.account(t, auth.Viewer)
	if err := tp.auth.SetProjectRole(context.Background(), name, "beta", auth.NoAccess); err != nil {
		t.Fatal(err)
	}
	tp.signIn(t, name)
	refused := tp.get(t, "/p/beta/endpoints")
	if refused.Code != http.StatusForbidden {
		t.Fatalf("no access: %d", refused.Code)
	}
	refused.doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
		if href := a.AttrOr("href", ""); strings.HasPrefix(href, "/p/beta") {
			t.Errorf("the refusal links back into the refused project: %s", href)
		}
	})
	if role := refused.text(`header nav small`); strings.Contains(role, "none") || strings.Contains(role, "no access") {
		t.Errorf("the frame says the role is %q", role)
	}

	for target, want := range map[string]string{
		fmt.Sprintf("/p/alpha/audit/%d", betaEntry):                          fmt.Sprintf("/audit/%d", betaEntry),
		fmt.Sprintf("/p/alpha/audit/%d/rollback?restores=before", betaEntry): fmt.Sprintf("/audit/%d/rollback?restores=before", betaEntry),
	} {
		if rec := tp.get(t, target); rec.Code != http.StatusFound || rec.Header().Get("Location") != want {
			t.Errorf("%s: %d → %q, want → %q", target, rec.Code, rec.Header().Get("Location"), want)
		}
	}

	api := tp.get(t, "/p/nope/api/v1/endpoints")
	if api.Code != http.StatusNotFound || !strings.Contains(api.Body.String(), `"no_such_project"`) {
		t.Errorf("an unknown project through the API: %d %s", api.Code, api.Body)
	}
	if page := tp.get(t, "/p/nope/endpoints"); page.Code != http.StatusNotFound || !strings.Contains(page.text(testid("error-message")), `no project named "nope"`) {
		t.Errorf("an unknown project's page: %d %q", page.Code, page.text(testid("error-message")))
	}

	tp.cookies = map[string]string{}
	tp.signIn(t, tp.account(t, auth.Admin))
	if rec := tp.get(t, "/p/alpha/audit?project=beta"); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("alpha's audit log filtered on beta: %d", rec.Code)
	}
	all := tp.get(t, "/p/alpha/audit")
	if all.doc.Find(testid("project-tab-all")).AttrOr("href", "") != "/audit" {
		t.Error("the switcher does not lead to every project's audit log")
	}
	if got := tp.get(t, "/audit?project=beta").doc.Find(`[data-testid="project-switcher"] summary`).Text(); !strings.Contains(got, "beta") {
		t.Errorf("/audit?project=beta says %q in the switcher", got)
	}
	if entry := tp.get(t, fmt.Sprintf("/audit/%d", betaEntry)); !strings.Contains(entry.Body.String(), "beta ("+beta.ProjectID+")") {
		t.Error("the entry page does not name its project")
	}
}

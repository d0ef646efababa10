package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/PuerkitoBio/goquery"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/migrations"
)

var dbURL string

// The shutdown test runs web serve as a process: proctest removes the
// binary it built once the tests are done.
func TestMain(m *testing.M) {
	os.Exit(proctest.Main(func() int { return testdb.Main(m, &dbURL) }))
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrorsNameTheVariableBeforeAnythingStarts(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": dbURL, "VPCEP_REGION": "cn-north-4"}), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "VPCEP_PROJECT_ID is required unless --demo") {
		t.Fatalf("err = %v", err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, envOf(nil), strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run(context.Background(), []string{"migrate", "sideways"}, envOf(map[string]string{"DATABASE_URL": dbURL}), strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Fatal("unknown migrate command accepted")
	}
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"DATABASE_URL": testdb.Empty(t)})
	// Every migration the binary carries, however many there are by now.
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	var out strings.Builder
	for _, step := range []struct{ cmd, want string }{
		{"status", "pending"},
		{"up", fmt.Sprintf("applied %d migration(s)", len(files))},
		{"status", "applied 20"},
		{"down", ""},
		{"status", "pending"},
	} {
		out.Reset()
		if err := run(context.Background(), []string{"migrate", step.cmd}, env, strings.NewReader(""), &out, io.Discard); err != nil {
			t.Fatalf("migrate %s: %v", step.cmd, err)
		}
		if !strings.Contains(out.String(), step.want) {
			t.Fatalf("migrate %s printed %q, want %q", step.cmd, out.String(), step.want)
		}
	}
}

func TestServeRefusesABehindSchemaWithNoMigrate(t *testing.T) {
	t.Parallel()
	env := envOf(map[string]string{"DATABASE_URL": testdb.Empty(t)})
	err := run(context.Background(), []string{"serve", "--demo", "--no-migrate", "--listen", "127.0.0.1:0"}, env, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to serve") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeDemo(t *testing.T) {
	t.Parallel()
	addr := proctest.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dbURL := testdb.Migrated(t)
	stdout, stderr := &proctest.LockedBuffer{}, &proctest.LockedBuffer{}
	go func() {
		done <- run(ctx, []string{"--demo", "--listen", addr}, envOf(map[string]string{"DATABASE_URL": dbURL}), strings.NewReader(""), stdout, stderr)
	}()

	base := "http://" + addr
	waitReady(t, base, done)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	body := demoSignIn(t, client, base, stdout)
	if !strings.Contains(stdout.String(), "Open http://"+addr+"/ in a browser") {
		t.Errorf("the URL to open is not printed: %q", stdout.String())
	}
	if n := strings.Count(string(body), `data-testid="endpoint-row"`); n < 30 {
		t.Errorf("demo lists %d endpoints, want at least 30", n)
	}
	// Two projects in two regions, each with its own endpoints (no id in
	// both), the second reached with an IAM user's token from its
	// simulator's IAM.
	pool := testdb.Pool(t, dbURL)
	ids := map[string]string{}
	for _, p := range projects.DemoProjects {
		for _, id := range waitInventory(t, store.NewProject(pool, p.ProjectID), 36) {
			if other, ok := ids[id]; ok {
				t.Errorf("endpoint %s is in projects %s and %s", id, other, p.Name)
			}
			ids[id] = p.Name
		}
	}
	if !strings.Contains(stderr.String(), "obtained an IAM token") {
		t.Errorf("the IAM project's token was never obtained; log:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "MIIsim") {
		t.Error("an IAM token is in the log")
	}
	// Each project starts with one policy changed outside the console, and
	// its simulator's CTS names who changed it.
	waitRows(t, pool, `SELECT count(DISTINCT project_id) FROM audit_entries WHERE action = 'drift'`, 2)
	waitRows(t, pool, `SELECT count(*) FROM audit_entries WHERE action = 'drift'`, 2)
	waitRows(t, pool, `SELECT count(*) FROM audit_entries WHERE action = 'attribute' AND attribution LIKE '%terraform-ci%'`, 2)
	resp, err := client.Get(base + "/endpoints?drifted=true")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), `data-testid="endpoint-row"`); n != 1 {
		t.Errorf("the demo's drifted-only list has %d rows, want 1", n)
	}
	demoSSO(t, base, stdout.String(), stderr.String())
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}

	// A restart on the same database brings new simulators, which take up
	// what the log last saw: no drift is recorded for them, and no second
	// change is made while the first is open.
	restarted := time.Now().UTC()
	ctx, cancel = context.WithCancel(context.Background())
	stdout = &proctest.LockedBuffer{}
	go func() {
		done <- run(ctx, []string{"--demo", "--listen", addr}, envOf(map[string]string{"DATABASE_URL": dbURL}), strings.NewReader(""), stdout, io.Discard)
	}()
	waitReady(t, base, done)
	demoSignIn(t, client, base, stdout) // the demo's admin has a new password at every start
	waitRows(t, pool, fmt.Sprintf(`SELECT count(*) FROM inventory_refreshes WHERE succeeded AND started_at >= '%s'`,
		restarted.Format(time.RFC3339Nano)), 2) // each project's restart refresh, which would see a drift
	// The endpoint's page reads it live and checks it for drift at once.
	var drifted string
	if err := pool.QueryRow(context.Background(), `SELECT endpoint_id FROM audit_entries WHERE action = 'drift' AND project_id = $1`,
		projects.DemoProjects[0].ProjectID).Scan(&drifted); err != nil {
		t.Fatal(err)
	}
	resp, err = client.Get(base + "/endpoints/" + drifted)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "changed outside the console") {
		t.Errorf("the drifted endpoint's page after a restart: %d %s, no drift banner: %.3000s", resp.StatusCode, resp.Request.URL, body)
	}
	waitRows(t, pool, `SELECT count(*) FROM audit_entries WHERE action = 'drift'`, 2)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// waitInventory waits up to 10 s for st's inventory to hold want
// endpoints, and returns their ids.
func waitInventory(t *testing.T, st *store.Store, want int) []string {
	t.Helper()
	var page store.InventoryPage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if page, err = st.ListInventory(context.Background(), store.InventoryFilter{PerPage: want + 1}); err != nil {
			t.Fatal(err)
		}
		if page.Total == want {
			ids := make([]string, len(page.Endpoints))
			for i, ep := range page.Endpoints {
				ids[i] = ep.ID
			}
			return ids
		}
	}
	t.Fatalf("project %s's inventory holds %d endpoints, want %d", st.Project(), page.Total, want)
	return nil
}

// demoSignIn signs client in as the demo's admin, with the password the
// demo printed on stdout, and returns the endpoint list it lands on.
func demoSignIn(t *testing.T, client *http.Client, base string, stdout *proctest.LockedBuffer) []byte {
	t.Helper()
	// Signed out, the list sends us to sign in.
	resp, err := client.Get(base + "/endpoints")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("signed out, /endpoints led to %s", resp.Request.URL)
	}
	m := regexp.MustCompile(`sign in as admin with password (\S+)`).FindStringSubmatch(stdout.String())
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil || csrf == nil {
		t.Fatalf("no demo password (%q) or CSRF field", stdout.String())
	}
	resp, err = client.PostForm(base+"/login", url.Values{"name": {"admin"}, "password": {m[1]}, "_csrf": {string(csrf[1])}, "next": {"/endpoints"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return body
}

// waitRows waits up to 10 s for query's count to be want.
func waitRows(t *testing.T, pool *pgxpool.Pool, query string, want int) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
	}
	t.Fatalf("%s = %d, want %d", query, n, want)
}

func TestAuditVerifyCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	pool := testdb.Pool(t, url)
	log := audit.New(pool)
	var ids []int64
	for i := range 3 {
		e, err := log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p", Region: "r", EndpointID: fmt.Sprintf("ep-%d", i),
			Action: audit.ActionUpdate, Reason: "r", PolicyBefore: "[]", PolicyRequested: "[]"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	env := envOf(map[string]string{"DATABASE_URL": url})
	var out strings.Builder
	if err := run(ctx, []string{"audit", "verify"}, env, strings.NewReader(""), &out, io.Discard); err != nil || !strings.Contains(out.String(), "ok: 3 entries") {
		t.Fatalf("verify: %v %q", err, out.String())
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_entries SET actor = 'mallory' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"audit", "verify"}, env, strings.NewReader(""), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry #%d", ids[1])) {
		t.Fatalf("verify after tampering: %v", err)
	}
}

func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := envOf(map[string]string{"DATABASE_URL": testdb.Migrated(t)})
	cli := func(stdin string, args ...string) (string, error) {
		var out strings.Builder
		err := run(ctx, args, env, strings.NewReader(stdin), &out, io.Discard)
		return out.String(), err
	}
	if _, err := cli("a good long password\n", "user", "add", "alice", "--role", "editor"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("a good long password\n", "user", "add", "bob", "--role", "root"); err == nil {
		t.Error("a bad role was accepted")
	}
	if _, err := cli("", "user", "add", "carol", "--role", "viewer"); err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Errorf("no password: %v", err)
	}
	if _, err := cli("short\n", "user", "passwd", "alice"); err == nil {
		t.Error("a short password was accepted")
	}
	if _, err := cli("another long password\n", "user", "passwd", "alice"); err != nil {
		t.Fatal(err)
	}
	out, err := cli("", "token", "create", "alice", "--name", "ci", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	if !strings.HasPrefix(token, "vpcep_") || strings.Contains(token, " ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create printed %q, want only the token", out)
	}
	// Roles per project: set, shown, taken back; admin is console-wide.
	for _, bad := range [][]string{{"--project", "prod", "--role", "admin"}, {"--project", "Not A Slug", "--role", "viewer"}, {"--role", "viewer"}} {
		if _, err := cli("", append([]string{"user", "grant", "alice"}, bad...)...); err == nil {
			t.Errorf("grant %v was accepted", bad)
		}
	}
	if _, err := cli("", "user", "grant", "nobody", "--project", "prod", "--role", "viewer"); err == nil {
		t.Error("a grant for an unknown account")
	}
	if _, err := cli("", "user", "grant", "alice", "--project", "prod", "--role", "none"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("", "user", "grant", "alice", "--project", "lab", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("", "user", "grant", "alice", "--project", "lab", "--role", "default"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("", "user", "disable", "alice"); err != nil {
		t.Fatal(err)
	}
	list, err := cli("", "user", "list")
	if err != nil || !strings.Contains(list, "alice") || !strings.Contains(list, "disabled") || strings.Contains(list, "password") {
		t.Fatalf("list: %q %v", list, err)
	}
	if !strings.Contains(list, "projects: prod=none") || strings.Contains(list, "lab=") {
		t.Errorf("list does not show alice's role per project as set: %q", list)
	}
	if _, err := cli("", "token", "create", "nobody"); err == nil {
		t.Error("a token for an unknown account")
	}
	if _, err := cli("", "token", "create", "alice", "--expires", "soon"); err == nil {
		t.Error("a bad lifetime was accepted")
	}
}

func TestConsoleURL(t *testing.T) {
	for _, tt := range []struct {
		listen string
		tls    bool
		want   string
	}{
		{":8080", false, "http://localhost:8080/"},
		{"0.0.0.0:8080", false, "http://localhost:8080/"},
		{"[::]:8443", true, "https://localhost:8443/"},
		{"127.0.0.1:9000", false, "http://127.0.0.1:9000/"},
		{"console.internal:80", false, "http://console.internal:80/"},
	} {
		if got := consoleURL(tt.listen, tt.tls); got != tt.want {
			t.Errorf("consoleURL(%q, %v) = %q, want %q", tt.listen, tt.tls, got, tt.want)
		}
	}
}

// demoSSO signs in through the demo's identity provider as alice (network
// engineers: editor) with the password the demo printed, as a browser
// would: the console's button, the provider's login form, back.
func demoSSO(t *testing.T, base, stdout, log string) {
	t.Helper()
	m := regexp.MustCompile(`alice / (\S+) \(group network-engineers\)`).FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "bob / ") {
		t.Fatalf("the demo's SSO users are not printed: %q", stdout)
	}
	if strings.Contains(log, m[1]) {
		t.Error("an SSO user's password is in the log")
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/login/sso?next=/audit")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	form := doc.Find("form").First()
	action, _ := form.Attr("action")
	values := url.Values{}
	form.Find("input[type=hidden]").Each(func(_ int, in *goquery.Selection) {
		values.Set(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	values.Set("username", "alice")
	values.Set("password", m[1])
	values.Set("action", "login")
	target, err := resp.Request.URL.Parse(action)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.PostForm(target.String(), values)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/audit" || !strings.Contains(string(body), "(editor)") {
		t.Errorf("SSO sign-in as alice: %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

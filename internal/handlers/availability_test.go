package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// serverConn connects to the server behind dbURL (its postgres database),
// to do to dbURL what an outage would.
func serverConn(t *testing.T, dbURL string) (conn *pgx.Conn, dbName string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName = strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	conn, err = pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, dbName
}

// outages are the ways a console loses its database.
var outages = []struct {
	name  string
	cause func(t *testing.T, a *app, dbURL string)
}{
	{"pool closed", func(t *testing.T, a *app, _ string) { a.pool.Close() }},
	{"database dropped", func(t *testing.T, _ *app, dbURL string) {
		conn, name := serverConn(t, dbURL)
		if _, err := conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}},
	{"connections refused and the open ones killed", func(t *testing.T, _ *app, dbURL string) {
		conn, name := serverConn(t, dbURL)
		ctx := context.Background()
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
			t.Fatal(err)
		}
	}},
}

// Without its database every page and API call answers 503 with a plain
// explanation and Retry-After, the session check included; nothing reaches
// the upstream; /readyz names the check that failed and nothing more; the
// detail goes to the log.
func TestDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	for _, outage := range outages {
		t.Run(outage.name, func(t *testing.T) {
			t.Parallel()
			dbURL := testdb.Migrated(t)
			a := newApp(t, withDB(dbURL))
			a.refresh(t)
			token, _, err := a.auth.CreateToken(context.Background(), a.name, "ci", 0)
			if err != nil {
				t.Fatal(err)
			}
			bearer := &app{handler: a.handler, cookies: map[string]string{}}
			signedOut := &app{handler: a.handler, cookies: map[string]string{}}
			signedOut.get(t, "/login") // its CSRF cookie
			ep := a.sim.Gateway(t, 2)
			session := a.cookies["__Host-session"]
			upstreamCalls := len(a.sim.Requests())

			outage.cause(t, a, dbURL)

			var bodies strings.Builder
			page := func(r response, what string) {
				t.Helper()
				bodies.WriteString(r.Body.String())
				if r.Code != http.StatusServiceUnavailable || r.Header().Get("Retry-After") == "" {
					t.Errorf("%s: %d, Retry-After %q, want 503 with Retry-After", what, r.Code, r.Header().Get("Retry-After"))
				}
				if got := r.text(testid("error-heading")); got != "The console's database is unavailable" {
					t.Errorf("%s: heading %q", what, got)
				}
				if !strings.Contains(r.text(testid("error-message")), "could not reach its database") {
					t.Errorf("%s: message %q", what, r.text(testid("error-message")))
				}
			}
			page(a.get(t, "/endpoints"), "GET /endpoints")
			page(a.get(t, "/audit"), "GET /audit")
			page(a.get(t, "/audit.csv"), "GET /audit.csv")
			page(a.get(t, "/endpoints/"+ep.ID), "GET /endpoints/{id}")
			page(a.get(t, "/endpoints/"+ep.ID+"/policy/edit"), "GET the editor")
			page(a.do(t, http.MethodPost, "/endpoints/"+ep.ID+"/policy", url.Values{
				"policy_json": {`[{"Effect":"Allow","Action":["obs:*"],"Resource":["*"]}]`}, "reason": {"outage test"},
			}, nil), "POST a policy change")
			page(a.do(t, http.MethodPost, "/endpoints/refresh", url.Values{}, nil), "POST /endpoints/refresh")
			// A sign-in needs the database too: 503, not a redirect back to the form.
			page(signedOut.do(t, http.MethodPost, "/login", url.Values{"name": {a.name}, "password": {testPassword},
				"_csrf": {signedOut.cookies["__Host-csrf"]}}, nil), "POST /login")

			hx := a.do(t, http.MethodGet, "/endpoints?type=gateway", nil, htmx())
			if hx.Code != http.StatusServiceUnavailable || hx.Header().Get("HX-Retarget") != "body" {
				t.Errorf("htmx: %d, HX-Retarget %q", hx.Code, hx.Header().Get("HX-Retarget"))
			}

			for _, call := range []struct{ method, path, body string }{
				{"GET", "/api/v1/endpoints", ""},
				{"GET", "/api/v1/endpoints/" + ep.ID, ""},
				{"GET", "/api/v1/audit", ""},
				{"PUT", "/api/v1/endpoints/" + ep.ID + "/policy", `{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "outage test"}`},
			} {
				for name, who := range map[string]*app{"bearer": bearer, "session": a} {
					header := map[string]string{}
					if name == "bearer" {
						header["Authorization"] = "Bearer " + token
					}
					r := who.api(t, call.method, call.path, call.body, header)
					bodies.WriteString(r.raw)
					if r.code != http.StatusServiceUnavailable || r.errField("code") != "database_unavailable" {
						t.Errorf("%s %s (%s): %d %s", call.method, call.path, name, r.code, r.raw)
					}
					msg, _ := r.errField("message").(string)
					if !strings.HasPrefix(msg, "The console's database is unavailable.") {
						t.Errorf("%s %s (%s): message %q", call.method, call.path, name, msg)
					}
				}
			}

			if n := len(a.sim.Requests()); n != upstreamCalls || a.sim.Puts() != 0 {
				t.Errorf("%d calls reached the upstream during the outage (%d PUTs)", n-upstreamCalls, a.sim.Puts())
			}

			ready := a.get(t, "/readyz")
			var body map[string]any
			if err := json.Unmarshal(ready.Body.Bytes(), &body); err != nil {
				t.Fatalf("readyz: %v: %s", err, ready.Body.String())
			}
			want := map[string]any{"status": "unavailable", "checks": map[string]any{"database": "down", "schema": "unknown", "inventory": "unknown"}}
			if ready.Code != http.StatusServiceUnavailable || !cmp.Equal(want, body) {
				t.Errorf("readyz %d mismatch (-want +got):\n%s", ready.Code, cmp.Diff(want, body))
			}
			bodies.WriteString(ready.Body.String())
			if r := a.get(t, "/healthz"); r.Code != http.StatusOK {
				t.Errorf("healthz %d", r.Code)
			}

			// What went wrong is in the log, and nowhere in an answer.
			logs := a.logs.String()
			if !strings.Contains(logs, `msg="internal error"`) || !strings.Contains(logs, `msg="readiness check failed" check=database`) {
				t.Errorf("the log lacks the failures:\n%s", logs)
			}
			for _, leak := range []string{"SQLSTATE", "closed pool", "failed to connect", "does not exist", "auth:", "store:", "pgx"} {
				if strings.Contains(bodies.String(), leak) {
					t.Errorf("an answer shows internal text %q", leak)
				}
			}
			for _, secret := range []string{token, session} {
				if strings.Contains(logs, secret) || strings.Contains(bodies.String(), secret) {
					t.Errorf("a secret leaked: %.12s...", secret)
				}
			}
		})
	}
}

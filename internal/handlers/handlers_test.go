package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// Every app has a database of its own (testdb.Migrated), so tests run in
// parallel; TestMain finds the server once.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

const projectID = testapp.ProjectID

// app is the console wired as main wires it, against a simulator over HTTP
// and a real database.
type app struct {
	sim       *simtest.Upstream
	store     *store.Store
	auth      *auth.Store
	name      string            // the account signed in
	cookies   map[string]string // the "browser's" cookie jar
	audit     *audit.Log
	pool      *pgxpool.Pool
	refresher *inventory.Refresher
	handler   *handlers.Handler
	logs      *strings.Builder
}

type option func(*appConfig)

type appConfig struct {
	dbURL     string // "" for a database of the app's own
	perPage   int
	endpoints []*vpcepsim.Endpoint
	clientCfg func(*vpcep.Config)
	role      auth.Role // signed in with this role; "" stays signed out
	proxies   []*net.IPNet
	tls       bool
}

func withDB(url string) option                    { return func(c *appConfig) { c.dbURL = url } }
func withPerPage(n int) option                    { return func(c *appConfig) { c.perPage = n } }
func withClient(f func(*vpcep.Config)) option     { return func(c *appConfig) { c.clientCfg = f } }
func withEndpoints(e []*vpcepsim.Endpoint) option { return func(c *appConfig) { c.endpoints = e } }
func signedInAs(r auth.Role) option               { return func(c *appConfig) { c.role = r } }
func signedOut() option                           { return func(c *appConfig) { c.role = "" } }
func withProxies(p ...*net.IPNet) option          { return func(c *appConfig) { c.proxies = p } }
func withTLS() option                             { return func(c *appConfig) { c.tls = true } }

func newApp(t testing.TB, opts ...option) *app {
	t.Helper()
	cfg := appConfig{endpoints: vpcepsim.DemoEndpoints(1, time.Now()), role: auth.Editor}
	for _, o := range opts {
		o(&cfg)
	}
	c := testapp.New(t, testapp.Options{
		DBURL: cfg.dbURL, Endpoints: cfg.endpoints, Client: cfg.clientCfg,
		Deps: func(d *handlers.Deps) { d.TrustedProxies, d.TLS, d.PerPage = cfg.proxies, cfg.tls, cfg.perPage },
	})
	a := &app{sim: c.Sim, store: c.Store, audit: c.Audit, pool: c.Pool, auth: c.Auth,
		refresher: c.Refresher, handler: c.Handler, logs: c.Logs, cookies: map[string]string{}}
	if cfg.role != "" {
		a.signIn(t, a.account(t, cfg.role))
	}
	return a
}

// accountSeq names test accounts uniquely across the package's database.
var accountSeq atomic.Int64

// testPassword is every test account's password.
const testPassword = "correct horse battery staple"

// account creates an account with role, named after it plus a counter.
func (a *app) account(t testing.TB, role auth.Role) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", role, accountSeq.Add(1))
	if _, err := a.auth.CreateAccount(context.Background(), name, testPassword, role); err != nil {
		t.Fatal(err)
	}
	return name
}

// signIn signs in through the form, as a browser does.
func (a *app) signIn(t testing.TB, name string) {
	t.Helper()
	a.do(t, http.MethodGet, "/login", nil, nil)
	r := a.do(t, http.MethodPost, "/login", url.Values{"name": {name}, "password": {testPassword}, "_csrf": {a.cookies["__Host-csrf"]}}, nil)
	if r.Code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %s", name, r.Code, r.text(testid("login-error")))
	}
	a.name = name
}

func (a *app) refresh(t testing.TB) {
	t.Helper()
	if err := a.refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
		t.Fatalf("refresh: %v", err)
	}
}

type response struct {
	*httptest.ResponseRecorder
	doc *goquery.Document
}

// do sends a request as the app's "browser": with its cookies, and for a
// state-changing request the CSRF token htmx would send (unless header sets
// its own X-CSRF-Token, or an empty one to send none).
func (a *app) do(t testing.TB, method, target string, body url.Values, header http.Header) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := a.send(req, header)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse %s %s: %v", method, target, err)
	}
	return response{rec, doc}
}

// send serves req with the jar's cookies and keeps the cookies it sets.
func (a *app) send(req *http.Request, header http.Header) *httptest.ResponseRecorder {
	for name, value := range a.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		req.Header.Set("X-CSRF-Token", a.cookies["__Host-csrf"])
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(a.cookies, c.Name)
		} else {
			a.cookies[c.Name] = c.Value
		}
	}
	return rec
}

func (a *app) get(t *testing.T, target string) response {
	return a.do(t, http.MethodGet, target, nil, nil)
}

func testid(id string) string { return `[data-testid="` + id + `"]` }

func (r response) text(sel string) string { return strings.TrimSpace(r.doc.Find(sel).First().Text()) }

func htmx() http.Header { return http.Header{"Hx-Request": {"true"}} }

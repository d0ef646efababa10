package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

const projectID = "0605767a3300d5762fb7c0186d9e1779"

// app is the console wired as main wires it, against a simulator over HTTP
// and a real database.
type app struct {
	sim       *vpcepsim.Server
	simURL    string
	ak, sk    string
	store     *store.Store
	audit     *audit.Log
	pool      *pgxpool.Pool
	refresher *inventory.Refresher
	handler   http.Handler
	logs      *strings.Builder
}

type option func(*appConfig)

type appConfig struct {
	dbURL     string
	perPage   int
	endpoints []*vpcepsim.Endpoint
	clientCfg func(*vpcep.Config)
}

func withDB(url string) option                    { return func(c *appConfig) { c.dbURL = url } }
func withPerPage(n int) option                    { return func(c *appConfig) { c.perPage = n } }
func withClient(f func(*vpcep.Config)) option     { return func(c *appConfig) { c.clientCfg = f } }
func withEndpoints(e []*vpcepsim.Endpoint) option { return func(c *appConfig) { c.endpoints = e } }

func newApp(t testing.TB, opts ...option) *app {
	t.Helper()
	cfg := appConfig{dbURL: dbURL, endpoints: vpcepsim.DemoEndpoints(1, time.Now())}
	for _, o := range opts {
		o(&cfg)
	}
	ak, sk := vpcepsim.NewCredentials()
	sim := vpcepsim.New(vpcepsim.Options{ProjectID: projectID, AK: ak, SK: sk, Endpoints: cfg.endpoints})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	clientCfg := vpcep.Config{Endpoint: srv.URL, ProjectID: projectID, AK: ak, SK: sk, Timeout: 5 * time.Second}
	if cfg.clientCfg != nil {
		cfg.clientCfg(&clientCfg)
	}
	client, err := vpcep.New(clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	pool := testdb.Pool(t, cfg.dbURL)
	st := store.New(pool)
	migrator, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrator.Close() })
	refresher := inventory.NewRefresher(client, st, time.Minute, logger)
	auditLog := audit.New(pool)
	applier := change.NewApplier(client, auditLog, pool, change.Config{ProjectID: projectID, Region: "cn-north-4", Deadline: 10 * time.Second}, logger)
	h := handlers.New(handlers.Deps{
		Store: st, Upstream: client, Audit: auditLog, Applier: applier, Refresher: refresher, Schema: migrator, Logger: logger,
		ProjectID: projectID, Region: "cn-north-4", PerPage: cfg.perPage,
	})
	return &app{sim: sim, simURL: srv.URL, ak: ak, sk: sk, store: st, audit: auditLog, pool: pool, refresher: refresher, handler: h, logs: logs}
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

func (a *app) do(t *testing.T, method, target string, body url.Values, header http.Header) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse %s %s: %v", method, target, err)
	}
	return response{rec, doc}
}

func (a *app) get(t *testing.T, target string) response {
	return a.do(t, http.MethodGet, target, nil, nil)
}

func testid(id string) string { return `[data-testid="` + id + `"]` }

func (r response) text(sel string) string { return strings.TrimSpace(r.doc.Find(sel).First().Text()) }

func htmx() http.Header { return http.Header{"Hx-Request": {"true"}} }

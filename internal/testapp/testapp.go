// Package testapp wires the whole console as cmd/web does (through
// internal/app), against the simulator over real HTTP and a real database,
// for the handler and browser tests.
package testapp

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/app"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// ProjectID is the project the simulator serves.
const ProjectID = simtest.ProjectID

// Options shape a Console.
type Options struct {
	DBURL     string               // a migrated database; a new one of its own when ""
	Endpoints []*vpcepsim.Endpoint // the demo endpoints when nil
	Client    func(*vpcep.Config)  // adjusts the upstream client's configuration
	Deps      func(*handlers.Deps) // adjusts the handlers' dependencies
}

// Console is the wired console and the parts tests look into. Its store,
// audit log, accounts, refresher, applier and reconciler come from the
// embedded app.Console; nothing runs in the background.
type Console struct {
	*app.Console
	Sim     *simtest.Upstream
	Client  *vpcep.Client
	Pool    *pgxpool.Pool
	Handler *handlers.Handler
	Logs    *strings.Builder // everything the console logged
}

// New wires a console; everything it starts stops when t ends.
func New(t testing.TB, o Options) *Console {
	t.Helper()
	if o.Endpoints == nil {
		o.Endpoints = vpcepsim.DemoEndpoints(1, time.Now())
	}
	up := simtest.Start(t, simtest.Options{Endpoints: o.Endpoints})
	clientCfg := up.Config()
	if o.Client != nil {
		o.Client(&clientCfg)
	}
	client, err := vpcep.New(clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	if o.DBURL == "" {
		o.DBURL = testdb.Migrated(t)
	}
	pool := testdb.Pool(t, o.DBURL)
	migrator, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrator.Close() })

	// The settings `web serve` would have for this client, outside the demo.
	cfg := config.Config{
		ProjectID: clientCfg.ProjectID, Region: "cn-north-4", Endpoint: clientCfg.Endpoint,
		AK: clientCfg.AK, SK: clientCfg.SK, Token: clientCfg.Token, Timeout: clientCfg.Timeout,
		RefreshInterval: time.Minute, CookieSecure: true,
	}.WithDefaults()
	c := &Console{Console: app.New(cfg, pool, client, migrator, logger),
		Sim: up, Client: client, Pool: pool, Logs: logs}
	if o.Deps != nil {
		o.Deps(&c.Deps)
	}
	c.Handler = handlers.New(c.Deps)
	return c
}

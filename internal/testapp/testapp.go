// Package testapp wires the whole console as cmd/web does (through
// internal/app), against the simulator over real HTTP and a real database,
// for the handler and browser tests: one project, or several each with a
// simulator of its own.
package testapp

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/app"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// ProjectID is the project the simulator serves (the first project's,
// when there are several).
const ProjectID = simtest.ProjectID

// Options shape a Console.
type Options struct {
	DBURL     string               // a migrated database; a new one of its own when ""
	Endpoints []*vpcepsim.Endpoint // the demo endpoints when nil (one project only)
	Client    func(*vpcep.Config)  // adjusts every upstream client's configuration
	Deps      func(*handlers.Deps) // adjusts the handlers' dependencies
	// Config adjusts the settings `web serve` would have (after
	// WithDefaults).
	Config func(*config.Config)
	// Projects, when set, are the projects served, each by a simulator of
	// its own (Endpoints is then ignored); when nil, one project named
	// projects.DefaultName, as from the environment.
	Projects []ProjectOptions
}

// ProjectOptions shape one of several projects.
type ProjectOptions struct {
	Name      string // project-{i+1} when empty
	Region    string // cn-north-4 for the first, then ap-southeast-1, when empty
	ProjectID string // ProjectID for the first, then a distinct one, when empty
	// Endpoints are what the project's simulator serves; the demo data
	// seeded by the project's place when nil, so that no two projects
	// share an endpoint id.
	Endpoints []*vpcepsim.Endpoint
	// IAM signs in as an IAM user whose token the console obtains from the
	// simulator's IAM and renews (instead of AK/SK); TokenLifetime is the
	// simulator's tokens' (vpcepsim.DefaultTokenLifetime when zero).
	IAM           bool
	TokenLifetime time.Duration
	// CTS has the project's drifts attributed by its simulator's CTS.
	CTS bool
}

// IAMUser is the user an IAM project signs in as.
var IAMUser = vpcepsim.IAMUser{Name: "console", Password: "not-a-real-password-1", Domain: "acme"}

// Console is the wired console and the parts tests look into. Its store,
// audit log, accounts, refresher, applier and reconciler come from the
// embedded app.Console (the first project's); nothing runs in the
// background.
type Console struct {
	*app.Console
	// Projects are the projects served, in order, each with its simulator.
	Projects []*Project
	Sim      *simtest.Upstream // the first project's
	Pool     *pgxpool.Pool
	Handler  *handlers.Handler
	Logs     *strings.Builder // everything the console logged (nothing runs in the background)
}

// Project is one project served and the simulator serving it.
type Project struct {
	*app.Project
	Sim *simtest.Upstream
}

// New wires a console; everything it starts stops when t ends.
func New(t testing.TB, o Options) *Console {
	t.Helper()
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

	single := o.Projects == nil
	if single {
		if o.Endpoints == nil {
			o.Endpoints = vpcepsim.DemoEndpoints(1, time.Now())
		}
		o.Projects = []ProjectOptions{{Name: projects.DefaultName, Endpoints: o.Endpoints}}
	}
	var (
		ups  []app.ProjectUpstream
		sims []*Project
	)
	for i, po := range o.Projects {
		pu, p := startProject(t, i, po, o.Client, logger)
		ups, sims = append(ups, pu), append(sims, p)
	}
	first := ups[0]
	// The settings `web serve` would have for these clients, outside the
	// demo.
	cfg := config.Config{
		ProjectID: first.ProjectID, Region: first.Region,
		RefreshInterval: time.Minute, CookieSecure: true, Timeout: 5 * time.Second,
	}
	cfg = cfg.WithDefaults()
	if o.Config != nil {
		o.Config(&cfg)
	}
	c := &Console{Console: app.New(cfg, pool, ups, migrator, logger),
		Sim: sims[0].Sim, Pool: pool, Logs: logs, Projects: sims}
	for i, p := range c.Console.Projects {
		c.Projects[i].Project = p
	}
	if o.Deps != nil {
		o.Deps(&c.Deps)
	}
	c.Handler = handlers.New(c.Deps)
	return c
}

// startProject starts project i's simulator and builds its client.
func startProject(t testing.TB, i int, po ProjectOptions, adjust func(*vpcep.Config), logger *slog.Logger) (app.ProjectUpstream, *Project) {
	t.Helper()
	if po.Name == "" {
		po.Name = fmt.Sprintf("project-%d", i+1)
	}
	if po.Region == "" {
		po.Region = []string{"cn-north-4", "ap-southeast-1"}[min(i, 1)]
	}
	if po.ProjectID == "" {
		po.ProjectID = ProjectID
		if i > 0 {
			po.ProjectID = fmt.Sprintf("%08x%s", i, ProjectID[8:])
		}
	}
	if po.Endpoints == nil {
		po.Endpoints = vpcepsim.DemoEndpoints(uint64(i+1), time.Now())
	}
	so := simtest.Options{ProjectID: po.ProjectID, Endpoints: po.Endpoints}
	if po.IAM {
		so.IAM = vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{IAMUser}, TokenLifetime: po.TokenLifetime}
	}
	sim := simtest.Start(t, so)
	pu := app.ProjectUpstream{Name: po.Name, Region: po.Region, ProjectID: po.ProjectID}
	clientCfg := sim.Config()
	if po.IAM {
		// As `web serve` builds it from a projects file.
		pp := projects.Project{Name: po.Name, Region: po.Region, ProjectID: po.ProjectID,
			Endpoint: sim.URL, IAMEndpoint: sim.URL, CTSEndpoint: sim.URL,
			Credentials: projects.Credentials{Kind: projects.CredentialIAMUser, IAMUser: projects.IAMUser{
				Name: IAMUser.Name, Password: projects.Secret(IAMUser.Password), Domain: IAMUser.Domain}}}
		u, err := pp.Upstream(clientCfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		pu.Upstream, clientCfg = u, u.Config
	}
	if adjust != nil {
		adjust(&clientCfg)
	}
	client, err := vpcep.New(clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	pu.Client = client
	if po.CTS {
		pu.CTS = sim.CTS(t, func(c *cts.Config) {
			c.AK, c.SK, c.TokenSource = clientCfg.AK, clientCfg.SK, clientCfg.TokenSource
		})
	}
	return pu, &Project{Sim: sim}
}

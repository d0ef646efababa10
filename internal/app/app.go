// Package app wires the console together: from the validated configuration,
// a database pool, each project's upstream client and a logger it builds
// the stores, the audit log, each project's inventory refresher, drift
// detector, change applier and reconciler, the metrics and the handlers'
// dependencies. `web serve` and the tests (internal/testapp) both call New,
// so the tests run the console as it is deployed.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/metrics"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// ProjectUpstream is one project the console serves, as the caller reaches
// it.
type ProjectUpstream struct {
	Name      string // the URL prefix /p/{Name}/ and the key of role grants
	Region    string
	ProjectID string // the project's key in the database
	Client    *vpcep.Client
	// Upstream is how Client's credentials were built (projects.Project's
	// Upstream): an IAM user's renewing token is kept renewed, a fixed
	// token's expiry is watched. nil: AK/SK, or a test's own client.
	Upstream *projects.Upstream
	// CTS names who changed an endpoint outside the console; nil: CTS not
	// enabled for the project.
	CTS cts.Source
}

// Project is one project's parts. Each reaches its own upstream and keeps
// its own inventory; they share the database, the audit log and the
// accounts.
type Project struct {
	Name, Region, ProjectID string
	Store                   *store.Store // the project's inventory
	Upstream                *vpcep.Client
	Refresher               *inventory.Refresher
	Applier                 *change.Applier
	Reconciler              *change.Reconciler
	Drift                   *drift.Detector
	// Renewing is the IAM user's token the console keeps renewed; nil for
	// other credentials.
	Renewing *vpcep.RenewingCredential
	// Handlers is what the handlers serve the project with
	// (handlers.Deps.Projects).
	Handlers *handlers.Project

	fixed *fixedToken // a fixed token's expiry, watched; nil otherwise
}

// Console is the wired console: its parts, and the handlers' dependencies
// built from them.
type Console struct {
	// Projects are the projects served, in the configuration's order; the
	// first is the default. Store, Refresher, Applier, Reconciler and Drift
	// are the first project's, for callers that serve one.
	Projects   []*Project
	Store      *store.Store
	Audit      *audit.Log
	Auth       *auth.Store
	Refresher  *inventory.Refresher
	Applier    *change.Applier
	Reconciler *change.Reconciler
	// Drift detects changes made outside the console (on each refresh and
	// live read) and attributes them through CTS in the background.
	Drift *drift.Detector
	// Metrics instruments the console; main serves them on METRICS_ADDR.
	Metrics *metrics.Metrics
	// Deps are the handlers' dependencies, ready for handlers.New; a test
	// may adjust them first.
	Deps handlers.Deps

	pool              *pgxpool.Pool
	reconcileInterval time.Duration
	logger            *slog.Logger
	workers           sync.WaitGroup
	claim             sync.Once
	claimErr          error
}

// New wires a console serving ps (at least one; the first is the default).
// cfg has passed config.Load's validation and has its defaults
// (config.Config.WithDefaults, which Load applies); its per-project
// settings (ProjectID, Region, credentials) are not read: each project's
// are in ps. pool is on a database whose schema is current; schema tells
// /readyz whether it still is. Every part reaches its project's upstream
// through a copy of the client that reports to Metrics. Nothing is
// started: see Start.
func New(cfg config.Config, pool *pgxpool.Pool, ps []ProjectUpstream, schema handlers.SchemaChecker, logger *slog.Logger) *Console {
	if len(ps) == 0 {
		panic("app.New: no project to serve")
	}
	c := &Console{
		Audit:   audit.New(pool),
		Auth:    auth.NewStore(pool),
		Metrics: metrics.New(),

		pool:              pool,
		reconcileInterval: cfg.ReconcileInterval,
		logger:            logger,
	}
	// One bound for every project: they all write to one database.
	limit := inventory.NewLimit(cfg.RefreshConcurrency)
	for _, pu := range ps {
		c.Projects = append(c.Projects, c.newProject(cfg, pu, limit, logger.With("project", pu.Name)))
	}
	first := c.Projects[0]
	c.Store, c.Refresher, c.Applier, c.Reconciler, c.Drift = first.Store, first.Refresher, first.Applier, first.Reconciler, first.Drift
	inventories := make([]metrics.ProjectInventory, len(c.Projects))
	for i, p := range c.Projects {
		inventories[i] = metrics.ProjectInventory{Project: p.Name, Store: p.Store}
	}
	c.Metrics.WatchState(c.Audit, inventories...)

	c.Deps = handlers.Deps{
		Store: c.Store, Audit: c.Audit, Schema: schema, Logger: logger,
		Auth: c.Auth, Sessions: auth.SessionConfig{Idle: cfg.SessionIdle, Absolute: cfg.SessionLifetime},
		CookieSecure: cfg.CookieSecure, TLS: cfg.TLSCert != "", TrustedProxies: cfg.TrustedProxies,
		Demo:    cfg.Demo,
		Metrics: c.Metrics,
	}
	for _, p := range c.Projects {
		c.Deps.Projects = append(c.Deps.Projects, p.Handlers)
	}
	return c
}

// newProject builds one project's parts over the shared audit log and
// metrics.
func (c *Console) newProject(cfg config.Config, pu ProjectUpstream, limit *inventory.Limit, logger *slog.Logger) *Project {
	upstream := pu.Client.WithObserver(c.Metrics)
	p := &Project{
		Name: pu.Name, Region: pu.Region, ProjectID: pu.ProjectID,
		Store:    store.NewProject(c.pool, pu.ProjectID),
		Upstream: upstream,
	}
	p.Refresher = inventory.NewRefresher(upstream, p.Store, cfg.RefreshInterval, logger)
	p.Refresher.SetLimit(limit)
	if cfg.Demo {
		// The demo's simulators are new at every start: what the database
		// holds is the last run's.
		p.Refresher.RefreshAtStart()
	}
	p.Drift = drift.New(c.pool, c.Audit, drift.Config{ProjectID: pu.ProjectID, Region: pu.Region, Upstream: upstream,
		Changed: p.Store.InventoryChanged, CTS: pu.CTS}, logger)
	p.Refresher.SetDriftDetector(func(ctx context.Context, listedSince time.Time) error {
		_, err := p.Drift.DetectInventory(ctx, listedSince)
		return err
	})
	p.Applier = change.NewApplier(upstream, c.Audit, c.pool, change.Config{
		ProjectID: pu.ProjectID, Region: pu.Region, Deadline: cfg.ChangeDeadline, Inventory: p.Store,
		Observer: c.Metrics, Drift: p.Drift,
	}, logger)
	// The reconciler settles only what no change can still be working on:
	// the same age after which the next change to an endpoint settles it.
	// Each project's settles its own entries, through its own upstream.
	p.Reconciler = change.NewReconciler(upstream, c.Audit, c.pool, p.Applier.SettleAfter(), logger)
	p.Reconciler.SetProject(pu.ProjectID)
	p.Reconciler.SetObserver(c.Metrics)
	p.Reconciler.SetDrift(p.Drift)

	p.Handlers = &handlers.Project{
		Name: pu.Name, Region: pu.Region, ProjectID: pu.ProjectID,
		Store: p.Store, Upstream: upstream, Applier: p.Applier, Drift: p.Drift, Refresher: p.Refresher,
	}
	if u := pu.Upstream; u != nil {
		switch {
		case u.Renewing != nil:
			p.Renewing = u.Renewing
			p.Handlers.Credential = renewingNotice(u.Renewing)
		case u.Kind == projects.CredentialToken:
			p.fixed = &fixedToken{iam: u.IAM, token: u.Config.Token, logger: logger}
			p.Handlers.Credential = p.fixed.notice
		}
	}
	return p
}

// ClaimUnscopedInventory settles the inventory rows written before the
// console served projects (project ""): with one project they become its
// own (no refetch needed), with several they are dropped (each project
// refetches its own). It runs once; Start calls it, and a caller that
// refreshes before Start (the demo) calls it first.
func (c *Console) ClaimUnscopedInventory(ctx context.Context) error {
	c.claim.Do(func() {
		project := ""
		if len(c.Projects) == 1 {
			project = c.Projects[0].ProjectID
		}
		if err := store.ClaimUnscopedInventory(ctx, c.pool, project); err != nil {
			c.claimErr = fmt.Errorf("inventory from before projects: %w", err)
		}
	})
	return c.claimErr
}

// attributeInterval is how often drifts still without a name are asked of
// CTS again (each drift waits its own retry time too).
const attributeInterval = time.Minute

// Start runs the background workers until ctx ends: the watchers of
// inventory and audit log changes (which keep the inventories' read models
// and the audit log's cache current) and, for each project on its own so
// that one project's failing upstream never holds up another's, the
// inventory refresher (at once, or when its turn comes if the stored
// inventory is recent; then every refresh interval), the reconciler (at
// once, then every reconcile interval), with CTS the attribution of
// drifts, an IAM user's token renewal and a fixed token's expiry watch.
// First it settles the inventory from before projects
// (ClaimUnscopedInventory; a failure is logged: the refreshes refetch
// what it would have kept). Wait waits for the workers to return.
func (c *Console) Start(ctx context.Context) {
	if err := c.ClaimUnscopedInventory(ctx); err != nil {
		c.logger.Warn("could not settle the inventory stored before projects; the refreshes refetch it", "error", err)
	}
	c.run(func() { c.Audit.Watch(ctx, c.logger) }) // caches /audit's counts and pages while it listens
	stores := make([]*store.Store, len(c.Projects))
	for i, p := range c.Projects {
		stores[i] = p.Store
	}
	c.run(func() { store.WatchInventories(ctx, c.logger, stores...) })
	for _, p := range c.Projects {
		c.run(func() { p.Drift.Run(ctx, attributeInterval) }) // returns at once without CTS
		c.run(func() { p.Refresher.Run(ctx) })
		c.run(func() { p.Reconciler.Run(ctx, c.reconcileInterval) })
		if p.Renewing != nil {
			c.run(func() { p.Renewing.Run(ctx) })
		}
		if p.fixed != nil {
			c.run(func() { p.fixed.run(ctx, time.Now) })
		}
	}
}

// run runs f as a worker Wait waits for.
func (c *Console) run(f func()) {
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		f()
	}()
}

// CloseChanges has every project's applier refuse new changes; those under
// way run to their end (WaitChanges).
func (c *Console) CloseChanges() {
	for _, p := range c.Projects {
		p.Applier.Close()
	}
}

// WaitChanges returns once every project's changes under way are recorded.
func (c *Console) WaitChanges() {
	for _, p := range c.Projects {
		p.Applier.Wait()
	}
}

// Wait returns once the workers Start started have returned, which they do
// soon after Start's context ends: a refresh or a settlement under way is
// cut short (a refresh is still recorded; an entry left pending is settled
// by the next round, here or on another replica).
func (c *Console) Wait() { c.workers.Wait() }

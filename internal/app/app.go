// Package app wires the console together: from the validated configuration,
// a database pool, the upstream client and a logger it builds the stores, the
// audit log, the inventory refresher, the change applier and reconciler, the
// metrics and the handlers' dependencies. `web serve` and the tests (internal/testapp)
// both call New, so the tests run the console as it is deployed.
package app

import (
	"context"
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
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Console is the wired console: its parts, and the handlers' dependencies
// built from them.
type Console struct {
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

	reconcileInterval time.Duration
	logger            *slog.Logger
	workers           sync.WaitGroup
}

// New wires a console. cfg has passed config.Load's validation (in demo
// mode, with the simulator's project and region filled in) and has its
// defaults (config.Config.WithDefaults, which Load applies); pool is on a
// database whose schema is current; schema tells /readyz whether it still
// is. Every part reaches the upstream through a copy of upstream that
// reports to Metrics. Nothing is started: see Start.
func New(cfg config.Config, pool *pgxpool.Pool, upstream *vpcep.Client, schema handlers.SchemaChecker, logger *slog.Logger) *Console {
	c := &Console{
		Store:   store.New(pool),
		Audit:   audit.New(pool),
		Auth:    auth.NewStore(pool),
		Metrics: metrics.New(),

		reconcileInterval: cfg.ReconcileInterval,
		logger:            logger,
	}
	upstream = upstream.WithObserver(c.Metrics)
	c.Metrics.WatchState(c.Audit, c.Store)
	c.Refresher = inventory.NewRefresher(upstream, c.Store, cfg.RefreshInterval, logger)
	if cfg.Demo {
		// The demo's simulator is new at every start: what the database
		// holds is the last run's.
		c.Refresher.RefreshAtStart()
	}
	c.Drift = drift.New(pool, c.Audit, drift.Config{ProjectID: cfg.ProjectID, Region: cfg.Region, Upstream: upstream,
		Changed: c.Store.InventoryChanged}, logger)
	c.Refresher.SetDriftDetector(func(ctx context.Context, listedSince time.Time) error {
		_, err := c.Drift.DetectInventory(ctx, listedSince)
		return err
	})
	c.Applier = change.NewApplier(upstream, c.Audit, pool, change.Config{
		ProjectID: cfg.ProjectID, Region: cfg.Region, Deadline: cfg.ChangeDeadline, Inventory: c.Store,
		Observer: c.Metrics, Drift: c.Drift,
	}, logger)
	// The reconciler settles only what no change can still be working on:
	// the same age after which the next change to an endpoint settles it.
	c.Reconciler = change.NewReconciler(upstream, c.Audit, pool, c.Applier.SettleAfter(), logger)
	c.Reconciler.SetObserver(c.Metrics)
	c.Reconciler.SetDrift(c.Drift)
	c.Deps = handlers.Deps{
		Store: c.Store, Upstream: upstream, Audit: c.Audit, Applier: c.Applier, Drift: c.Drift,
		Refresher: c.Refresher, Schema: schema, Logger: logger,
		Auth: c.Auth, Sessions: auth.SessionConfig{Idle: cfg.SessionIdle, Absolute: cfg.SessionLifetime},
		CookieSecure: cfg.CookieSecure, TLS: cfg.TLSCert != "", TrustedProxies: cfg.TrustedProxies,
		ProjectID: cfg.ProjectID, Region: cfg.Region, Demo: cfg.Demo,
		Metrics: c.Metrics,
	}
	return c
}

// SetCTS makes drifts attributed through Cloud Trace Service (nil: CTS not
// enabled, the default). Call it before Start and before any request.
func (c *Console) SetCTS(src cts.Source) { c.Drift.SetCTS(src) }

// attributeInterval is how often drifts still without a name are asked of
// CTS again (each drift waits its own retry time too).
const attributeInterval = time.Minute

// Start runs the background workers until ctx ends: the watchers of
// inventory and audit log changes (which keep the inventory's read model
// and the audit log's cache current), the inventory refresher (at once, or
// when its turn comes if the stored inventory is recent; then every refresh
// interval), the
// reconciler (at once, then every reconcile interval) and, with CTS, the
// attribution of drifts. Wait waits for them
// to return.
func (c *Console) Start(ctx context.Context) {
	c.workers.Add(5)
	go func() {
		defer c.workers.Done()
		c.Drift.Run(ctx, attributeInterval) // returns at once without CTS
	}()
	go func() {
		defer c.workers.Done()
		c.Store.WatchInventory(ctx, c.logger)
	}()
	go func() {
		defer c.workers.Done()
		c.Audit.Watch(ctx, c.logger) // caches /audit's counts and pages while it listens
	}()
	go func() {
		defer c.workers.Done()
		c.Refresher.Run(ctx)
	}()
	go func() {
		defer c.workers.Done()
		c.Reconciler.Run(ctx, c.reconcileInterval)
	}()
}

// Wait returns once the workers Start started have returned, which they do
// soon after Start's context ends: a refresh or a settlement under way is
// cut short (a refresh is still recorded; an entry left pending is settled
// by the next round, here or on another replica).
func (c *Console) Wait() { c.workers.Wait() }

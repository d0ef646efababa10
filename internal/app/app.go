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
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/metrics"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// ReconcileInterval is how often the reconciler looks for audit entries left
// pending.
const ReconcileInterval = time.Minute

// Console is the wired console: its parts, and the handlers' dependencies
// built from them.
type Console struct {
	Store      *store.Store
	Audit      *audit.Log
	Auth       *auth.Store
	Refresher  *inventory.Refresher
	Applier    *change.Applier
	Reconciler *change.Reconciler
	// Metrics instruments the console; main serves them on METRICS_ADDR.
	Metrics *metrics.Metrics
	// Deps are the handlers' dependencies, ready for handlers.New; a test
	// may adjust them first.
	Deps handlers.Deps

	workers sync.WaitGroup
}

// New wires a console. cfg has passed config.Load's validation (in demo
// mode, with the simulator's project and region filled in); pool is on a
// database whose schema is current; schema tells /readyz whether it still
// is. Every part reaches the upstream through a copy of upstream that
// reports to Metrics. Nothing is started: see Start.
func New(cfg config.Config, pool *pgxpool.Pool, upstream *vpcep.Client, schema handlers.SchemaChecker, logger *slog.Logger) *Console {
	c := &Console{
		Store:   store.New(pool),
		Audit:   audit.New(pool),
		Auth:    auth.NewStore(pool),
		Metrics: metrics.New(),
	}
	upstream = upstream.WithObserver(c.Metrics)
	c.Metrics.WatchState(pool, c.Store)
	c.Refresher = inventory.NewRefresher(upstream, c.Store, cfg.RefreshInterval, logger)
	c.Applier = change.NewApplier(upstream, c.Audit, pool, change.Config{
		ProjectID: cfg.ProjectID, Region: cfg.Region, Deadline: changeDeadline(cfg.Timeout), Inventory: c.Store,
		Observer: c.Metrics,
	}, logger)
	c.Reconciler = change.NewReconciler(upstream, c.Audit, pool, reconcileMinAge(c.Applier.Deadline()), logger)
	c.Reconciler.SetObserver(c.Metrics)
	c.Deps = handlers.Deps{
		Store: c.Store, Upstream: upstream, Audit: c.Audit, Applier: c.Applier,
		Refresher: c.Refresher, Schema: schema, Logger: logger,
		Auth: c.Auth, Sessions: auth.SessionConfig{Idle: cfg.SessionIdle, Absolute: cfg.SessionLifetime},
		CookieSecure: cfg.CookieSecure, TLS: cfg.TLSCert != "", TrustedProxies: cfg.TrustedProxies,
		ProjectID: cfg.ProjectID, Region: cfg.Region, Demo: cfg.Demo,
		Metrics: c.Metrics,
	}
	return c
}

// changeDeadline is how long a change's PUT, read-back and finalise may take
// together: past the upstream timeout of both calls, with time to spare for
// the audit log.
func changeDeadline(upstreamTimeout time.Duration) time.Duration {
	return 2*upstreamTimeout + 15*time.Second
}

// reconcileMinAge is how long an entry must have been pending before the
// reconciler settles it: longer than a change may take (its deadline), so it
// never races a change still under way.
func reconcileMinAge(deadline time.Duration) time.Duration {
	return deadline + 30*time.Second
}

// Start runs the background workers until ctx ends: the inventory refresher
// (at once, then every refresh interval) and the reconciler (at once, then
// every ReconcileInterval). Wait waits for them to return.
func (c *Console) Start(ctx context.Context) {
	c.workers.Add(2)
	go func() {
		defer c.workers.Done()
		c.Refresher.Run(ctx)
	}()
	go func() {
		defer c.workers.Done()
		c.Reconciler.Run(ctx, ReconcileInterval)
	}()
}

// Wait returns once the workers Start started have returned, which they do
// soon after Start's context ends: a refresh or a settlement under way is
// cut short (a refresh is still recorded; an entry left pending is settled
// by the next round, here or on another replica).
func (c *Console) Wait() { c.workers.Wait() }

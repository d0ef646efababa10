// Command web is the VPCEP console: `web serve` (the default) runs the
// dashboard, `web migrate up|down|status` manages the schema.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/app"
	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

const usage = `usage:
  web [serve] [--listen ADDR] [--metrics-addr ADDR] [--demo] [--no-migrate]
  web migrate up|down|status
  web audit verify
  web user add NAME --role viewer|editor|admin    (password on stdin)
  web user passwd NAME                           (password on stdin)
  web user disable NAME | enable NAME | list
  web token create ACCOUNT [--name LABEL] [--expires 90d]

Configuration comes from the environment; see README.md.`

func main() {
	// The first SIGTERM or interrupt starts a graceful shutdown; from then
	// on the signals' default is back, so a second one stops the process at
	// once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout)
	case "audit":
		return auditCommand(ctx, args, getenv, stdout)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout)
	case "token":
		return tokenCommand(ctx, args, getenv, stdout)
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("migrate needs one of: up, down, status")
	}
	pool, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := store.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	switch args[0] {
	case "up":
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		return nil
	case "down":
		return m.Down(ctx)
	case "status":
		return m.WriteStatus(ctx, stdout)
	default:
		return fmt.Errorf("unknown migrate command %q: use up, down or status", args[0])
	}
}

// openDB connects to DATABASE_URL, for the commands that need only the database.
func openDB(ctx context.Context, getenv func(string) string) (*pgxpool.Pool, error) {
	dbURL, err := config.DatabaseURL(getenv)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dbURL)
}

// auditCommand is `web audit verify`: it walks the hash chain and names the
// first entry that does not match.
func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return errors.New("audit needs: verify")
	}
	pool, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer pool.Close()
	r, err := audit.New(pool).Verify(ctx)
	if err != nil {
		return err
	}
	if !r.OK() {
		return fmt.Errorf("audit log tampered with: entry #%d: %s (%d entries checked)", r.BadEntry, r.Problem, r.Checked)
	}
	fmt.Fprintf(stdout, "ok: %d entries, hash chain intact\n", r.Checked)
	return nil
}

// serve is `web serve`: it runs the console until ctx ends, then shuts down
// gracefully: it stops accepting connections, lets the requests in flight
// finish (a policy change is finalised within the change deadline), stops
// the background workers and closes the database pool, in that order.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := newLogger(stderr, cfg.LogLevel)
	if limit := applyMemoryLimit(cfg.MemoryLimit, getenv); limit != math.MaxInt64 {
		logger.Debug("soft memory limit", "bytes", limit)
	}

	var sim *vpcepsim.Server
	if cfg.Demo {
		var stopSim func()
		sim, stopSim, err = startDemoSimulator(&cfg, logger)
		if err != nil {
			return err
		}
		defer stopSim()
	}
	pool, migrator, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer migrator.Close()
	client, err := newUpstream(cfg)
	if err != nil {
		return err
	}

	console := app.New(cfg, pool, client, migrator, logger)
	traces, err := cts.New(cfg)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	console.SetCTS(traces) // nil: CTS not enabled, drifts are recorded without a name
	if cfg.Demo {
		if err := demoAdmin(ctx, console.Auth, stdout); err != nil {
			return err
		}
		if err := demoDrift(ctx, console, sim, logger); err != nil {
			return err
		}
	}
	// The workers outlive ctx until the requests in flight are answered:
	// deferred, they stop after serveHTTP returns and before the pool
	// closes (deferred earlier, so run later).
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWorkers()
		console.Wait()
		logger.Info("background workers stopped")
	}()
	console.Start(workers)
	// From the signal on, no new change starts; those under way finish
	// while the server drains.
	defer context.AfterFunc(ctx, console.Applier.Close)()

	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		if metricsSrv, err = serveMetrics(cfg.MetricsAddr, console.Metrics.Handler(logger), logger); err != nil {
			return err
		}
	}
	// On stdout, for the person who ran `make run`: where to go.
	fmt.Fprintf(stdout, "  Open %s in a browser (Ctrl-C stops the console).\n\n", consoleURL(cfg.Listen, cfg.TLSCert != ""))
	logger.Info("serving", "addr", cfg.Listen, "upstream", client.Endpoint(), "project", cfg.ProjectID, "demo", cfg.Demo)
	// A change that took its endpoint's lock just before the signal may
	// still read the live policy (up to the upstream timeout) and then run
	// to its deadline.
	err = serveHTTP(ctx, cfg, handlers.New(console.Deps), cfg.Timeout+console.Applier.Deadline(), logger)
	// Changes run detached from their requests: wait for every one to be
	// recorded before the workers stop and the pool closes (deferred above).
	console.Applier.Close()
	console.Applier.Wait()
	if metricsSrv != nil {
		// Served until the requests in flight were answered, so the drain
		// can be watched.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	return err
}

// applyMemoryLimit sets the Go runtime's soft memory limit to limit (in
// bytes; 0: none), unless GOMEMLIMIT is set: the runtime has applied that
// one, and it wins. It returns the limit in force (math.MaxInt64: none).
func applyMemoryLimit(limit int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" || limit <= 0 {
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(limit)
	return limit
}

// openDatabase connects to the database and brings its schema up to date
// (unless --no-migrate), refusing a schema that is still behind. The
// migrator stays open: /readyz asks it whether the schema is still current.
func openDatabase(ctx context.Context, cfg config.Config, logger *slog.Logger) (*pgxpool.Pool, *store.Migrator, error) {
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	migrator, err := store.NewMigrator(pool)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	if err := migrateOnStart(ctx, migrator, cfg.NoMigrate, logger); err != nil {
		migrator.Close()
		pool.Close()
		return nil, nil, err
	}
	return pool, migrator, nil
}

// migrateOnStart applies pending migrations unless noMigrate, then checks
// that none are left.
func migrateOnStart(ctx context.Context, migrator *store.Migrator, noMigrate bool, logger *slog.Logger) error {
	if !noMigrate {
		n, err := migrator.Up(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			logger.Info("applied migrations", "count", n)
		}
	}
	if err := migrator.CheckCurrent(ctx); err != nil {
		return fmt.Errorf("refusing to serve: %w", err)
	}
	return nil
}

// newUpstream builds the VPCEP client from the configuration.
func newUpstream(cfg config.Config) (*vpcep.Client, error) {
	return vpcep.New(vpcep.Config{
		Region: cfg.Region, Endpoint: cfg.Endpoint, ProjectID: cfg.ProjectID,
		AK: cfg.AK, SK: cfg.SK, Token: cfg.Token, Timeout: cfg.Timeout,
	})
}

// serveHTTP serves handler on cfg.Listen (over TLS when configured) until
// ctx ends, then shuts down gracefully: the listener closes at once (a new
// connection is refused), idle connections are closed, and requests in
// flight get up to changeTime (the longest a change may take) and
// shutdownSlack to be answered.
// A change runs detached with that deadline, so every change under way is
// finalised and answered. It returns an error only if serving failed or
// the requests in flight outlasted the grace.
func serveHTTP(ctx context.Context, cfg config.Config, handler http.Handler, changeTime time.Duration, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Longer than a policy change may take: the change itself runs
		// detached, but the admin should still see its answer.
		WriteTimeout: changeTime + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (LISTEN_ADDR): %w", cfg.Listen, err)
	}
	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := changeTime + shutdownSlack
	logger.Info("shutting down: no new connections; waiting for the requests in flight", "grace", grace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: requests still in flight after %s were cut off: %w", grace, err)
	}
	logger.Info("requests in flight answered")
	return nil
}

// shutdownSlack is what a request in flight gets beyond the longest change
// to be answered when the server shuts down.
const shutdownSlack = 10 * time.Second

// serveMetrics serves /metrics on addr, a listener of its own (never the
// public one), in the background. The caller shuts the server down.
func serveMetrics(addr string, handler http.Handler, logger *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (METRICS_ADDR): %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener failed", "addr", addr, "error", err)
		}
	}()
	logger.Info("serving metrics", "addr", ln.Addr().String())
	return srv, nil
}

// consoleURL is the URL to open for a server listening on listen: an
// address with no host (":8080") or a wildcard one is reached at localhost.
func consoleURL(listen string, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return scheme + "://" + listen + "/"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

// demoAdmin gives the demo an admin account with a fresh random password,
// printed once on stdout (never to the log), so `make run` stays two commands.
func demoAdmin(ctx context.Context, accounts *auth.Store, stdout io.Writer) error {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(b)
	_, err := accounts.CreateAccount(ctx, "admin", password, auth.Admin)
	if errors.Is(err, auth.ErrNameTaken) {
		err = accounts.SetPassword(ctx, "admin", password)
	}
	if err != nil {
		return fmt.Errorf("demo admin account: %w", err)
	}
	fmt.Fprintf(stdout, "\n  Demo: sign in as admin with password %s\n\n", password)
	return nil
}

// startDemoSimulator runs the simulator in-process with the demo data and
// points cfg at it with a freshly generated AK/SK, for VPCEP and for CTS.
func startDemoSimulator(cfg *config.Config, logger *slog.Logger) (sim *vpcepsim.Server, stop func(), err error) {
	ak, sk := vpcepsim.NewCredentials()
	const demoProject = "0605767a3300d5762fb7c0186d9e1779"
	endpoints := vpcepsim.DemoEndpoints(1, time.Now())
	if cfg.DemoEndpoints > 0 {
		endpoints = vpcepsim.GeneratedEndpoints(1, cfg.DemoEndpoints, time.Now())
	}
	sim = vpcepsim.New(vpcepsim.Options{ProjectID: demoProject, AK: ak, SK: sk, Endpoints: endpoints})
	url, srv, err := vpcepsim.Listen(sim, "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("demo simulator: %w", err)
	}
	cfg.Endpoint, cfg.Region, cfg.ProjectID = url, "cn-north-4", demoProject
	cfg.AK, cfg.SK, cfg.Token = ak, sk, ""
	cfg.CTSEnabled, cfg.CTSEndpoint = true, url
	logger.Info("demo mode: serving the built-in VPCEP simulator", "url", url, "endpoints", len(endpoints))
	return sim, func() { _ = srv.Close() }, nil
}

// demoDrift shows a new user drift detection. The simulator is new at
// every start, but the database is the last run's: first the simulator
// takes up the policies the audit log last saw (as the cloud would have
// kept them), so a restart is no drift; then, when no endpoint is drifted,
// one policy is changed as if by Terraform from elsewhere, after a refresh
// has recorded what the console knows. The refresh at start finds it, and
// the simulator's CTS names who did it.
func demoDrift(ctx context.Context, console *app.Console, sim *vpcepsim.Server, logger *slog.Logger) error {
	eps := sim.Endpoints()
	ids := make([]string, len(eps))
	for i, ep := range eps {
		ids[i] = ep.ID
	}
	seen, err := console.Drift.LastSeen(ctx, ids)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, ep := range eps {
		raw, ok := seen[ep.ID]
		if !ok {
			continue
		}
		var statements []vpcepsim.Statement
		if err := json.Unmarshal(raw, &statements); err != nil {
			return fmt.Errorf("demo: the last policy seen on %s: %w", ep.ID, err)
		}
		ep.Statements = statements
		sim.PutEndpoint(ep)
	}
	drifted, err := console.Drift.DriftedIDs(ctx)
	if err != nil || len(drifted) > 0 {
		return err
	}
	if err := console.Refresher.Refresh(ctx, inventory.TriggerStartup); err != nil {
		return fmt.Errorf("demo: first refresh: %w", err)
	}
	id, err := vpcepsim.DemoOutOfBand(sim)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	logger.Info("demo mode: changed one policy outside the console, as Terraform would", "endpoint", id,
		"user", vpcepsim.DemoOutOfBandUser)
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

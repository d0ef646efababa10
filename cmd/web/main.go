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
	"github.com/vpcep-console/vpcep-console/internal/oidctest"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/sso"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

const usage = `usage:
  web [serve] [--listen ADDR] [--metrics-addr ADDR] [--config FILE | --demo] [--no-migrate]
  web migrate up|down|status
  web audit verify
  web user add NAME --role viewer|editor|admin    (password on stdin)
  web user passwd NAME                           (password on stdin)
  web user disable NAME | enable NAME | list
  web user grant NAME --project P --role none|viewer|editor|default
  web token create ACCOUNT [--name LABEL] [--expires 90d]

Configuration comes from the environment (one project) or a projects
file (--config, VPCEP_CONFIG); see README.md.`

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

	var (
		pcfg *projects.Config
		sims []*vpcepsim.Server // the demo's, one per project
	)
	switch {
	case cfg.Demo:
		var stopSims func()
		pcfg, sims, stopSims, err = startDemoSimulators(&cfg, logger)
		if err != nil {
			return err
		}
		defer stopSims()
	case cfg.ProjectsFile != "":
		// The loader's message names the file, line and field at fault.
		if pcfg, err = projects.Load(cfg.ProjectsFile, getenv); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	default:
		pcfg = projects.FromConfig(cfg)
	}
	ups, err := projectUpstreams(cfg, pcfg, logger)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Single sign-on: from the OIDC_* variables, or the demo's provider.
	var (
		ssoCfg           *sso.Config
		demoSSOUsersLine string // the demo's SSO users and passwords, printed after the admin's
	)
	if cfg.Demo {
		var stopIdP func()
		if ssoCfg, stopIdP, demoSSOUsersLine, err = startDemoIdP(cfg, logger); err != nil {
			return err
		}
		defer stopIdP()
	} else if ssoCfg, err = sso.ConfigFromEnv(getenv, os.ReadFile); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if ssoCfg != nil {
		for _, p := range pcfg.Projects {
			ssoCfg.Mapping.Projects = append(ssoCfg.Mapping.Projects, p.Name)
		}
		if unknown := ssoCfg.Mapping.Unknown(ssoCfg.Mapping.Projects); len(unknown) > 0 {
			return fmt.Errorf("configuration: OIDC_GROUP_ROLES names projects this console does not serve: %s (it serves %s)",
				strings.Join(unknown, ", "), strings.Join(ssoCfg.Mapping.Projects, ", "))
		}
	}
	pool, migrator, err := openDatabase(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer migrator.Close()

	console := app.New(cfg, pool, ups, migrator, logger)
	if ssoCfg != nil {
		console.Deps.SSO = sso.New(*ssoCfg, pool, logger)
		logger.Info("single sign-on", "issuer", ssoCfg.Issuer, "client_id", ssoCfg.ClientID, "only", ssoCfg.Only)
	}
	if cfg.Demo {
		if err := demoAdmin(ctx, console.Auth, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  Or sign in with demo SSO as %s.\n\n", demoSSOUsersLine)
		// Before the demo's first refreshes write the projects' rows.
		if err := console.ClaimUnscopedInventory(ctx); err != nil {
			return err
		}
		for i, p := range console.Projects {
			if err := demoDrift(ctx, p, sims[i], logger); err != nil {
				return err
			}
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
	defer context.AfterFunc(ctx, console.CloseChanges)()

	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		if metricsSrv, err = serveMetrics(cfg.MetricsAddr, console.Metrics.Handler(logger), logger); err != nil {
			return err
		}
	}
	// On stdout, for the person who ran `make run`: where to go.
	fmt.Fprintf(stdout, "  Open %s in a browser (Ctrl-C stops the console).\n\n", consoleURL(cfg.Listen, cfg.TLSCert != ""))
	for _, p := range console.Projects {
		logger.Info("serving project", "project", p.Name, "region", p.Region, "project_id", p.ProjectID, "upstream", p.Upstream.Endpoint())
	}
	logger.Info("serving", "addr", cfg.Listen, "projects", len(console.Projects), "demo", cfg.Demo)
	// A change that took its endpoint's lock just before the signal may
	// still read the live policy (up to the upstream timeout) and then run
	// to its deadline.
	err = serveHTTP(ctx, cfg, handlers.New(console.Deps), cfg.Timeout+console.Applier.Deadline(), logger)
	// Changes run detached from their requests: wait for every one to be
	// recorded before the workers stop and the pool closes (deferred above).
	console.CloseChanges()
	console.WaitChanges()
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

// projectUpstreams builds each project's VPCEP client (and CTS client,
// with CTS_ENABLED) from its configuration; VPCEP_TIMEOUT applies to all.
// An error names the project.
func projectUpstreams(cfg config.Config, pcfg *projects.Config, logger *slog.Logger) ([]app.ProjectUpstream, error) {
	var out []app.ProjectUpstream
	for i := range pcfg.Projects {
		p := &pcfg.Projects[i]
		u, err := p.Upstream(vpcep.Config{Timeout: cfg.Timeout}, logger)
		if err != nil {
			return nil, err
		}
		client, err := vpcep.New(u.Config)
		if err != nil {
			return nil, fmt.Errorf("project %q: %w", p.Name, err)
		}
		pu := app.ProjectUpstream{Name: p.Name, Region: p.Region, ProjectID: p.ProjectID, Client: client, Upstream: u}
		if cfg.CTSEnabled {
			// Signed in as the project's VPCEP client is.
			traces, err := cts.NewClient(cts.Config{
				Region: p.Region, Endpoint: p.CTSEndpoint, ProjectID: p.ProjectID, Timeout: cfg.Timeout,
				AK: u.Config.AK, SK: u.Config.SK, Token: u.Config.Token, TokenSource: u.Config.TokenSource,
			})
			if err != nil {
				return nil, fmt.Errorf("project %q: CTS_ENABLED: %w", p.Name, err)
			}
			pu.CTS = traces
		}
		out = append(out, pu)
	}
	return out, nil
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

// The demo's identity provider: two people in two groups. The network
// engineers edit every project; the auditors read every project but
// demo-singapore.
var demoSSOUsers = []struct{ username, name, group string }{
	{"alice", "Alice Network", "network-engineers"},
	{"bob", "Bob Auditor", "auditors"},
}

const demoGroupRoles = "network-engineers=editor,auditors=viewer,auditors=none@demo-singapore"

// startDemoIdP runs the demo's OpenID Connect provider in-process (the
// same one the tests use) and returns the console's SSO settings for it.
// The two users' passwords are new at every start and printed on stdout,
// like the admin's.
func startDemoIdP(cfg config.Config, logger *slog.Logger) (*sso.Config, func(), string, error) {
	mapping, err := sso.ParseMapping(demoGroupRoles)
	if err != nil {
		return nil, nil, "", err
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, "", err
	}
	redirect := strings.TrimSuffix(consoleURL(cfg.Listen, cfg.TLSCert != ""), "/") + "/login/sso/callback"
	var users []oidctest.User
	var lines []string
	for i, u := range demoSSOUsers {
		pw := make([]byte, 12)
		if _, err := rand.Read(pw); err != nil {
			return nil, nil, "", err
		}
		password := base64.RawURLEncoding.EncodeToString(pw)
		users = append(users, oidctest.User{Subject: fmt.Sprintf("demo-user-%d", i+1), Username: u.username, Password: password,
			Name: u.name, Email: u.username + "@example.com", Groups: []string{u.group}})
		lines = append(lines, fmt.Sprintf("%s / %s (group %s)", u.username, password, u.group))
	}
	idp, err := oidctest.Serve("127.0.0.1:0", oidctest.Options{
		ClientSecret: base64.RawURLEncoding.EncodeToString(secret), RedirectURLs: []string{redirect},
		Users: users, TokenLifetime: 5 * time.Minute, Logger: logger.With("component", "demo-idp"),
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("demo identity provider: %w", err)
	}
	return &sso.Config{
		Name: "demo SSO", Issuer: idp.URL(), ClientID: idp.ClientID(), ClientSecret: idp.ClientSecret(),
		RedirectURL: redirect, Scopes: strings.Fields(sso.DefaultScopes), GroupsClaim: sso.DefaultGroupsClaim, Mapping: mapping,
	}, func() { _ = idp.Close() }, strings.Join(lines, " or "), nil
}

// demoTokenLifetime is how long the demo's IAM tokens live: short, so
// that the log shows the console renewing its IAM user's token.
const demoTokenLifetime = 10 * time.Minute

// startDemoSimulators runs one simulator per demo project in-process, each
// with demo data of its own (endpoint ids differ: another seed) and its
// CTS, and returns the demo's projects pointed at them: the first signs in
// with a freshly generated AK/SK, the second as an IAM user whose token the
// console obtains from its simulator's IAM and renews.
func startDemoSimulators(cfg *config.Config, logger *slog.Logger) (*projects.Config, []*vpcepsim.Server, func(), error) {
	var (
		sims      []*vpcepsim.Server
		upstreams []projects.DemoUpstream
		servers   []*http.Server
	)
	stop := func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
	}
	for i, d := range projects.DemoProjects {
		seed := uint64(i + 1)
		endpoints := vpcepsim.RegionDemoEndpoints(d.Region, seed, time.Now())
		if cfg.DemoEndpoints > 0 {
			endpoints = vpcepsim.RegionGeneratedEndpoints(d.Region, seed, cfg.DemoEndpoints, time.Now())
		}
		ak, sk := vpcepsim.NewCredentials()
		opts := vpcepsim.Options{ProjectID: d.ProjectID, Endpoints: endpoints}
		cred := projects.Credentials{Kind: projects.CredentialAKSK, AK: projects.Secret(ak), SK: projects.Secret(sk)}
		if i == 1 {
			user := vpcepsim.IAMUser{Name: "console-demo", Password: sk, Domain: "demo"}
			opts.IAM = vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{user}, ProjectName: d.Region, TokenLifetime: demoTokenLifetime}
			cred = projects.Credentials{Kind: projects.CredentialIAMUser,
				IAMUser: projects.IAMUser{Name: user.Name, Password: projects.Secret(user.Password), Domain: user.Domain}}
		} else {
			opts.AK, opts.SK = ak, sk
		}
		sim := vpcepsim.New(opts)
		url, srv, err := vpcepsim.Listen(sim, "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, nil, fmt.Errorf("demo simulator: %w", err)
		}
		sims, servers = append(sims, sim), append(servers, srv)
		upstreams = append(upstreams, projects.DemoUpstream{Endpoint: url, IAMEndpoint: url, Credentials: cred})
		logger.Info("demo mode: serving a built-in VPCEP simulator", "project", d.Name, "region", d.Region,
			"url", url, "endpoints", len(endpoints), "credentials", cred)
	}
	pcfg, err := projects.Demo(upstreams...)
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	for i := range pcfg.Projects {
		pcfg.Projects[i].CTSEndpoint = upstreams[i].Endpoint // each simulator serves its project's CTS
	}
	cfg.CTSEnabled = true
	return pcfg, sims, stop, nil
}

// demoDrift shows a new user drift detection in project p. Its simulator
// is new at every start, but the database is the last run's: first the
// simulator takes up the policies the audit log last saw (as the cloud
// would have kept them), so a restart is no drift; then, when none of its
// endpoints is drifted, one policy is changed as if by Terraform from
// elsewhere, after a refresh has recorded what the console knows. The
// refresh at start finds it, and the simulator's CTS names who did it.
func demoDrift(ctx context.Context, p *app.Project, sim *vpcepsim.Server, logger *slog.Logger) error {
	eps := sim.Endpoints()
	ids := make([]string, len(eps))
	mine := make(map[string]bool, len(eps))
	for i, ep := range eps {
		ids[i] = ep.ID
		mine[ep.ID] = true
	}
	seen, err := p.Drift.LastSeen(ctx, ids)
	if err != nil {
		return fmt.Errorf("demo %s: %w", p.Name, err)
	}
	for _, ep := range eps {
		raw, ok := seen[ep.ID]
		if !ok {
			continue
		}
		var statements []vpcepsim.Statement
		if err := json.Unmarshal(raw, &statements); err != nil {
			return fmt.Errorf("demo %s: the last policy seen on %s: %w", p.Name, ep.ID, err)
		}
		ep.Statements = statements
		sim.PutEndpoint(ep)
	}
	drifted, err := p.Drift.DriftedIDs(ctx)
	if err != nil {
		return err
	}
	for id := range drifted {
		if mine[id] { // an open drift of this project's
			return nil
		}
	}
	if err := p.Refresher.Refresh(ctx, inventory.TriggerStartup); err != nil {
		return fmt.Errorf("demo %s: first refresh: %w", p.Name, err)
	}
	id, err := vpcepsim.DemoOutOfBand(sim)
	if err != nil {
		return fmt.Errorf("demo %s: %w", p.Name, err)
	}
	logger.Info("demo mode: changed one policy outside the console, as Terraform would", "project", p.Name, "endpoint", id,
		"user", vpcepsim.DemoOutOfBandUser)
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/app"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestMain finds the test server (and stops a container it started). Each
// test makes a database of its own, so that all of them run in parallel.
// oneProject is the single project of cfg, reached through client: a
// console configured by the single-project variables.
func oneProject(cfg config.Config, client *vpcep.Client) []app.ProjectUpstream {
	return []app.ProjectUpstream{{Name: projects.DefaultName, Region: cfg.Region, ProjectID: cfg.ProjectID, Client: client}}
}

func TestMain(m *testing.M) {
	os.Exit(proctest.Main(func() int { return testdb.Main(m, nil) }))
}

const project = simtest.ProjectID

// wire builds a console from cfg on a database of its own, against a
// simulator serving n generated endpoints.
func wire(t testing.TB, cfg config.Config, n int) *app.Console {
	t.Helper()
	up := simtest.Start(t, simtest.Options{Endpoints: vpcepsim.GeneratedEndpoints(1, n, time.Now())})
	client := up.Client(t, func(c *vpcep.Config) { c.Timeout = cfg.Timeout })
	pool := testdb.Pool(t, testdb.Migrated(t))
	migrator, err := store.NewMigrator(pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrator.Close() })
	return app.New(cfg.WithDefaults(), pool, oneProject(cfg, client), migrator, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestNewWiresThePartsFromTheConfig(t *testing.T) {
	t.Parallel()
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	cfg := config.Config{
		ProjectID: project, Region: "cn-north-4", Timeout: 5 * time.Second, RefreshInterval: 2 * time.Minute,
		SessionIdle: 10 * time.Minute, SessionLifetime: time.Hour, CookieSecure: true,
		TrustedProxies: []*net.IPNet{proxies}, TLSCert: "c.pem", TLSKey: "k.pem",
	}
	c := wire(t, cfg, 1)

	// A change may take both upstream calls' timeouts and 15s more.
	if got, want := c.Applier.Deadline(), 25*time.Second; got != want {
		t.Errorf("Applier.Deadline() = %v, want %v", got, want)
	}
	if got := c.Refresher.Interval(); got != cfg.RefreshInterval {
		t.Errorf("Refresher.Interval() = %v, want %v", got, cfg.RefreshInterval)
	}
	d := c.Deps
	hp := d.Projects[0]
	if d.Store != c.Store || d.Audit != c.Audit || hp.Applier != c.Applier || hp.Refresher != c.Refresher || d.Auth != c.Auth {
		t.Error("the handlers' dependencies are not the console's own parts")
	}
	if hp.Upstream == nil || d.Schema == nil || d.Logger == nil {
		t.Error("the handlers' dependencies lack the upstream, the schema check or the logger")
	}

	type settings struct {
		Sessions          auth.SessionConfig
		CookieSecure, TLS bool
		TrustedProxies    []string
		ProjectID, Region string
		Demo              bool
	}
	got := settings{Sessions: d.Sessions, CookieSecure: d.CookieSecure, TLS: d.TLS,
		ProjectID: hp.ProjectID, Region: hp.Region, Demo: d.Demo}
	for _, n := range d.TrustedProxies {
		got.TrustedProxies = append(got.TrustedProxies, n.String())
	}
	want := settings{Sessions: auth.SessionConfig{Idle: 10 * time.Minute, Absolute: time.Hour},
		CookieSecure: true, TLS: true, TrustedProxies: []string{"10.0.0.0/8"}, ProjectID: project, Region: "cn-north-4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("handler settings mismatch (-want +got):\n%s", diff)
	}
	_ = handlers.New(d) // the dependencies are complete enough to build the handler
}

func TestStartRefreshesTheInventoryAtOnce(t *testing.T) {
	t.Parallel()
	c := wire(t, config.Config{ProjectID: project, Region: "cn-north-4", Timeout: 5 * time.Second, RefreshInterval: time.Hour}, 12)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)

	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := c.Store.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 12 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventory holds %d endpoints 10s after Start, want 12", page.Total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

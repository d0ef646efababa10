package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
)

// BenchmarkPages serves the pages of issue 11 in-process, signed in, over a
// 10,000-endpoint inventory: what a request costs the console itself (its
// CPU, its database round trips), without the network or a load generator.
// Profile it with
//
//	go test -run '^$' -bench Pages -cpuprofile cpu.out ./internal/app && go tool pprof -top app.test cpu.out
func BenchmarkPages(b *testing.B) {
	c := wire(b, config.Config{ProjectID: project, Region: "cn-north-4", Timeout: 30 * time.Second, RefreshInterval: time.Hour}, 10000)
	ctx := context.Background()
	if err := c.Refresher.Refresh(ctx, inventory.TriggerStartup); err != nil {
		b.Fatal(err)
	}
	a, err := c.Auth.CreateAccount(ctx, "bench", "bench-password-not-secret", auth.Viewer)
	if err != nil {
		b.Fatal(err)
	}
	session, err := c.Auth.StartSession(ctx, a.ID)
	if err != nil {
		b.Fatal(err)
	}
	// As `web serve` runs it: the inventory read from memory.
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go c.Store.WatchInventory(watchCtx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for !c.Store.InventoryInMemory() {
		time.Sleep(10 * time.Millisecond)
	}
	h := handlers.New(c.Deps)
	// The read model is loaded by its first reader: loaded here, so that
	// no page's figures include it.
	warm := httptest.NewRequest(http.MethodGet, "/endpoints", nil)
	warm.AddCookie(&http.Cookie{Name: "session", Value: session})
	h.ServeHTTP(httptest.NewRecorder(), warm)
	for _, bc := range []struct{ path, encoding string }{
		{"/healthz", ""}, {"/endpoints", ""}, {"/endpoints?q=payments&type=interface", ""}, {"/endpoints?page=150", ""},
		{"/api/v1/endpoints?limit=100", ""},
		// As a browser asks for them: compressed.
		{"/endpoints", "gzip"}, {"/api/v1/endpoints?limit=100", "gzip"},
	} {
		name := bc.path
		if bc.encoding != "" {
			name += " " + bc.encoding
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, bc.path, nil)
				req.AddCookie(&http.Cookie{Name: "session", Value: session})
				if bc.encoding != "" {
					req.Header.Set("Accept-Encoding", bc.encoding)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != bc.encoding {
					b.Fatalf("GET %s answered %d, encoded %q", bc.path, rec.Code, rec.Header().Get("Content-Encoding"))
				}
			}
		})
	}
}

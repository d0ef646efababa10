package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// BenchmarkEndpointsPage measures warm loads of /endpoints over a
// 10,000-endpoint inventory: the plain first page, a text search, a deep
// page and an htmx fragment.
func BenchmarkEndpointsPage(b *testing.B) {
	a := newApp(&testing.T{}, withDB(testdb.Migrated(b)), withEndpoints(vpcepsim.GeneratedEndpoints(1, 10000, time.Now())))
	if err := a.refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, target string }{
		{"first-page", "/endpoints"},
		{"search", "/endpoints?q=payments&type=interface"},
		{"page-150", "/endpoints?page=150"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				a.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, bc.target, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkRefresh10k measures one inventory refresh of 10,000 endpoints:
// ten upstream pages over HTTP, then the replace in Postgres.
func BenchmarkRefresh10k(b *testing.B) {
	a := newApp(&testing.T{}, withDB(testdb.Migrated(b)), withEndpoints(vpcepsim.GeneratedEndpoints(1, 10000, time.Now())))
	for b.Loop() {
		if err := a.refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			b.Fatal(err)
		}
	}
}

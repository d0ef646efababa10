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
	a := newApp(b, withDB(testdb.Migrated(b)), withEndpoints(vpcepsim.GeneratedEndpoints(1, 10000, time.Now())))
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
				rec := a.send(httptest.NewRequest(http.MethodGet, bc.target, nil), nil)
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
	a := newApp(b, withDB(testdb.Migrated(b)), withEndpoints(vpcepsim.GeneratedEndpoints(1, 10000, time.Now())))
	for b.Loop() {
		if err := a.refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditPage measures /audit over 1,000,000 entries: the newest
// page, a page deep in the log (keyset: as cheap as the first), and a
// filtered page. The entries are written straight into the table.
func BenchmarkAuditPage(b *testing.B) {
	a := newApp(b, withDB(testdb.Migrated(b)))
	ctx := context.Background()
	const n = 1_000_000
	start := time.Now()
	if _, err := a.pool.Exec(ctx, `
		INSERT INTO audit_entries (id, started_at, actor, project_id, region, endpoint_id, endpoint_service_name,
			action, reason, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, response_status,
			request_id, duration_ms, final_hash)
		SELECT g, now() - (($1 - g) || ' seconds')::interval, 'admin-' || (g % 7), 'p1', 'cn-north-4',
			'ep-' || (g % 500), 'com.myhuaweicloud.cn-north-4.obs', 'update', 'bulk change ' || g,
			'[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]',
			'[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]',
			md5(g::text), md5((g + 1)::text), CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'succeeded' END,
			now(), 200, md5(g::text), 40, md5(g::text)
		FROM generate_series(1, $1) g`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), $1)`, n); err != nil {
		b.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `VACUUM ANALYZE audit_entries`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d entries in %s", n, time.Since(start).Round(time.Second))
	for _, bc := range []struct{ name, target string }{
		{"newest", "/audit"},
		{"deep", "/audit?cursor=1000"},
		{"endpoint-filter", "/audit?endpoint=ep-42"},
		{"endpoint-filter-deep", "/audit?endpoint=ep-42&cursor=5000"},
		{"actor-and-outcome", "/audit?actor=admin-3&outcome=failed"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rec := a.send(httptest.NewRequest(http.MethodGet, bc.target, nil), nil)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

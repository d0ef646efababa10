package audit_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// benchEntries is how many entries the search benchmarks load.
const benchEntries = 1_000_000

// loadEntries bulk-loads n entries into pool in one INSERT ... SELECT
// (hashes aside: only reading is measured), shaped like a busy log: 10,000
// endpoints, 200 actors in mixed case, mostly successes, reasons of ticket
// numbers and words from common to rare, a note on one entry in twenty.
func loadEntries(b *testing.B, pool *pgxpool.Pool, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	_, err := pool.Exec(ctx, `
		WITH words AS (SELECT ARRAY['update', 'widen', 'narrow', 'access', 'logs', 'bucket', 'payments', 'team',
			'rollback', 'outage', 'audit', 'quarterly', 'review', 'migration', 'backup', 'restore', 'partner',
			'analytics', 'archive', 'compliance', 'incident', 'hotfix', 'vendor', 'contractor', 'sandbox',
			'staging', 'production', 'retention', 'encryption', 'lifecycle', 'replication', 'failover',
			'kafka', 'spark', 'flink', 'grafana', 'prometheus', 'loki', 'tempo', 'jaeger'] AS w)
		INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id, endpoint_service_name,
			action, reason, policy_before, policy_requested, prev_hash, hash, outcome, finished_at,
			response_status, duration_ms, note, final_hash, format_version)
		SELECT now() - (($1 - i) * interval '3 seconds'),
			CASE WHEN i % 3 = 0 THEN initcap('user' || (i * 7919 % 200)) ELSE 'user' || (i * 7919 % 200) END,
			'0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e', 'cn-north-4',
			md5((i * 104729 % 10000)::text), 'com.myhuaweicloud.cn-north-4.obs',
			'update',
			'ticket OPS-' || (i % 50000) || ': ' || w[1 + (i % 5)] || ' ' || w[1 + ((i * 31) % 40 * (i * 17) % 40) % 40]
				|| CASE WHEN i % 997 = 0 THEN ' zebra' ELSE '' END,
			'[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]',
			'[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]',
			repeat('0', 64), md5(i::text) || md5((i + 1)::text),
			CASE WHEN i % 50 = 0 THEN 'unknown' WHEN i % 13 = 0 THEN 'failed' ELSE 'succeeded' END,
			now() - (($1 - i) * interval '3 seconds') + interval '120 milliseconds', 200, 120,
			CASE WHEN i % 20 = 0 THEN 'settled by the reconciler after a restart' END,
			md5((i + 2)::text) || md5((i + 3)::text), 2
		FROM generate_series(1::bigint, $1::bigint) i, words`, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE audit_entries`); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d entries in %v", n, time.Since(start).Round(time.Millisecond))
}

// benchPool is a database of its own holding benchEntries entries; or,
// when AUDIT_BENCH_DATABASE_URL names a benchmark-only database (a migrated
// one this benchmark may fill), that one, loaded once and kept, so a rerun
// of one sub-benchmark does not wait for the load again.
func benchPool(b *testing.B) *pgxpool.Pool {
	b.Helper()
	url := os.Getenv("AUDIT_BENCH_DATABASE_URL")
	if url == "" {
		url = testdb.Migrated(b)
	}
	pool := testdb.Pool(b, url)
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_entries`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n < benchEntries {
		loadEntries(b, pool, benchEntries-n)
	}
	return pool
}

// reportLatency runs op b.N times and reports its p50 and p99 in
// milliseconds: a page's latency, not only its mean, is what a person feels.
func reportLatency(b *testing.B, op func() error) {
	b.Helper()
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[min(len(samples)-1, int(q*float64(len(samples))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSearch measures an /audit page's two queries (the newest page
// of 50 and the count) at a million entries, for each kind of filter.
// Run: go test -run '^$' -bench BenchmarkSearch -benchtime 300x ./internal/audit/
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	log := audit.New(benchPool(b))
	var prefix string
	if err := log.Each(ctx, audit.Filter{}, func(e *audit.Entry) error { prefix = e.EndpointID; return io.EOF }); err != io.EOF {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		f    audit.Filter
	}{
		{"newest", audit.Filter{}},
		{"actor+outcome", audit.Filter{Actor: "USER17", Outcome: audit.OutcomeFailed}},
		{"endpoint-prefix-3", audit.Filter{EndpointPrefix: prefix[:3]}},
		{"endpoint-prefix-1", audit.Filter{EndpointPrefix: prefix[:1]}},
		{"endpoint-whole", audit.Filter{EndpointPrefix: prefix}},
		{"q-common", audit.Filter{Text: "update"}},
		{"q-mid", audit.Filter{Text: "grafana"}},
		{"q-rare", audit.Filter{Text: "zebra"}},
		{"q-ticket", audit.Filter{Text: "OPS-4242"}},
		{"q-two-words", audit.Filter{Text: "payments kafka"}},
		{"q-none", audit.Filter{Text: "nothingmatches"}},
		{"q+actor", audit.Filter{Text: "reconciler", Actor: "user17"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			reportLatency(b, func() error {
				if _, err := log.List(ctx, tt.f, "", 50); err != nil {
					return err
				}
				_, _, err := log.Count(ctx, tt.f)
				return err
			})
		})
	}
	b.Run("export-csv", func(b *testing.B) { benchmarkExportCSV(b, log) })
}

// BenchmarkSearchCached is BenchmarkSearch as a replica serves /audit: the
// log listens for changes (Log.Watch), so a page and a count asked before
// in the same generation come from memory. The first view of each filter
// reads the database (that is BenchmarkSearch); every later one until the
// next change is what this measures.
// Run: go test -run '^$' -bench BenchmarkSearchCached -benchtime 3000x ./internal/audit/
func BenchmarkSearchCached(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := audit.New(benchPool(b))
	go log.Watch(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for !log.Caching() {
		time.Sleep(10 * time.Millisecond)
	}
	for _, tt := range []struct {
		name string
		f    audit.Filter
	}{
		{"newest", audit.Filter{}},
		{"actor+outcome", audit.Filter{Actor: "USER17", Outcome: audit.OutcomeFailed}},
		{"q-common", audit.Filter{Text: "update"}},
		{"q+actor", audit.Filter{Text: "reconciler", Actor: "user17"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			reportLatency(b, func() error {
				if _, err := log.List(ctx, tt.f, "", 50); err != nil {
					return err
				}
				_, _, err := log.Count(ctx, tt.f)
				return err
			})
		})
	}
}

// benchmarkExportCSV streams every entry as CSV rows, as /audit.csv does,
// and reports rows a second and the most heap in use while it ran.
func benchmarkExportCSV(b *testing.B, log *audit.Log) {
	ctx := context.Background()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	rows := 0
	b.ResetTimer()
	for range b.N {
		w := csv.NewWriter(bufio.NewWriterSize(io.Discard, 64<<10)) // as /audit.csv writes
		var record []string
		err := log.Each(ctx, audit.Filter{}, func(e *audit.Entry) error {
			rows++
			record = e.AppendCSVRecord(record)
			return w.Write(record)
		})
		w.Flush()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(done)
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

package drift_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// BenchmarkRefreshDetection refreshes a 10,000-endpoint inventory from the
// simulator over HTTP, into two databases: one refresher without drift
// detection, one with it, taking turns so that both see the same load on
// a shared machine. It reports the median refresh of each (ms), in the
// steady state (no policy changed) and with 100 policies changed outside
// the console before each refresh (100 drifts recorded per refresh), and
// the first refresh with detection (every editable endpoint baselined).
//
//	go test -run '^$' -bench RefreshDetection -benchtime 10x ./internal/drift
func BenchmarkRefreshDetection(b *testing.B) {
	ctx := context.Background()
	sim := simtest.Start(b, simtest.Options{Endpoints: vpcepsim.GeneratedEndpoints(1, 10000, time.Now())})
	client := sim.Client(b, nil)
	plain := inventory.NewRefresher(client, store.New(testdb.Pool(b, testdb.Migrated(b))), time.Hour, discard())
	pool := testdb.Pool(b, testdb.Migrated(b))
	detector := drift.New(pool, audit.New(pool), drift.Config{Upstream: client}, discard())
	detecting := inventory.NewRefresher(client, store.New(pool), time.Hour, discard())
	detecting.SetDriftDetector(func(ctx context.Context, since time.Time) error {
		_, err := detector.DetectInventory(ctx, since)
		return err
	})

	refresh := func(r *inventory.Refresher) time.Duration {
		started := time.Now()
		if err := r.Refresh(ctx, inventory.TriggerManual); err != nil {
			b.Fatal(err)
		}
		return time.Since(started)
	}
	refresh(plain)
	first := refresh(detecting)

	var editable []string
	for _, ep := range sim.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) > 0 {
			editable = append(editable, ep.ID)
		}
	}
	b.Logf("%d endpoints, %d editable", len(sim.Endpoints()), len(editable))
	round := 0
	changeSome := func() {
		for i := range 100 {
			ep, _ := sim.Endpoint(editable[(round*100+i)%len(editable)])
			ep.Statements = []vpcepsim.Statement{{Effect: "Allow", Action: []string{"obs:object:GetObject"},
				Resource: []string{"obs:*:*:object:bench-" + strconv.Itoa(round) + "/*"}}}
			sim.PutEndpoint(ep)
		}
		round++
	}
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	// What the store adds to every refresh for detection, with or without
	// a detector: the fingerprint of each editable endpoint's policy.
	var statements []policy.Policy
	for _, ep := range sim.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind {
			statements = append(statements, sim.Live(b, ep.ID))
		}
	}
	fpStarted := time.Now()
	for _, p := range statements {
		policy.Fingerprint(p)
	}
	fingerprints := time.Since(fpStarted)

	var steadyPlain, steadyDetect, changedPlain, changedDetect []time.Duration
	both := func(plainOut, detectOut *[]time.Duration, plainFirst bool) {
		if plainFirst {
			*plainOut = append(*plainOut, refresh(plain))
			*detectOut = append(*detectOut, refresh(detecting))
			return
		}
		*detectOut = append(*detectOut, refresh(detecting))
		*plainOut = append(*plainOut, refresh(plain))
	}
	for b.Loop() {
		both(&steadyPlain, &steadyDetect, round%2 == 0) // taking turns at going first
		changeSome()
		both(&changedPlain, &changedDetect, round%2 == 0)
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-detect-ms")
	b.ReportMetric(float64(fingerprints.Microseconds())/1000, "fingerprints-ms")
	b.ReportMetric(median(steadyPlain), "steady-plain-ms")
	b.ReportMetric(median(steadyDetect), "steady-detect-ms")
	b.ReportMetric(median(changedPlain), "100changed-plain-ms")
	b.ReportMetric(median(changedDetect), "100changed-detect-ms")
	b.ReportMetric(0, "ns/op")
}

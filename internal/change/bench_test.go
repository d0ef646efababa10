package change_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// timedUpstream adds up the time spent in upstream calls.
type timedUpstream struct {
	inner change.Upstream
	mu    sync.Mutex
	spent time.Duration
}

func (u *timedUpstream) GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error) {
	start := time.Now()
	defer u.add(start)
	return u.inner.GetEndpoint(ctx, id)
}

func (u *timedUpstream) UpdatePolicy(ctx context.Context, id string, s []vpcep.PolicyStatement) (*vpcep.Endpoint, error) {
	start := time.Now()
	defer u.add(start)
	return u.inner.UpdatePolicy(ctx, id, s)
}

func (u *timedUpstream) add(start time.Time) {
	u.mu.Lock()
	u.spent += time.Since(start)
	u.mu.Unlock()
}

func (u *timedUpstream) take() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	d := u.spent
	u.spent = 0
	return d
}

// BenchmarkApplyOverhead measures what the console adds to an update on top
// of the upstream calls (live read, PUT, read-back): validation, the lock,
// the write-ahead entry and the finalise, and, as the console is deployed
// ("deployed"), the drift check under the lock and the inventory's copy of
// the endpoint; "bare" is the change path alone. Each reports the p50 and
// p99 of that overhead per change.
func BenchmarkApplyOverhead(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchmarkApplyOverhead(b, false) })
	b.Run("deployed", func(b *testing.B) { benchmarkApplyOverhead(b, true) })
}

func benchmarkApplyOverhead(b *testing.B, deployed bool) {
	f := newFixture(b)
	upstream := &timedUpstream{inner: f.client}
	cfg := change.Config{ProjectID: "p1", Region: "r", Deadline: 10 * time.Second}
	if deployed {
		st := store.New(f.pool)
		detector := drift.New(f.pool, f.log, drift.Config{ProjectID: "p1", Region: "r", Upstream: f.client}, discard())
		refresher := inventory.NewRefresher(f.client, st, time.Hour, discard())
		refresher.SetDriftDetector(func(ctx context.Context, since time.Time) error {
			_, err := detector.DetectInventory(ctx, since)
			return err
		})
		if err := refresher.Refresh(context.Background(), inventory.TriggerManual); err != nil {
			b.Fatal(err)
		}
		cfg.Inventory, cfg.Drift = st, detector
	}
	applier := change.NewApplier(upstream, f.log, f.pool, cfg, discard())
	var overheads []time.Duration
	i := 0
	for b.Loop() {
		i++
		p := policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{fmt.Sprintf("obs:*:*:object:bucket-%d/*", i)}}}
		upstream.take()
		start := time.Now()
		_, err := applier.Apply(context.Background(), change.Request{Actor: "bench", EndpointID: f.gateway.ID, Policy: p, Reason: "bench", Action: audit.ActionUpdate})
		total := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		overheads = append(overheads, total-upstream.take())
	}
	sort.Slice(overheads, func(i, j int) bool { return overheads[i] < overheads[j] })
	pct := func(q float64) float64 {
		return float64(overheads[min(len(overheads)-1, int(float64(len(overheads))*q))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "overhead-p50-ms")
	b.ReportMetric(pct(0.99), "overhead-p99-ms")
}

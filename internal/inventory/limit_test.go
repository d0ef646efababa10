package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// upstreamGate counts the refreshes reading an upstream at once: each
// reader stays inside until the test lets one out.
type upstreamGate struct {
	inside, peak atomic.Int32
	out          chan struct{} // each value lets one reader finish its listing
}

// newGate returns a gate that lets every reader out when t ends, so that
// a failed test leaves no refresh holding the database's connections.
func newGate(t *testing.T) *upstreamGate {
	g := &upstreamGate{out: make(chan struct{})}
	t.Cleanup(func() { close(g.out) })
	return g
}

// lister is project's upstream behind the gate: one page of one endpoint.
func (g *upstreamGate) lister(project string) inventory.Lister {
	return gatedLister{g, project}
}

type gatedLister struct {
	gate    *upstreamGate
	project string
}

func (l gatedLister) EndpointPages(vpcep.ListOptions) func(context.Context) ([]vpcep.Endpoint, error) {
	done := false
	return func(ctx context.Context) ([]vpcep.Endpoint, error) {
		if done {
			return nil, nil
		}
		done = true
		g := l.gate
		n := g.inside.Add(1)
		defer g.inside.Add(-1)
		for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
		}
		select {
		case <-g.out:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []vpcep.Endpoint{{ID: "ep-" + l.project, ServiceName: "svc", ServiceType: "interface", Status: "accepted"}}, nil
	}
}

// eventually waits (10 s at most) for cond, which other goroutines make true.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
	}
}

// Refreshers of several projects sharing a Limit of 2 never read more than
// two upstreams at once; the others wait their turn rather than fail as busy.
func TestLimitBoundsConcurrentRefreshes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gate := newGate(t)
	limit := inventory.NewLimit(2)
	const n = 5
	errs := make(chan error, n)
	var stores []*store.Store
	for i := range n {
		project := fmt.Sprintf("project-%d", i)
		st := store.NewProject(pool, project)
		stores = append(stores, st)
		r := inventory.NewRefresher(gate.lister(project), st, time.Minute, logger)
		r.SetLimit(limit)
		go func() { errs <- r.Refresh(ctx, inventory.TriggerManual) }()
	}
	// Let one reader out at a time, each time once every refresher is
	// accounted for: two reading, the rest waiting for a slot.
	for remaining := n; remaining > 0; remaining-- {
		reading := min(2, remaining)
		eventually(t, fmt.Sprintf("%d reading and %d waiting", reading, remaining-reading), func() bool {
			return gate.inside.Load() == int32(reading) && limit.Waiting() == remaining-reading
		})
		gate.out <- struct{}{}
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("refresh: %v", err)
		}
	}
	if peak := gate.peak.Load(); peak != 2 {
		t.Errorf("at most %d upstreams were read at once, want 2", peak)
	}
	for _, st := range stores {
		if page, err := st.ListInventory(ctx, store.InventoryFilter{PerPage: 10}); err != nil || page.Total != 1 || page.Endpoints[0].ID != "ep-"+st.Project() {
			t.Errorf("%s's inventory: %+v, %v", st.Project(), page, err)
		}
	}
}

// A refresh waiting for a slot gives up when its context ends, and records
// nothing: it never read the upstream.
func TestRefreshWaitingForASlotHonoursItsContext(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t, testdb.Migrated(t))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	gate := newGate(t)
	limit := inventory.NewLimit(1)
	reading := inventory.NewRefresher(gate.lister("a"), store.NewProject(pool, "a"), time.Minute, logger)
	reading.SetLimit(limit)
	done := make(chan error, 1)
	go func() { done <- reading.Refresh(context.Background(), inventory.TriggerManual) }()
	eventually(t, "the first refresh reads its upstream", func() bool { return gate.inside.Load() == 1 })

	waitingStore := store.NewProject(pool, "b")
	waiting := inventory.NewRefresher(gate.lister("b"), waitingStore, time.Minute, logger)
	waiting.SetLimit(limit)
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { waited <- waiting.Refresh(ctx, inventory.TriggerManual) }()
	eventually(t, "the second refresh waits for a slot", func() bool { return limit.Waiting() == 1 })
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) || errors.Is(err, inventory.ErrBusy) {
		t.Errorf("a refresh cancelled while waiting = %v, want context.Canceled", err)
	}
	if st, err := waitingStore.RefreshState(context.Background()); err != nil || st.Last != nil {
		t.Errorf("a refresh that never started was recorded: %+v, %v", st.Last, err)
	}
	gate.out <- struct{}{}
	if err := <-done; err != nil {
		t.Errorf("the first refresh: %v", err)
	}
}

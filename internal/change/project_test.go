package change_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// Two projects on one database, each with its own upstream and its own
// Reconciler: each settles only its project's pending entries. A
// Reconciler asking its upstream about the other project's endpoint would
// be told it does not exist, and settle the entry as unknown.
func TestReconcilerSettlesOnlyItsProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	log := audit.New(pool)
	type project struct {
		id         string
		sim        *simtest.Upstream
		reconciler *change.Reconciler
		gateway    *vpcepsim.Endpoint
		entry      *audit.Entry
	}
	projects := []*project{{id: "aaaa0000aaaa0000aaaa0000aaaa0000"}, {id: "bbbb1111bbbb1111bbbb1111bbbb1111"}}
	for i, p := range projects {
		// Seeded apart, so the two upstreams' endpoint ids differ.
		p.sim = simtest.Start(t, simtest.Options{Endpoints: vpcepsim.DemoEndpoints(uint64(i+1), time.Now().Add(-time.Hour))})
		client := p.sim.Client(t, nil)
		p.reconciler = change.NewReconciler(client, log, pool, 0, discard())
		p.reconciler.SetProject(p.id)
		p.gateway = p.sim.Gateway(t, 2)
		// A crash after the PUT: the upstream holds the requested policy.
		var err error
		p.entry, err = log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: p.id, Region: "r", EndpointID: p.gateway.ID,
			EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "r",
			PolicyBefore: policy.JSON(p.sim.Live(t, p.gateway.ID)), PolicyRequested: policy.JSON(readOnly("a"))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.UpdatePolicy(ctx, p.gateway.ID, readOnly("a")); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range projects {
		if n, err := p.reconciler.Once(ctx); err != nil || n != 1 {
			t.Fatalf("project %d: Once = %d, %v; want 1 settled", i, n, err)
		}
		for j, q := range projects {
			got, err := log.Get(ctx, q.entry.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := audit.OutcomePending
			if j <= i {
				want = audit.OutcomeSucceeded
			}
			if got.Outcome != want {
				t.Errorf("after project %d's reconciler: project %d's entry is %s (%q), want %s", i, j, got.Outcome, got.Note, want)
			}
		}
	}
	// "" is every project's, as with one project: nothing is left
	// pending now, and a crash in each project leaves one entry apiece,
	// which it settles both.
	all := change.NewReconciler(projects[0].sim.Client(t, nil), log, pool, 0, discard())
	if n, err := all.Once(ctx); err != nil || n != 0 {
		t.Errorf("nothing left pending: Once = %d, %v", n, err)
	}
	for _, p := range projects {
		if _, err := log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: p.id, Region: "r", EndpointID: p.gateway.ID,
			EndpointServiceName: "obs", Action: audit.ActionUpdate, Reason: "crashed before the PUT",
			PolicyBefore: policy.JSON(readOnly("a")), PolicyRequested: policy.JSON(readOnly("b"))}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := all.Once(ctx); err != nil || n != 2 {
		t.Errorf("one pending entry in each project: Once = %d, %v; want both settled", n, err)
	}
}

package drift_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// askedCTS answers every question with no trace and keeps which endpoints
// it was asked about.
type askedCTS struct {
	mu    sync.Mutex
	asked []string
}

func (c *askedCTS) PolicyTraces(_ context.Context, endpointID string, _, _ time.Time) ([]cts.Trace, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, endpointID)
	return nil, nil
}

// Two projects, each with its upstream, its CTS and its Detector, on one
// database: each Detector compares only its project's inventory rows and
// asks its CTS only about its project's drifts. (It needs migration 00016,
// which adds inventory_endpoints.project.)
func TestDetectorsKeepToTheirProjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	log := audit.New(pool)
	type project struct {
		id, region string
		sim        *simtest.Upstream
		client     *vpcep.Client
		cts        *askedCTS
		detector   *drift.Detector
		editable   map[string]bool // endpoint ids
		gateway    string          // the endpoint that drifts
	}
	projects := []*project{
		{id: "aaaa0000aaaa0000aaaa0000aaaa0000", region: "cn-north-4"},
		{id: "bbbb1111bbbb1111bbbb1111bbbb1111", region: "ap-southeast-1"},
	}
	var all []vpcep.Endpoint
	ids := make([][]string, len(projects))
	for i, p := range projects {
		// Seeded apart, so the two upstreams' endpoint ids differ.
		p.sim = simtest.Start(t, simtest.Options{Endpoints: vpcepsim.DemoEndpoints(uint64(i+1), time.Now().Add(-time.Hour))})
		p.client, p.cts = p.sim.Client(t, nil), &askedCTS{}
		p.detector = drift.New(pool, log, drift.Config{ProjectID: p.id, Region: p.region, Upstream: p.client, CTS: p.cts,
			AttributeRetry: time.Microsecond}, discard())
		eps, err := p.client.ListAllEndpoints(ctx, vpcep.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.editable = map[string]bool{}
		for _, ep := range eps {
			ids[i] = append(ids[i], ep.ID)
			if ok, _ := change.Editable(&ep); ok {
				p.editable[ep.ID] = true
			}
		}
		all = append(all, eps...)
	}
	// Both inventories stored at once, then each row given its project, as
	// each project's store (store.NewProject) keeps it.
	if err := store.New(pool).ReplaceInventory(ctx, all, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, p := range projects {
		if _, err := pool.Exec(ctx, `UPDATE inventory_endpoints SET project = $1 WHERE id = ANY($2)`,
			p.id, ids[i]); err != nil {
			t.Fatal(err)
		}
	}

	// projectOf is, per endpoint with entries, the projects and regions its
	// entries name.
	projectOf := func() map[string]string {
		out := map[string]string{}
		if err := log.Each(ctx, audit.Filter{}, func(e *audit.Entry) error {
			if prev, ok := out[e.EndpointID]; ok && prev != e.ProjectID+" "+e.Region {
				t.Errorf("endpoint %s has entries in %s and in %s %s", e.EndpointID, prev, e.ProjectID, e.Region)
			}
			out[e.EndpointID] = e.ProjectID + " " + e.Region
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := map[string]string{}
	for i, p := range projects {
		sum, err := p.detector.DetectInventory(ctx, time.Time{})
		if err != nil || sum.Baselines != len(p.editable) || sum.Failed != 0 {
			t.Fatalf("project %d: DetectInventory = %+v, %v; want %d baselines", i, sum, err, len(p.editable))
		}
		for id := range p.editable {
			want[id] = p.id + " " + p.region
		}
		if diff := cmp.Diff(want, projectOf()); diff != "" {
			t.Fatalf("after project %d's pass, the baselines' projects (-want +got):\n%s", i, diff)
		}
	}

	// A drift in each project; each Detector asks its CTS about its own.
	for _, p := range projects {
		p.gateway = p.sim.Gateway(t, 2).ID
		ep, ok := p.sim.Endpoint(p.gateway)
		if !ok {
			t.Fatal("no gateway")
		}
		ep.Statements = []vpcepsim.Statement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}}}
		p.sim.PutEndpoint(ep)
		live, err := p.client.GetEndpoint(ctx, p.gateway)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := p.detector.Observe(ctx, live, drift.ByDetail); err != nil || st.Drift == nil {
			t.Fatalf("Observe = %+v, %v", st, err)
		}
	}
	for i, p := range projects {
		drifted, err := p.detector.DriftedIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := drifted[p.gateway]; !ok || len(drifted) != 1 {
			t.Errorf("project %d: DriftedIDs = %v, want only its gateway %s", i, drifted, p.gateway)
		}
		if n, err := p.detector.AttributePass(ctx); err != nil || n != 1 {
			t.Errorf("project %d: AttributePass = %d, %v; want its one drift", i, n, err)
		}
		if diff := cmp.Diff([]string{p.gateway}, p.cts.asked); diff != "" {
			t.Errorf("project %d's CTS was asked about (-want +got):\n%s", i, diff)
		}
	}
	// The drift and attribute entries name their project and region too.
	if diff := cmp.Diff(want, projectOf()); diff != "" {
		t.Errorf("the entries' projects (-want +got):\n%s", diff)
	}
	if r, err := log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

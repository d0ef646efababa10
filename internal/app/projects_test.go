package app_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// twoProjects wires a console serving two projects in two regions, each
// with n generated endpoints at a simulator of its own.
func twoProjects(t testing.TB, n int) *testapp.Console {
	t.Helper()
	now := time.Now()
	return testapp.New(t, testapp.Options{Projects: []testapp.ProjectOptions{
		{Name: "beijing", Region: "cn-north-4", Endpoints: vpcepsim.GeneratedEndpoints(1, n, now)},
		{Name: "singapore", Region: "ap-southeast-1", Endpoints: vpcepsim.RegionGeneratedEndpoints("ap-southeast-1", 2, n, now)},
	}})
}

// peakMemory samples the process's heap in use and resident set until
// stop is called, which returns their peaks (bytes).
func peakMemory() (stop func() (heap, rss uint64)) {
	done := make(chan struct{})
	var (
		wg             sync.WaitGroup
		peakHeap, pRSS uint64
		ms             runtime.MemStats
		sample         = func() {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			pRSS = max(pRSS, residentBytes())
		}
	)
	sample()
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				sample()
			case <-done:
				sample()
				return
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return peakHeap, pRSS
	}
}

// residentBytes is the process's resident set (VmRSS), 0 where /proc has
// none.
func residentBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

const mib = 1 << 20

// TestRefreshTwoProjectsOneFailing starts a console serving two projects
// of 10,000 endpoints each, one of whose upstream answers every list with
// a 500: the healthy project's inventory is complete, the failing one's
// refresh state says how its upstream failed, and neither waited for the
// other. It logs the time and memory taken (the simulators run in this
// process: their memory is in the figures). Not parallel, so that the
// figures are this test's alone.
func TestRefreshTwoProjectsOneFailing(t *testing.T) {
	const n = 10000
	c := twoProjects(t, n)
	healthy, failing := c.Projects[0], c.Projects[1]
	failing.Sim.FailRoute(vpcepsim.RouteList, vpcepsim.Fault{Status: http.StatusInternalServerError, Code: "EndPoint.0500", Message: "internal error"})

	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		c.Wait()
	}()
	runtime.GC()
	stopSampling := peakMemory()
	start := time.Now()
	c.Start(ctx)

	var healthyAt, failedAt time.Duration
	for deadline := time.Now().Add(2 * time.Minute); healthyAt == 0 || failedAt == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after Start: healthy done after %v, failing recorded after %v", healthyAt, failedAt)
		}
		if healthyAt == 0 {
			if st, err := healthy.Store.RefreshState(ctx); err != nil {
				t.Fatal(err)
			} else if st.Last != nil && st.Last.Succeeded {
				healthyAt = time.Since(start)
			}
		}
		if failedAt == 0 {
			if st, err := failing.Store.RefreshState(ctx); err != nil {
				t.Fatal(err)
			} else if st.Last != nil {
				failedAt = time.Since(start)
			}
		}
	}
	heap, rss := stopSampling()
	t.Logf("2 x %d endpoints, one project failing: healthy refresh %v, failure recorded %v; peak heap in use %d MiB, peak RSS %d MiB",
		n, healthyAt.Round(time.Millisecond), failedAt.Round(time.Millisecond), heap/mib, rss/mib)

	page, err := healthy.Store.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != n {
		t.Errorf("the healthy project's inventory holds %d endpoints, want %d", page.Total, n)
	}
	st, err := healthy.Store.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Last.Succeeded || st.LastSuccessSize != n {
		t.Errorf("the healthy project's refresh: %+v", st.Last)
	}

	st, err = failing.Store.RefreshState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Last.Succeeded || st.Last.Failure == nil {
		t.Fatalf("the failing project's refresh: %+v", st.Last)
	}
	f := st.Last.Failure
	if f.Status != http.StatusInternalServerError || f.Code != "EndPoint.0500" || f.RequestID == "" || f.Source != store.FailureUpstream {
		t.Errorf("the failing project's refresh failure = %+v, want the upstream's 500, code and request id", f)
	}
	page, err = failing.Store.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 0 {
		t.Errorf("the failing project's inventory holds %d endpoints, want none (another project's are not its own)", page.Total)
	}
}

// BenchmarkRefreshTwoProjects refreshes two projects of 10,000 endpoints
// each at once, as Start does, and reports the time per round and the
// peak heap and resident set (the simulators run in this process: their
// memory is in the figures). BenchmarkRefreshOneProject is the same for
// one project, to compare.
//
//	go test -run '^$' -bench 'Refresh(One|Two)Project' -benchtime 3x ./internal/app
func BenchmarkRefreshTwoProjects(b *testing.B) { benchmarkRefresh(b, twoProjects(b, 10000), 10000) }

// BenchmarkRefreshOneProject: see BenchmarkRefreshTwoProjects.
func BenchmarkRefreshOneProject(b *testing.B) {
	c := testapp.New(b, testapp.Options{Projects: []testapp.ProjectOptions{
		{Name: "beijing", Endpoints: vpcepsim.GeneratedEndpoints(1, 10000, time.Now())},
	}})
	benchmarkRefresh(b, c, 10000)
}

func benchmarkRefresh(b *testing.B, c *testapp.Console, n int) {
	ctx := context.Background()
	runtime.GC()
	stopSampling := peakMemory()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make([]error, len(c.Projects))
		for i, p := range c.Projects {
			wg.Go(func() { errs[i] = p.Refresher.Refresh(ctx, inventory.TriggerManual) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
	}
	heap, rss := stopSampling()
	b.ReportMetric(float64(heap)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(rss)/mib, "peak-RSS-MiB")
	for _, p := range c.Projects {
		page, err := p.Store.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		if err != nil || page.Total != n {
			b.Fatalf("project %s holds %d endpoints (%v), want %d", p.Name, page.Total, err, n)
		}
	}
}

// TestAChangeInEachProjectLandsInItsOwn makes a change in each of two
// projects: each reaches its own simulator only, and its audit entry
// carries its project id and region.
func TestAChangeInEachProjectLandsInItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := twoProjects(t, 24)
	if c.Projects[0].ProjectID == c.Projects[1].ProjectID {
		t.Fatal("the two projects share a project id")
	}
	requested := policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:each/*"}}}
	type landed struct {
		ProjectID, Region, Outcome string
		Puts, OtherPuts            int
		Live                       policy.Policy
	}
	for i, p := range c.Projects {
		other := c.Projects[1-i]
		before := other.Sim.Puts()
		gw := p.Sim.Gateway(t, 1)
		res, err := p.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: gw.ID, Policy: requested,
			Reason: "a change in " + p.Name, Action: audit.ActionUpdate})
		if err != nil || res.Outcome != change.Applied {
			t.Fatalf("%s: Apply = %+v, %v", p.Name, res, err)
		}
		got := landed{Puts: p.Sim.Puts(), OtherPuts: other.Sim.Puts() - before, Live: p.Sim.Live(t, gw.ID)}
		if err := c.Pool.QueryRow(ctx, `SELECT project_id, region, outcome FROM audit_entries WHERE endpoint_id = $1 AND action = 'update'`,
			gw.ID).Scan(&got.ProjectID, &got.Region, &got.Outcome); err != nil {
			t.Fatal(err)
		}
		want := landed{ProjectID: p.ProjectID, Region: p.Region, Outcome: audit.OutcomeSucceeded, Puts: 1, Live: requested}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the change mismatch (-want +got):\n%s", p.Name, diff)
		}
		// The other project's applier does not know the endpoint.
		if _, err := other.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: gw.ID, Policy: requested,
			Reason: "wrong project", Action: audit.ActionUpdate}); !errors.Is(err, vpcep.ErrNotFound) {
			t.Errorf("%s's endpoint changed through %s: %v, want not found", p.Name, other.Name, err)
		}
	}
}

// TestAHungUpstreamHoldsUpNoOtherProject starts a console whose second
// project's upstream never answers a list: the first project's inventory
// is refreshed all the same.
func TestAHungUpstreamHoldsUpNoOtherProject(t *testing.T) {
	t.Parallel()
	c := twoProjects(t, 12)
	c.Projects[1].Sim.SetRouteLatency(vpcepsim.RouteList, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		c.Wait()
	}()
	c.Start(ctx)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		page, err := c.Projects[0].Store.ListInventory(ctx, store.InventoryFilter{PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the healthy project's inventory was not refreshed while the other's upstream hung")
		}
	}
	if st, err := c.Projects[1].Store.RefreshState(ctx); err != nil || (st.Last != nil && st.Last.Succeeded) {
		t.Errorf("the hung project's refresh state = %+v, %v: want no success", st.Last, err)
	}
}

// TestShutdownWaitsForEveryProjectsChanges closes the console for changes
// while one is in flight in the second project: every project refuses new
// changes, and WaitChanges returns once the one in flight is recorded.
func TestShutdownWaitsForEveryProjectsChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := twoProjects(t, 12)
	second := c.Projects[1]
	gw := second.Sim.Gateway(t, 1)
	requested := policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:late/*"}}}
	hold := second.Sim.HoldNext(vpcepsim.RouteUpdatePolicy)
	applied := make(chan error, 1)
	go func() {
		_, err := second.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: gw.ID, Policy: requested,
			Reason: "in flight at shutdown", Action: audit.ActionUpdate})
		applied <- err
	}()
	<-hold.Arrived()
	c.CloseChanges()
	for _, p := range c.Projects {
		other := p.Sim.Gateway(t, 2)
		if _, err := p.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: other.ID, Policy: requested,
			Reason: "after close", Action: audit.ActionUpdate}); !errors.Is(err, change.ErrShuttingDown) {
			t.Errorf("%s: a change after CloseChanges = %v, want ErrShuttingDown", p.Name, err)
		}
	}
	hold.Apply()
	hold.Answer()
	c.WaitChanges()
	var outcome string
	if err := c.Pool.QueryRow(ctx, `SELECT outcome FROM audit_entries WHERE endpoint_id = $1`, gw.ID).Scan(&outcome); err != nil {
		t.Fatal(err)
	}
	if outcome != audit.OutcomeSucceeded {
		t.Errorf("the change in flight is %s once WaitChanges returned, want succeeded", outcome)
	}
	if err := <-applied; err != nil {
		t.Errorf("the change in flight: %v", err)
	}
}

package views_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// generatedEndpoints is n of the simulator's generated endpoints, as the
// console reads them.
func generatedEndpoints(tb testing.TB, n int) []vpcep.Endpoint {
	tb.Helper()
	now := time.Date(2026, 11, 27, 17, 5, 3, 0, time.UTC)
	out := make([]vpcep.Endpoint, 0, n)
	for _, sim := range vpcepsim.GeneratedEndpoints(1, n, now) {
		ep := vpcep.Endpoint{
			ID: sim.ID, ServiceType: sim.Service.Type, Status: sim.Status, ActiveStatus: sim.ActiveStatus,
			ServiceName: sim.Service.Name, ServiceID: sim.Service.ID, MarkerID: sim.MarkerID, VpcID: sim.VpcID,
			IP: sim.IP, CreatedAt: sim.CreatedAt, UpdatedAt: sim.UpdatedAt, Description: sim.Description,
			Whitelist: sim.Whitelist, RouteTables: sim.RouteTables, PolicyDocument: sim.Document,
		}
		for _, t := range sim.Tags {
			ep.Tags = append(ep.Tags, vpcep.Tag{Key: t.Key, Value: t.Value})
		}
		for _, st := range sim.Statements {
			ep.PolicyStatement = append(ep.PolicyStatement, vpcep.PolicyStatement{Effect: st.Effect, Action: st.Action, Resource: st.Resource, Condition: st.Condition, Sid: st.Sid})
		}
		out = append(out, ep)
	}
	return out
}

// endpointsPage is a signed-in /endpoints page of eps.
func endpointsPage(eps []vpcep.Endpoint) views.EndpointsPage {
	now := time.Date(2026, 11, 27, 17, 5, 3, 0, time.UTC)
	return views.EndpointsPage{
		Base: views.Base{Title: "Endpoints", ProjectID: "p1", Region: "cn-north-4", CSRF: "csrf-token",
			Account: &views.Account{Name: "bench", Role: auth.Viewer}},
		Results: views.EndpointList{
			Filter: views.EndpointFilter{Page: 1}, Endpoints: eps, Total: 10000, Page: 1, Pages: 200, PerPage: 50,
			Freshness: views.Freshness{State: "fresh", LastSuccessAt: now.Add(-time.Minute), Count: 10000, Interval: time.Minute, Now: now},
			CSRF:      "csrf-token",
		},
		VpcIDs:   []string{"vpc-1", "vpc-2", "vpc-3"},
		Statuses: []string{"accepted", "failed", "pendingAcceptance"},
	}
}

// BenchmarkEndpointsView renders the whole /endpoints page of 50 rows, as
// the render helper does, without HTTP.
func BenchmarkEndpointsView(b *testing.B) {
	p := endpointsPage(generatedEndpoints(b, 50))
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.EndpointsView(p).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// BenchmarkEndpointsViewCachedRows is BenchmarkEndpointsView with every row
// already in its cache, as the read model serves a page viewed before.
func BenchmarkEndpointsViewCachedRows(b *testing.B) {
	eps := generatedEndpoints(b, 50)
	p := endpointsPage(eps)
	for range eps {
		p.Results.RowCaches = append(p.Results.RowCaches, &rowCache{})
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.EndpointsView(p).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

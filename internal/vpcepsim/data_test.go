package vpcepsim

import (
	"strings"
	"testing"
	"time"
)

// The demo serves two projects from two simulators: their endpoint ids
// must never meet (the console keys endpoints by id alone).
func TestDemoEndpointsOfTwoSeedsShareNoID(t *testing.T) {
	now := time.Now()
	for _, pair := range [][2][]*Endpoint{
		{DemoEndpoints(1, now), RegionDemoEndpoints("ap-southeast-1", 2, now)},
		{GeneratedEndpoints(1, 10000, now), RegionGeneratedEndpoints("ap-southeast-1", 2, 10000, now)},
	} {
		seen := map[string]bool{}
		for _, ep := range pair[0] {
			seen[ep.ID] = true
		}
		for _, ep := range pair[1] {
			if seen[ep.ID] {
				t.Fatalf("endpoint id %s in both projects' data", ep.ID)
			}
		}
	}
}

func TestRegionDemoEndpointsNameTheRegionsServices(t *testing.T) {
	now := time.Now()
	same, other := DemoEndpoints(1, now), RegionDemoEndpoints("cn-north-4", 1, now)
	for i := range same {
		if same[i].ID != other[i].ID || same[i].Service.Name != other[i].Service.Name {
			t.Fatalf("endpoint %d: DemoEndpoints and RegionDemoEndpoints(cn-north-4) differ", i)
		}
	}
	sg := RegionDemoEndpoints("ap-southeast-1", 2, now)
	editable := 0
	for _, ep := range sg {
		if strings.Contains(ep.Service.Name, "cn-north-4") {
			t.Errorf("a Singapore endpoint's service is named %q", ep.Service.Name)
		}
		if ep.Service.PolicyKind == PolicyStatementKind && len(ep.Statements) > 0 {
			editable++
		}
	}
	if editable == 0 {
		t.Error("no Singapore gateway endpoint has a policy")
	}
}

package vpcepsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// demoRegion names the services of the demo data.
const demoRegion = "cn-north-4"

// services is the catalogue the generated endpoints connect to.
var services = servicesIn(demoRegion)

// servicesIn is the catalogue of region: the same services, named as the
// region names them.
func servicesIn(region string) []Service {
	return []Service{
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c01", Name: "com.myhuaweicloud." + region + ".obs", Type: "gateway", PolicyKind: PolicyStatementKind},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c02", Name: "com.myhuaweicloud." + region + ".sfsturbo", Type: "gateway", PolicyKind: PolicyStatementKind},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c03", Name: "com.myhuaweicloud." + region + ".obs.legacy", Type: "gateway"},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c04", Name: "com.myhuaweicloud." + region + ".dns", Type: "interface"},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c05", Name: "com.myhuaweicloud." + region + ".apig", Type: "interface", PolicyKind: PolicyDocumentKind},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c06", Name: "com.myhuaweicloud." + region + ".swr", Type: "interface"},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c07", Name: region + ".payments-api.8a41c2d6", Type: "interface", PolicyKind: PolicyDocumentKind},
		{ID: "6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c08", Name: region + ".ledger-db-proxy.51f0e9b3", Type: "interface"},
	}
}

type vpc struct {
	id, name   string
	subnetID   string
	routeTable string
}

var vpcs = []vpc{
	{id: "0f8a1c3e-7d2b-4e61-a5f9-3c2d1b0a9e01", name: "prod", subnetID: "9b2c4d6e-1f3a-4b5c-8d7e-6f5a4b3c2d01", routeTable: "rtb-prod-5c1e8f20"},
	{id: "0f8a1c3e-7d2b-4e61-a5f9-3c2d1b0a9e02", name: "staging", subnetID: "9b2c4d6e-1f3a-4b5c-8d7e-6f5a4b3c2d02", routeTable: "rtb-staging-77a0d4c1"},
	{id: "0f8a1c3e-7d2b-4e61-a5f9-3c2d1b0a9e03", name: "shared-services", subnetID: "9b2c4d6e-1f3a-4b5c-8d7e-6f5a4b3c2d03", routeTable: "rtb-shared-0e93b6aa"},
}

// demoBuckets are the OBS buckets the demo policies talk about.
var demoBuckets = []string{"logs-prod", "backups-prod", "ml-datasets", "web-assets", "audit-archive", "staging-uploads"}

// DemoEndpoints returns the demo data: 36 endpoints over 3 VPCs, gateway
// endpoints to OBS and SFS Turbo with realistic policies, interface
// endpoints, every status, failed endpoints with their error list, tags and
// route tables. The same seed gives the same data; another seed, other
// endpoint ids.
func DemoEndpoints(seed uint64, now time.Time) []*Endpoint {
	return RegionDemoEndpoints(demoRegion, seed, now)
}

// RegionDemoEndpoints is DemoEndpoints with region's service names: the
// demo's project in another region.
func RegionDemoEndpoints(region string, seed uint64, now time.Time) []*Endpoint {
	return generate(rand.New(rand.NewPCG(seed, 0x5eed)), region, 36, now)
}

// GeneratedEndpoints returns n endpoints built by the demo rules, for scale work.
func GeneratedEndpoints(seed uint64, n int, now time.Time) []*Endpoint {
	return RegionGeneratedEndpoints(demoRegion, seed, n, now)
}

// RegionGeneratedEndpoints is GeneratedEndpoints with region's service
// names.
func RegionGeneratedEndpoints(region string, seed uint64, n int, now time.Time) []*Endpoint {
	return generate(rand.New(rand.NewPCG(seed, 0x5ca1e)), region, n, now)
}

func generate(rng *rand.Rand, region string, n int, now time.Time) []*Endpoint {
	catalogue := services
	if region != demoRegion {
		catalogue = servicesIn(region)
	}
	out := make([]*Endpoint, 0, n)
	for i := range n {
		out = append(out, generateOne(rng, catalogue, region, i, now))
	}
	return out
}

// generateOne makes endpoint i. The service cycles so that every kind
// appears in any run of eight; statuses are mostly accepted.
func generateOne(rng *rand.Rand, services []Service, region string, i int, now time.Time) *Endpoint {
	svc := services[i%len(services)]
	v := vpcs[(i/len(services)+i)%len(vpcs)]
	created := now.Add(-time.Duration(24*30+rng.IntN(24*365)) * time.Hour).Truncate(time.Second)
	updated := created.Add(time.Duration(rng.IntN(24*30)) * time.Hour)
	if updated.After(now) {
		updated = now.Add(-time.Hour).Truncate(time.Second)
	}
	ep := &Endpoint{
		ID:           uuid(rng),
		Service:      svc,
		Status:       "accepted",
		ActiveStatus: []string{"active"},
		VpcID:        v.id,
		MarkerID:     int32(100000000 + rng.IntN(900000000)),
		Description:  fmt.Sprintf("%s access for %s", shortService(svc), v.name),
		Tags: []Tag{
			{Key: "env", Value: v.name},
			{Key: "owner", Value: []string{"platform", "data", "payments", "web"}[rng.IntN(4)]},
		},
		CreatedAt: created,
		UpdatedAt: updated,
	}
	switch i % 9 {
	case 4:
		ep.Status = "pendingAcceptance"
	case 7:
		ep.Status = "failed"
		ep.Errors = []QueryError{{Code: "EndPoint.2012", Message: "The endpoint service is unavailable in the availability zone of the subnet."}}
	}
	if i%17 == 5 {
		ep.ActiveStatus = []string{"frozen"}
		ep.Tags = append(ep.Tags, Tag{Key: "billing", Value: "arrears"})
	}
	if i%5 == 3 {
		ep.Tags = nil // some endpoints carry no tags
	}

	switch svc.Type {
	case "gateway":
		ep.RouteTables = []string{v.routeTable}
		if i%3 == 0 {
			ep.RouteTables = append(ep.RouteTables, v.routeTable+"-b")
		}
		if svc.PolicyKind == PolicyStatementKind {
			ep.Statements = demoPolicy(rng, svc, i)
		}
	case "interface":
		ep.SubnetID = v.subnetID
		ep.EnableDNS = i%2 == 0
		if ep.EnableDNS {
			ep.DNSNames = []string{fmt.Sprintf("%s.%s.vpcep.%s.myhuaweicloud.com", ep.ID[:8], shortService(svc), region)}
		}
		ep.IP = fmt.Sprintf("192.168.%d.%d", 1+rng.IntN(250), 2+rng.IntN(250))
		ep.EnableWhitelist = i%4 == 1
		if ep.EnableWhitelist {
			ep.Whitelist = []string{"192.168.0.0/24", "10.10.0.0/16"}
		}
		if svc.PolicyKind == PolicyDocumentKind {
			ep.Document = json.RawMessage(`{"Version":"5.0","Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]}]}`)
		}
	}
	return ep
}

// demoPolicy returns a realistic policy_statement for a gateway endpoint.
func demoPolicy(rng *rand.Rand, svc Service, i int) []Statement {
	if strings.HasSuffix(svc.Name, ".sfsturbo") {
		return []Statement{{
			Effect:   "Allow",
			Action:   []string{"sfsturbo:*:*"},
			Resource: []string{"sfsturbo:*:*:share:*"},
		}}
	}
	bucket := demoBuckets[rng.IntN(len(demoBuckets))]
	switch (i / len(services)) % 4 {
	case 0:
		return []Statement{{
			Effect:   "Allow",
			Action:   []string{"obs:*:*"},
			Resource: []string{"obs:*:*:*:*/*", "obs:*:*:*:*"},
		}}
	case 1:
		return []Statement{
			{
				Effect:   "Allow",
				Action:   []string{"obs:object:GetObject", "obs:object:PutObject", "obs:bucket:ListBucket"},
				Resource: []string{"obs:*:*:bucket:" + bucket, "obs:*:*:object:" + bucket + "/*"},
				Sid:      "AppReadWrite",
			},
			{
				Effect:   "Deny",
				Action:   []string{"obs:object:DeleteObject"},
				Resource: []string{"obs:*:*:object:" + bucket + "/*"},
				Sid:      "NoDeletes",
			},
		}
	case 2:
		return []Statement{{
			Effect:    "Allow",
			Action:    []string{"obs:object:GetObject"},
			Resource:  []string{"obs:*:*:object:" + bucket + "/*"},
			Condition: json.RawMessage(`{"StringEquals":{"obs:prefix":["public/"]}}`),
		}}
	default:
		return nil // a gateway endpoint with no policy yet
	}
}

func shortService(s Service) string {
	for i := len(s.Name) - 1; i >= 0; i-- {
		if s.Name[i] == '.' {
			return s.Name[i+1:]
		}
	}
	return s.Name
}

func uuid(rng *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

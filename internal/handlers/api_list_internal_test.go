package handlers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The list answer built from each endpoint's kept JSON is, byte for byte,
// what encoding/json writes for the whole list (as c.JSON did), each
// endpoint with its drift fields, whether the JSON is made now, taken from
// the renderings, or there are none.
func TestEndpointListEncodesAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 27, 17, 5, 3, 123456789, time.FixedZone("CST", 8*3600))
	eps := []vpcep.Endpoint{
		{ID: "a", ServiceName: "com.example.obs", ServiceType: "gateway", Status: "accepted", CreatedAt: at, UpdatedAt: at,
			Tags: []vpcep.Tag{{Key: "env<&>", Value: "\u2028\u202E\x01é"}}, RouteTables: []string{"rtb-1"},
			PolicyStatement: []vpcep.PolicyStatement{{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"},
				Condition: json.RawMessage(`{ "StringEquals" : {"k": "<v>"} }`), Sid: "s1"}},
			PolicyDocument: json.RawMessage(` {"Version": "5.0"} `)},
		{ID: "b\"\\", ServiceName: "bad \xff utf-8", Errors: []vpcep.QueryError{{Code: "E.1", Message: "m"}}},
		{},
	}
	lists := map[string]apiEndpointList{
		"three": {Endpoints: eps, NextCursor: "Y29tLmV4YW1wbGUub2JzAGE", Inventory: newAPIInventory(inventory.Status{State: inventory.Fresh, RefreshedAt: at, LastAttemptAt: at}),
			drifts: map[string]int64{"b\"\\": 42}},
		"failed refresh": {Endpoints: eps[:1], Inventory: newAPIInventory(inventory.Status{State: inventory.Stale, RefreshedAt: at, LastAttemptAt: at.Add(time.Minute),
			LastFailure: &store.RefreshFailure{Source: store.FailureUpstream, Status: 503, Code: "APIGW.0301", Message: "<down>", RequestID: "r1"}})},
		"empty": {Endpoints: []vpcep.Endpoint{}, Inventory: newAPIInventory(inventory.Status{State: inventory.Fresh})},
	}
	for name, l := range lists {
		t.Run(name, func(t *testing.T) {
			// Each endpoint with its drift fields after its own.
			type withDrift struct {
				vpcep.Endpoint
				Drifted      bool   `json:"drifted"`
				DriftEntryID *int64 `json:"drift_entry_id"`
			}
			shown := struct {
				Endpoints  []withDrift  `json:"endpoints"`
				NextCursor string       `json:"next_cursor"`
				Inventory  apiInventory `json:"inventory"`
			}{Endpoints: []withDrift{}, NextCursor: l.NextCursor, Inventory: l.Inventory}
			for _, ep := range l.Endpoints {
				w := withDrift{Endpoint: ep}
				if id, ok := l.drifts[ep.ID]; ok {
					w.Drifted, w.DriftEntryID = true, &id
				}
				shown.Endpoints = append(shown.Endpoints, w)
			}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(shown); err != nil {
				t.Fatal(err)
			}
			renderings := make([]*store.Renderings, len(l.Endpoints))
			for i := range renderings {
				renderings[i] = &store.Renderings{}
			}
			for _, tc := range []struct {
				name       string
				renderings []*store.Renderings
			}{{"none kept", nil}, {"made now", renderings}, {"kept", renderings}, {"nil ones", make([]*store.Renderings, len(l.Endpoints))}} {
				got, err := l.encode([]byte("left over")[:0], tc.renderings)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want.String(), string(got)); diff != "" {
					t.Errorf("%s: mismatch (-encoding/json +encode):\n%s", tc.name, diff)
				}
			}
		})
	}
}

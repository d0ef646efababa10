package vpcep_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// TestConditionNumbersGoOutExactly: a number in a Condition reaches the
// upstream, and comes back, digit for digit (never through float64).
func TestConditionNumbersGoOutExactly(t *testing.T) {
	t.Parallel()
	eps := demo()
	f := newFixture(t, eps)
	c := f.Client(t, nil)
	target := firstWith(t, eps, isPolicyGateway)
	const big, frac = "12345678901234567890123", "0.10000000000000000000001"
	cond := `{"NumericLessThan": {"obs:max-keys": ` + big + `, "x": ` + frac + `}}`
	ctx, rec := vpcep.WithRecorder(context.Background())
	_, err := c.UpdatePolicy(ctx, target.ID, []vpcep.PolicyStatement{
		{Effect: "Allow", Action: []string{"obs:*"}, Resource: []string{"*"}, Condition: json.RawMessage(cond)}})
	if err != nil {
		t.Fatal(err)
	}
	if xs := rec.Exchanges(); len(xs) != 1 || !strings.Contains(string(xs[0].RequestBody), big) || !strings.Contains(string(xs[0].RequestBody), frac) {
		t.Fatalf("sent %s", xs[0].RequestBody)
	}
	again, err := c.GetEndpoint(context.Background(), target.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(again.PolicyStatement[0].Condition); !strings.Contains(got, big) || !strings.Contains(got, frac) {
		t.Errorf("read back %s", got)
	}
}

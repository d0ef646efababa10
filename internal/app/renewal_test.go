package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestTokenRenewalAcrossAnExpiryWithAChangeInFlight signs in as an IAM user
// and lets the token expire while a change is under way, between its read
// of the live policy and its PUT: the PUT is refused once, the token is
// renewed, the PUT is sent again and applied once, and the log holds one
// entry, succeeded. No token reaches the log or the audit entries.
func TestTokenRenewalAcrossAnExpiryWithAChangeInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testapp.New(t, testapp.Options{Projects: []testapp.ProjectOptions{
		{Name: "iam", IAM: true, TokenLifetime: 2 * time.Minute},
	}})
	p := c.Projects[0]
	if err := p.Refresher.Refresh(ctx, inventory.TriggerStartup); err != nil {
		t.Fatal(err)
	}
	if n := p.Sim.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens issued for the first refresh, want 1", n)
	}
	if notice := p.Handlers.Credential(time.Now()); notice.Warning != "" || notice.ExpiresAt.IsZero() {
		t.Errorf("a fresh token's notice: %+v", notice)
	}

	gw := p.Sim.Gateway(t, 1)
	requested := policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:renewed/*"}}}
	// The change's read of the live policy is held at the simulator (its
	// token accepted) while every token expires.
	hold := p.Sim.HoldNext(vpcepsim.RouteGet)
	type result struct {
		res *change.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := p.Applier.Apply(ctx, change.Request{Actor: "alice", EndpointID: gw.ID, Policy: requested,
			Reason: "across an expiry", Action: audit.ActionUpdate})
		done <- result{res, err}
	}()
	<-hold.Arrived()
	p.Sim.ExpireTokens()
	hold.Apply()
	hold.Answer()
	r := <-done
	if r.err != nil || r.res.Outcome != change.Applied {
		t.Fatalf("Apply = %+v, %v", r.res, r.err)
	}

	type record struct {
		Entries, Succeeded, PutsSent, PutsApplied, Tokens int
		Live                                              policy.Policy
	}
	got := record{PutsSent: p.Sim.Puts(), Tokens: p.Sim.TokensIssued(), Live: p.Sim.Live(t, gw.ID)}
	if err := c.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'succeeded')
		FROM audit_entries WHERE endpoint_id = $1 AND action = 'update'`, gw.ID).Scan(&got.Entries, &got.Succeeded); err != nil {
		t.Fatal(err)
	}
	for _, tr := range p.Sim.Traces() {
		if tr.ResourceID == gw.ID && tr.TraceName == vpcepsim.TraceModifyPolicy && tr.Code == http.StatusOK {
			got.PutsApplied++
		}
	}
	// Two PUTs reached the simulator: the one with the expired token,
	// refused before the API acted, and the one sent again.
	want := record{Entries: 1, Succeeded: 1, PutsSent: 2, PutsApplied: 1, Tokens: 2, Live: requested}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the change across the expiry mismatch (-want +got):\n%s", diff)
	}

	var leaked int
	tokens := p.Sim.IssuedTokens()
	if err := c.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries a WHERE row_to_json(a)::text LIKE ANY ($1)`,
		likeAny(tokens)).Scan(&leaked); err != nil {
		t.Fatal(err)
	}
	if leaked > 0 {
		t.Errorf("%d audit entries hold an IAM token", leaked)
	}
	logs := c.Logs.String()
	for _, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Fatal("an IAM token is in the log")
		}
	}
	if strings.Contains(logs, testapp.IAMUser.Password) {
		t.Fatal("the IAM user's password is in the log")
	}
}

// likeAny is a LIKE pattern for each of values, anywhere in the text.
func likeAny(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = "%" + v + "%"
	}
	return out
}

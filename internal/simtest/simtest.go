// Package simtest runs the VPCEP simulator over real HTTP for tests, with a
// client signed for it, and answers what tests ask of it: an editable
// gateway, its live policy, how many PUTs reached it.
package simtest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// ProjectID is the project the simulator serves unless Options say.
const ProjectID = "0605767a3300d5762fb7c0186d9e1779"

// Upstream is a running simulator and what a client needs to reach it.
type Upstream struct {
	*vpcepsim.Server
	URL       string
	AK, SK    string
	ProjectID string
}

// Options shape an Upstream.
type Options struct {
	ProjectID string               // ProjectID when empty
	Endpoints []*vpcepsim.Endpoint // the demo endpoints when nil
	Token     string               // accepted in token mode when set
	// CTSUser and CTSLag shape the simulated CTS (vpcepsim.Options).
	CTSUser string
	CTSLag  time.Duration
	// IAM shapes the simulated IAM (its users, their tokens' lifetime).
	IAM vpcepsim.IAMOptions
}

// Start serves a simulator until t ends.
func Start(t testing.TB, o Options) *Upstream {
	t.Helper()
	if o.Endpoints == nil {
		o.Endpoints = vpcepsim.DemoEndpoints(1, time.Now().Add(-time.Hour))
	}
	if o.ProjectID == "" {
		o.ProjectID = ProjectID
	}
	ak, sk := vpcepsim.NewCredentials()
	sim := vpcepsim.New(vpcepsim.Options{ProjectID: o.ProjectID, AK: ak, SK: sk, Token: o.Token, Endpoints: o.Endpoints,
		CTSUser: o.CTSUser, CTSLag: o.CTSLag, IAM: o.IAM})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &Upstream{Server: sim, URL: srv.URL, AK: ak, SK: sk, ProjectID: o.ProjectID}
}

// Config is a client configuration for the simulator in AK/SK mode.
func (u *Upstream) Config() vpcep.Config {
	return vpcep.Config{Endpoint: u.URL, ProjectID: u.ProjectID, AK: u.AK, SK: u.SK, Timeout: 5 * time.Second}
}

// CTSConfig is a CTS client configuration for the simulator's traces route
// in AK/SK mode.
func (u *Upstream) CTSConfig() cts.Config {
	return cts.Config{Endpoint: u.URL, ProjectID: u.ProjectID, AK: u.AK, SK: u.SK, Timeout: 5 * time.Second}
}

// CTS is a CTS client of the simulator; adjust changes its configuration first.
func (u *Upstream) CTS(t testing.TB, adjust func(*cts.Config)) *cts.Client {
	t.Helper()
	cfg := u.CTSConfig()
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := cts.NewClient(cfg)
	if err != nil {
		t.Fatalf("cts.NewClient: %v", err)
	}
	return c
}

// Client is a client of the simulator; adjust changes its configuration first.
func (u *Upstream) Client(t testing.TB, adjust func(*vpcep.Config)) *vpcep.Client {
	t.Helper()
	cfg := u.Config()
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := vpcep.New(cfg)
	if err != nil {
		t.Fatalf("vpcep.New: %v", err)
	}
	return c
}

// Gateway is an editable gateway endpoint (one whose service takes a
// policy_statement) with exactly statements statements.
func (u *Upstream) Gateway(t testing.TB, statements int) *vpcepsim.Endpoint {
	t.Helper()
	for _, ep := range u.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) == statements {
			return ep
		}
	}
	t.Fatalf("the simulator has no editable gateway with %d statements", statements)
	return nil
}

// Live is the policy the simulator holds for the endpoint id.
func (u *Upstream) Live(t testing.TB, id string) policy.Policy {
	t.Helper()
	ep, ok := u.Endpoint(id)
	if !ok {
		t.Fatalf("the simulator has no endpoint %s", id)
	}
	var p policy.Policy
	for _, s := range ep.Statements {
		p = append(p, vpcep.PolicyStatement{Effect: s.Effect, Action: s.Action, Resource: s.Resource, Condition: s.Condition, Sid: s.Sid})
	}
	return p
}

// Puts counts the PUTs that reached the simulator: policy changes sent.
func (u *Upstream) Puts() int {
	n := 0
	for _, r := range u.Requests() {
		if r.Method == http.MethodPut {
			n++
		}
	}
	return n
}

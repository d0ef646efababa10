package projects_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// TestDemoProjectsReachTheirSimulators serves the demo's two projects from
// two simulators, one signed with AK/SK and one through an IAM user's
// token, and reads each project's endpoints through its Upstream.
func TestDemoProjectsReachTheirSimulators(t *testing.T) {
	t.Parallel()
	ak, sk := vpcepsim.NewCredentials()
	user := vpcepsim.IAMUser{Name: "demo", Password: "demo-password", Domain: "demo"}
	var upstreams []projects.DemoUpstream
	for i, d := range projects.DemoProjects {
		sim := vpcepsim.New(vpcepsim.Options{
			ProjectID: d.ProjectID, AK: ak, SK: sk, Endpoints: vpcepsim.DemoEndpoints(uint64(i+1), time.Now()),
			IAM: vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{user}, ProjectName: d.Region},
		})
		srv := httptest.NewServer(sim)
		t.Cleanup(srv.Close)
		u := projects.DemoUpstream{Endpoint: srv.URL, Credentials: projects.Credentials{
			Kind: projects.CredentialAKSK, AK: projects.Secret(ak), SK: projects.Secret(sk),
		}}
		if i == 1 {
			u.IAMEndpoint = srv.URL
			u.Credentials = projects.Credentials{Kind: projects.CredentialIAMUser, IAMUser: projects.IAMUser{
				Name: user.Name, Domain: user.Domain, Password: projects.Secret(user.Password),
			}}
		}
		upstreams = append(upstreams, u)
	}
	cfg, err := projects.Demo(upstreams...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Projects {
		up, err := p.Upstream(vpcep.Config{Timeout: 5 * time.Second}, nil)
		if err != nil {
			t.Fatalf("%s: Upstream: %v", p.Name, err)
		}
		client, err := vpcep.New(up.Config)
		if err != nil {
			t.Fatalf("%s: vpcep.New: %v", p.Name, err)
		}
		page, err := client.ListEndpoints(context.Background(), vpcep.ListOptions{Limit: 5})
		if err != nil || len(page.Endpoints) != 5 {
			t.Fatalf("%s: ListEndpoints = %d endpoints, %v", p.Name, len(page.Endpoints), err)
		}
		renewing := p.Credentials.Kind == projects.CredentialIAMUser
		if (up.Renewing != nil) != renewing {
			t.Errorf("%s: Renewing = %v for %s credentials", p.Name, up.Renewing, p.Credentials)
		}
		if renewing && (up.Renewing.Status().State != vpcep.StateValid || up.Renewing.Status().ExpiresAt.IsZero()) {
			t.Errorf("%s: status %+v after a call", p.Name, up.Renewing.Status())
		}
	}
}

// TestUpstreamNeverPrintsSecrets: an Upstream of each kind of credentials
// prints and logs without its AK/SK, token or password.
func TestUpstreamNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	const sk, token, password = "SKsecret-never-printed-0123456789", "MIItoken-never-printed-0123456789", "Passw0rd-never-printed"
	base := projects.Project{Name: "p", Region: "cn-north-4", ProjectID: strings.Repeat("a", 32),
		Endpoint: "https://vpcep.example", IAMEndpoint: "https://iam.example"}
	for _, c := range []projects.Credentials{
		{Kind: projects.CredentialAKSK, AK: "AKID0001", SK: sk},
		{Kind: projects.CredentialToken, Token: token},
		{Kind: projects.CredentialIAMUser, IAMUser: projects.IAMUser{Name: "console", Domain: "acme", Password: password}},
	} {
		p := base
		p.Credentials = c
		up, err := p.Upstream(vpcep.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		for _, v := range []any{up, *up} {
			fmt.Fprintf(&out, "%v %+v %#v %s\n", v, v, v, v)
			slog.New(slog.NewTextHandler(&out, nil)).Info("up", "up", v)
			slog.New(slog.NewJSONHandler(&out, nil)).Info("up", "up", v)
		}
		if s := out.String(); strings.Contains(s, sk) || strings.Contains(s, token) || strings.Contains(s, password) {
			t.Errorf("%s: a secret printed or logged:\n%s", c.Kind, s)
		}
	}
}

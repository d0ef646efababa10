package projects_test

import (
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// fromEnv is what `web serve` makes of the single-project variables vars:
// the server's configuration read by internal/config, its one project by
// FromConfig.
func fromEnv(vars map[string]string) (*projects.Config, error) {
	all := map[string]string{"DATABASE_URL": "postgres://localhost/vpcep"}
	maps.Copy(all, vars)
	c, err := config.Load(nil, env(all), io.Discard)
	if err != nil {
		return nil, err
	}
	return projects.FromConfig(c), nil
}

// The single-project variables, as consoles were configured before
// projects existed, make one project named "default".
func TestFromConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    map[string]string
		want    projects.Project
		wantErr []string
	}{
		{
			name: "region and AK/SK",
			vars: map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_REGION": "cn-north-4", "HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk"},
			want: projects.Project{
				Name: "default", Region: "cn-north-4", ProjectID: pidA,
				Endpoint:    "https://vpcep.cn-north-4.myhuaweicloud.com",
				IAMEndpoint: "https://iam.cn-north-4.myhuaweicloud.com",
				Credentials: projects.Credentials{Kind: projects.CredentialAKSK, AK: "ak", SK: "sk"},
			},
		},
		{
			name: "endpoint and token",
			vars: map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_ENDPOINT": "http://127.0.0.1:9090/", "VPCEP_AUTH_TOKEN": "tok", "CTS_ENDPOINT": "http://127.0.0.1:9091"},
			want: projects.Project{
				Name: "default", ProjectID: pidA, Endpoint: "http://127.0.0.1:9090", CTSEndpoint: "http://127.0.0.1:9091",
				Credentials: projects.Credentials{Kind: projects.CredentialToken, Token: "tok"},
			},
		},
		{
			name: "AK/SK wins over a token",
			vars: map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_REGION": "eu-west-101", "HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk", "VPCEP_AUTH_TOKEN": "tok"},
			want: projects.Project{
				Name: "default", Region: "eu-west-101", ProjectID: pidA,
				Endpoint:    "https://vpcep.eu-west-101.myhuaweicloud.eu",
				IAMEndpoint: "https://iam.eu-west-101.myhuaweicloud.eu",
				Credentials: projects.Credentials{Kind: projects.CredentialAKSK, AK: "ak", SK: "sk"},
			},
		},
		{
			name:    "nothing set",
			vars:    nil,
			wantErr: []string{"VPCEP_PROJECT_ID is required", "VPCEP_REGION", "credentials are required"},
		},
		{
			name:    "unknown region",
			vars:    map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_REGION": "mars-1", "VPCEP_AUTH_TOKEN": "tok"},
			wantErr: []string{`VPCEP_REGION: unknown region "mars-1"`},
		},
		{
			name:    "AK without SK",
			vars:    map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_REGION": "cn-north-4", "HUAWEICLOUD_SDK_AK": "ak"},
			wantErr: []string{"HUAWEICLOUD_SDK_SK is required"},
		},
		{
			name:    "bad endpoint",
			vars:    map[string]string{"VPCEP_PROJECT_ID": pidA, "VPCEP_ENDPOINT": "vpcep.example.com", "VPCEP_AUTH_TOKEN": "tok"},
			wantErr: []string{"VPCEP_ENDPOINT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := fromEnv(tt.vars)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("the configuration was accepted, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("configuration: %v", err)
			}
			if diff := cmp.Diff([]projects.Project{tt.want}, cfg.Projects); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	creds := projects.Credentials{Kind: projects.CredentialAKSK, AK: "ak", SK: "sk"}
	cfg, err := projects.Demo(
		projects.DemoUpstream{Endpoint: "http://127.0.0.1:1", Credentials: creds},
		projects.DemoUpstream{Endpoint: "http://127.0.0.1:2", IAMEndpoint: "http://127.0.0.1:2", Credentials: projects.Credentials{
			Kind: projects.CredentialIAMUser, IAMUser: projects.IAMUser{Name: "demo", Domain: "demo", Password: "pw"},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	for i, p := range cfg.Projects {
		if !projects.ValidName(p.Name) || p.ProjectID != projects.DemoProjects[i].ProjectID {
			t.Errorf("project %d = %+v", i, p)
		}
		regions[p.Region] = true
	}
	if len(cfg.Projects) != 2 || len(regions) != 2 {
		t.Errorf("demo has %d projects in %d regions, want 2 in 2", len(cfg.Projects), len(regions))
	}
	if _, err := projects.Demo(projects.DemoUpstream{Endpoint: "x", Credentials: creds}); err == nil {
		t.Error("Demo with one upstream succeeded")
	}
}

func TestRegionEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		region, vpcep, iam string
	}{
		{"cn-north-4", "https://vpcep.cn-north-4.myhuaweicloud.com", "https://iam.cn-north-4.myhuaweicloud.com"},
		{"ap-southeast-1", "https://vpcep.ap-southeast-1.myhuaweicloud.com", "https://iam.ap-southeast-1.myhuaweicloud.com"},
		{"eu-west-101", "https://vpcep.eu-west-101.myhuaweicloud.eu", "https://iam.eu-west-101.myhuaweicloud.eu"},
	}
	for _, tt := range tests {
		if got, err := vpcep.VPCEPEndpoint(tt.region); err != nil || got != tt.vpcep {
			t.Errorf("VPCEPEndpoint(%s) = %q, %v; want %q", tt.region, got, err, tt.vpcep)
		}
		if got, err := vpcep.IAMEndpoint(tt.region); err != nil || got != tt.iam {
			t.Errorf("IAMEndpoint(%s) = %q, %v; want %q", tt.region, got, err, tt.iam)
		}
	}
	for _, bad := range []string{"", "mars-north-1"} {
		if got, err := vpcep.VPCEPEndpoint(bad); err == nil {
			t.Errorf("VPCEPEndpoint(%q) = %q, want an error", bad, got)
		}
		if got, err := vpcep.IAMEndpoint(bad); err == nil {
			t.Errorf("IAMEndpoint(%q) = %q, want an error", bad, got)
		}
	}
}

package projects

import "fmt"

// DemoProject is one of the demo's simulated projects: what its simulator
// must serve.
type DemoProject struct {
	Name      string
	Region    string
	ProjectID string
}

// DemoProjects are the demo's two projects in two regions, so that a new
// user sees the project switcher. Start one simulator per project with its
// ProjectID, then call Demo.
var DemoProjects = []DemoProject{
	{Name: "demo-beijing", Region: "cn-north-4", ProjectID: "0605767a3300d5762fb7c0186d9e1779"},
	{Name: "demo-singapore", Region: "ap-southeast-1", ProjectID: "1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6"},
}

// DemoUpstream is where one demo project's simulator listens and how the
// console signs in to it (an IAMEndpoint is needed for CredentialIAMUser).
type DemoUpstream struct {
	Endpoint    string
	IAMEndpoint string
	Credentials Credentials
}

// Demo is the configuration of the demo's projects, DemoProjects[i] served
// by upstreams[i].
func Demo(upstreams ...DemoUpstream) (*Config, error) {
	if len(upstreams) != len(DemoProjects) {
		return nil, fmt.Errorf("projects: the demo has %d projects, got %d upstreams", len(DemoProjects), len(upstreams))
	}
	cfg := &Config{}
	for i, d := range DemoProjects {
		u := upstreams[i]
		if u.Endpoint == "" || u.Credentials.Kind == "" {
			return nil, fmt.Errorf("projects: demo project %q needs an endpoint and credentials", d.Name)
		}
		cfg.Projects = append(cfg.Projects, Project{
			Name: d.Name, Region: d.Region, ProjectID: d.ProjectID,
			Endpoint: u.Endpoint, IAMEndpoint: u.IAMEndpoint, Credentials: u.Credentials,
		})
	}
	return cfg, nil
}

package testapp_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/projects"
	"github.com/vpcep-console/vpcep-console/internal/testapp"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

func TestOneProjectAsFromTheEnvironment(t *testing.T) {
	t.Parallel()
	c := testapp.New(t, testapp.Options{})
	if len(c.Projects) != 1 || len(c.Deps.Projects) != 1 {
		t.Fatalf("%d projects, %d in the handlers' dependencies; want 1", len(c.Projects), len(c.Deps.Projects))
	}
	p := c.Projects[0]
	if p.Name != projects.DefaultName || p.ProjectID != testapp.ProjectID || c.Deps.Projects[0].ProjectID != testapp.ProjectID {
		t.Errorf("the project is %s %s, the handlers' %s", p.Name, p.ProjectID, c.Deps.Projects[0].ProjectID)
	}
	if c.Sim != p.Sim || c.Store != p.Store || c.Deps.Store != p.Store || c.Deps.Projects[0] != p.Handlers {
		t.Error("the console's single-project fields are not its project's")
	}
	if p.Handlers.Credential != nil {
		t.Error("AK/SK has a credential notice")
	}
}

func TestSeveralProjectsEachWithItsSimulator(t *testing.T) {
	t.Parallel()
	c := testapp.New(t, testapp.Options{Projects: []testapp.ProjectOptions{{}, {IAM: true}, {Name: "third", Region: "eu-west-101"}}})
	type project struct{ Name, Region, ProjectID string }
	var got, deps []project
	ids := map[string]bool{}
	for _, p := range c.Projects {
		got = append(got, project{p.Name, p.Region, p.ProjectID})
		if p.Sim.ProjectID != p.ProjectID {
			t.Errorf("%s is served by a simulator of project %s", p.Name, p.Sim.ProjectID)
		}
		for _, ep := range p.Sim.Endpoints() {
			if ids[ep.ID] {
				t.Errorf("endpoint %s is in two projects", ep.ID)
			}
			ids[ep.ID] = true
		}
	}
	for _, p := range c.Deps.Projects {
		deps = append(deps, project{p.Name, p.Region, p.ProjectID})
	}
	want := []project{
		{"project-1", "cn-north-4", testapp.ProjectID},
		{"project-2", "ap-southeast-1", "00000001" + testapp.ProjectID[8:]},
		{"third", "eu-west-101", "00000002" + testapp.ProjectID[8:]},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("projects mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, deps); diff != "" {
		t.Errorf("the handlers' projects mismatch (-want +got):\n%s", diff)
	}
	if c.Projects[1].Renewing == nil || c.Projects[1].Handlers.Credential == nil {
		t.Error("the IAM project has no renewing token or no credential notice")
	}
}

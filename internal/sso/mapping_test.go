package sso

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/auth"
)

func TestParseMappingRefuses(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{"", "maps no group"},
		{" , ,", "maps no group"},
		{"netops", "is not group=role"},
		{"=editor", "names no group"},
		{"netops=owner", `not "owner"`},
		{"netops=none", `not "none"`},
		{"netops=admin@prod", "admin is for every project"},
		{"netops=editor@Prod", `"Prod" is not a project name`},
		{"netops=editor@", `"" is not a project name`},
		{"a=viewer,b=boss", "entry 2"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseMapping(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMapping(%q) error %v, want one with %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestParseMappingReads(t *testing.T) {
	m, err := ParseMapping(" Net Ops = editor , cn=x=viewer@prod,/team/a=none@dev ")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.String(), "Net Ops=editor,cn=x=viewer@prod,/team/a=none@dev"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestResolve(t *testing.T) {
	const mapping = "admins=admin,netops=editor,staff=viewer," +
		"prod-ops=editor@prod,prod-read=viewer@prod,dev-ops=editor@dev,contractors=none@prod"
	m, err := ParseMapping(mapping)
	if err != nil {
		t.Fatal(err)
	}
	m.Projects = []string{"prod", "dev", "lab"}
	for _, tc := range []struct {
		name       string
		groups     []string
		wantRole   auth.Role
		wantGrants map[string]auth.Role
		wantOK     bool
	}{
		{"no groups", nil, "", nil, false},
		{"unmapped groups", []string{"visitors", "Staff"}, "", nil, false},
		{"one global role", []string{"staff"}, auth.Viewer, map[string]auth.Role{}, true},
		{"highest global role wins", []string{"staff", "netops"}, auth.Editor, map[string]auth.Role{}, true},
		{"admin gets no grants", []string{"admins", "contractors", "prod-read"}, auth.Admin, map[string]auth.Role{}, true},
		{"a project grant above the global role", []string{"staff", "prod-ops"}, auth.Viewer,
			map[string]auth.Role{"prod": auth.Editor}, true},
		{"a project grant below the global role is dropped", []string{"netops", "prod-read"}, auth.Editor,
			map[string]auth.Role{}, true},
		{"highest project grant wins", []string{"staff", "prod-read", "prod-ops"}, auth.Viewer,
			map[string]auth.Role{"prod": auth.Editor}, true},
		{"none denies the project over a global role", []string{"netops", "contractors"}, auth.Editor,
			map[string]auth.Role{"prod": auth.NoAccess}, true},
		{"none denies the project over its grants", []string{"staff", "prod-ops", "contractors"}, auth.Viewer,
			map[string]auth.Role{"prod": auth.NoAccess}, true},
		{"project-only groups: viewer, and every other project taken away", []string{"dev-ops"}, auth.Viewer,
			map[string]auth.Role{"dev": auth.Editor, "prod": auth.NoAccess, "lab": auth.NoAccess, auth.OtherProjects: auth.NoAccess}, true},
		{"project-only groups, one denied: the rest", []string{"dev-ops", "prod-ops", "contractors"}, auth.Viewer,
			map[string]auth.Role{"dev": auth.Editor, "prod": auth.NoAccess, "lab": auth.NoAccess, auth.OtherProjects: auth.NoAccess}, true},
		{"only a denial gives nothing", []string{"contractors"}, "", nil, false},
		{"only denied grants give nothing", []string{"prod-ops", "contractors"}, "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			role, grants, ok := m.Resolve(tc.groups)
			if role != tc.wantRole || ok != tc.wantOK {
				t.Errorf("Resolve(%q) = %q, ok %t; want %q, ok %t", tc.groups, role, ok, tc.wantRole, tc.wantOK)
			}
			if diff := cmp.Diff(tc.wantGrants, grants); diff != "" {
				t.Errorf("grants mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolveWithoutProjects: with Projects unset, the projects the
// mapping names are still taken from a project-only user.
func TestResolveWithoutProjects(t *testing.T) {
	m, err := ParseMapping("dev-ops=editor@dev,prod-read=viewer@prod")
	if err != nil {
		t.Fatal(err)
	}
	role, grants, ok := m.Resolve([]string{"dev-ops"})
	want := map[string]auth.Role{"dev": auth.Editor, "prod": auth.NoAccess, auth.OtherProjects: auth.NoAccess}
	if role != auth.Viewer || !ok {
		t.Errorf("Resolve = %q, ok %t; want viewer, ok", role, ok)
	}
	if diff := cmp.Diff(want, grants); diff != "" {
		t.Errorf("grants mismatch (-want +got):\n%s", diff)
	}
}

func TestMappingUnknownProjects(t *testing.T) {
	m, err := ParseMapping("netops=editor,auditors=viewer@prod,auditors=none@prd,dev=editor@dev,more=viewer@prd")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Unknown([]string{"prod", "dev"}); !slices.Equal(got, []string{"prd"}) {
		t.Errorf("Unknown = %q, want [prd]", got)
	}
	if got := m.Unknown([]string{"prod", "dev", "prd"}); got != nil {
		t.Errorf("Unknown = %q, want none", got)
	}
}

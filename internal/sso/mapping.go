package sso

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/projects"
)

// Mapping says which role the provider's groups give, read from
// OIDC_GROUP_ROLES by ParseMapping. Resolve applies it at every sign-in.
type Mapping struct {
	rules []mappingRule

	// Projects are every project the console serves, set by the wiring from
	// the projects configuration. A user whose groups give only project
	// grants gets NoAccess to each of them not granted (see Resolve).
	Projects []string
}

// mappingRule is one group=role or group=role@project entry.
type mappingRule struct {
	group   string
	role    auth.Role
	project string // "" for a global role
}

// ParseMapping reads comma-separated entries: group=role, where role is
// viewer, editor or admin, gives that role in every project; and
// group=role@project, where role is none, viewer or editor, gives it in one
// project (admin stays global, as in auth). A group name is taken as the
// provider sends it, spaces inside kept; it cannot hold a comma.
func ParseMapping(s string) (Mapping, error) {
	var m Mapping
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// The last '=' splits, so a group name may hold one.
		eq := strings.LastIndex(entry, "=")
		if eq < 0 {
			return Mapping{}, fmt.Errorf("entry %d (%q) is not group=role or group=role@project", i+1, entry)
		}
		r := mappingRule{group: strings.TrimSpace(entry[:eq])}
		if r.group == "" {
			return Mapping{}, fmt.Errorf("entry %d (%q) names no group", i+1, entry)
		}
		role, project, perProject := strings.Cut(strings.TrimSpace(entry[eq+1:]), "@")
		if !perProject {
			g, err := auth.ParseRole(role)
			if err != nil {
				return Mapping{}, fmt.Errorf("entry %d (%q): a role for every project is viewer, editor or admin, not %q", i+1, entry, role)
			}
			r.role = g
		} else {
			g, err := auth.ParseGrant(role)
			if err != nil {
				return Mapping{}, fmt.Errorf("entry %d (%q): a role in one project is none, viewer or editor, not %q (admin is for every project)", i+1, entry, role)
			}
			if !projects.ValidName(project) {
				return Mapping{}, fmt.Errorf("entry %d (%q): %q is not a project name", i+1, entry, project)
			}
			r.role, r.project = g, project
		}
		m.rules = append(m.rules, r)
	}
	if len(m.rules) == 0 {
		return Mapping{}, fmt.Errorf("maps no group: nobody could sign in")
	}
	return m, nil
}

// Resolve returns what groups give: role, the highest global role of the
// matched groups, and grants, one per project that a matched per-project
// entry names. The highest wins in each project, the global role included
// (editor everywhere and viewer@p is editor in p, so no grant for p), except that none@p is a
// denial that wins over every role but admin (a global admin stays admin
// everywhere, as in auth, and gets no grants).
//
// A user whose groups give only per-project roles must not see every other
// project, yet an account's own role is at least viewer and applies to the
// projects without a grant. Such a user therefore gets role viewer, a
// NoAccess grant for every project (auth.OtherProjects: one added to the
// console later included), and for readability the same in each project of
// m.Projects and of the mapping that no entry grants (the admin page lists
// those by name).
//
// ok is false when the groups give nothing: no global role and no project
// grant above none. That sign-in is refused (ReasonNoGroup).
func (m Mapping) Resolve(groups []string) (role auth.Role, grants map[string]auth.Role, ok bool) {
	projectRole := map[string]auth.Role{}
	denied := map[string]bool{}
	for _, r := range m.rules {
		if !slices.Contains(groups, r.group) {
			continue
		}
		switch {
		case r.project == "":
			if r.role.Rank() > role.Rank() {
				role = r.role
			}
		case r.role == auth.NoAccess:
			denied[r.project] = true
		default:
			if r.role.Rank() > projectRole[r.project].Rank() {
				projectRole[r.project] = r.role
			}
		}
	}
	grants = map[string]auth.Role{}
	if role == auth.Admin {
		return role, grants, true
	}
	for p, g := range projectRole {
		if !denied[p] {
			grants[p] = g
		}
	}
	if role == "" {
		if len(grants) == 0 {
			return "", nil, false
		}
		role = auth.Viewer
		for _, p := range m.named() {
			if _, ok := grants[p]; !ok {
				grants[p] = auth.NoAccess
			}
		}
		// And every project not named, one added later included.
		grants[auth.OtherProjects] = auth.NoAccess
		return role, grants, true
	}
	for p := range denied {
		grants[p] = auth.NoAccess
	}
	// A grant no higher than the global role changes nothing: RoleIn gives
	// the global role to a project without one.
	for p, g := range grants {
		if g != auth.NoAccess && g.Rank() <= role.Rank() {
			delete(grants, p)
		}
	}
	return role, grants, true
}

// named is every project m knows of: m.Projects and those its entries name.
func (m Mapping) named() []string {
	names := slices.Clone(m.Projects)
	for _, r := range m.rules {
		if r.project != "" {
			names = append(names, r.project)
		}
	}
	return names
}

// Unknown returns the projects the mapping names that are not in
// projects, in the mapping's order: a typo there would silently give a
// group nothing.
func (m Mapping) Unknown(projects []string) []string {
	var out []string
	for _, r := range m.rules {
		if r.project != "" && !slices.Contains(projects, r.project) && !slices.Contains(out, r.project) {
			out = append(out, r.project)
		}
	}
	return out
}

// String lists the entries as ParseMapping reads them.
func (m Mapping) String() string {
	entries := make([]string, len(m.rules))
	for i, r := range m.rules {
		entries[i] = r.group + "=" + string(r.role)
		if r.project != "" {
			entries[i] += "@" + r.project
		}
	}
	return strings.Join(entries, ",")
}

package audit_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// Two projects in two regions, as one console serving both records them.
const (
	projectA = "aaaa0000aaaa0000aaaa0000aaaa0000"
	projectB = "bbbb1111bbbb1111bbbb1111bbbb1111"
	regionA  = "cn-north-4"
	regionB  = "ap-southeast-1"
)

// projectLog records entries in projects A and B (interleaved, so a page
// of one project skips the other's) and returns each one's id by name.
func projectLog(t *testing.T, log *audit.Log) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int64{}
	for _, e := range []struct{ name, project, region, actor string }{
		{"a1", projectA, regionA, "alice"},
		{"b1", projectB, regionB, "alice"},
		{"a2", projectA, regionA, "bob"},
		{"b2", projectB, regionB, "bob"},
		{"a3", projectA, regionA, "alice"},
		{"b3", projectB, regionB, "carol"},
	} {
		s := start("ep-"+e.name, e.actor)
		s.ProjectID, s.Region = e.project, e.region
		entry, err := log.Begin(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Finalise(ctx, entry, succeeded()); err != nil {
			t.Fatal(err)
		}
		ids[e.name] = entry.ID
	}
	return ids
}

// List, Count, keyset paging and the exports' Each keep to the projects a
// reader may view (ProjectIDs) and to the project and region filters.
func TestProjectFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, _ := freshLog(t)
	ids := projectLog(t, log)
	tests := []struct {
		name string
		f    audit.Filter
		want []string // newest first
	}{
		{"every project", audit.Filter{}, []string{"b3", "a3", "b2", "a2", "b1", "a1"}},
		{"reader of A", audit.Filter{ProjectIDs: []string{projectA}}, []string{"a3", "a2", "a1"}},
		{"reader of B", audit.Filter{ProjectIDs: []string{projectB}}, []string{"b3", "b2", "b1"}},
		{"reader of both", audit.Filter{ProjectIDs: []string{projectB, projectA}}, []string{"b3", "a3", "b2", "a2", "b1", "a1"}},
		{"reader of A and an unknown project", audit.Filter{ProjectIDs: []string{projectA, "cccc"}}, []string{"a3", "a2", "a1"}},
		{"reader of no project", audit.Filter{ProjectIDs: []string{}}, nil},
		{"project A", audit.Filter{ProjectID: projectA}, []string{"a3", "a2", "a1"}},
		{"region B", audit.Filter{Region: regionB}, []string{"b3", "b2", "b1"}},
		{"project A in region B", audit.Filter{ProjectID: projectA, Region: regionB}, nil},
		{"reader of A filtering B", audit.Filter{ProjectIDs: []string{projectA}, ProjectID: projectB}, nil},
		{"reader of A filtering region B", audit.Filter{ProjectIDs: []string{projectA}, Region: regionB}, nil},
		{"reader of both filtering A", audit.Filter{ProjectIDs: []string{projectA, projectB}, ProjectID: projectA}, []string{"a3", "a2", "a1"}},
		{"reader of A, an actor in both", audit.Filter{ProjectIDs: []string{projectA}, Actor: "ALICE"}, []string{"a3", "a1"}},
		{"reader of B, another actor in both", audit.Filter{ProjectIDs: []string{projectB}, Actor: "bob"}, []string{"b2"}},
		{"reader of A, an actor only in B", audit.Filter{ProjectIDs: []string{projectA}, Actor: "carol"}, nil},
		{"reader of A, B's endpoint", audit.Filter{ProjectIDs: []string{projectA}, EndpointID: "ep-b1"}, nil},
		{"reader of A, text", audit.Filter{ProjectIDs: []string{projectA}, Text: "OPS-1"}, []string{"a3", "a2", "a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, n := range tt.want {
				want = append(want, ids[n])
			}
			p, err := log.List(ctx, tt.f, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, entryIDs(p.Entries)); diff != "" {
				t.Errorf("List mismatch (-want +got):\n%s", diff)
			}
			n, more, err := log.Count(ctx, tt.f)
			if err != nil || n != len(want) || more {
				t.Errorf("Count = %d, %v, %v; want %d", n, more, err, len(want))
			}
			var paged []int64
			for cursor := ""; ; {
				p, err := log.List(ctx, tt.f, cursor, 1)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, entryIDs(p.Entries)...)
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if diff := cmp.Diff(want, paged); diff != "" {
				t.Errorf("paged one at a time (-want +got):\n%s", diff)
			}
			var exported []int64
			if err := log.Each(ctx, tt.f, func(e *audit.Entry) error { exported = append(exported, e.ID); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, exported); diff != "" {
				t.Errorf("export (Each) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func entryIDs(entries []*audit.Entry) []int64 {
	var out []int64
	for _, e := range entries {
		out = append(out, e.ID)
	}
	return out
}

// The cached pages and counts are keyed on the projects: a page cached for
// a reader of A is never served to a reader of B, nor to one of no
// project, nor to the view of every project.
func TestAuditCacheKeepsProjectsApart(t *testing.T) {
	t.Parallel()
	url := testdb.Migrated(t)
	log := watchedLog(t, url)
	ids := projectLog(t, log)
	only := func(names ...string) view {
		v := view{count: len(names)}
		for _, n := range names {
			v.ids = append(v.ids, ids[n])
		}
		return v
	}
	views := []struct {
		name string
		f    audit.Filter
		want view
	}{
		{"reader of A", audit.Filter{ProjectIDs: []string{projectA}}, only("a3", "a2", "a1")},
		{"reader of B", audit.Filter{ProjectIDs: []string{projectB}}, only("b3", "b2", "b1")},
		{"reader of none", audit.Filter{ProjectIDs: []string{}}, only()},
		{"every project", audit.Filter{}, only("b3", "a3", "b2", "a2", "b1", "a1")},
		{"project A", audit.Filter{ProjectID: projectA}, only("a3", "a2", "a1")},
		{"project B", audit.Filter{ProjectID: projectB}, only("b3", "b2", "b1")},
		{"region A", audit.Filter{Region: regionA}, only("a3", "a2", "a1")},
		{"region B", audit.Filter{Region: regionB}, only("b3", "b2", "b1")},
		{"reader of A, project B", audit.Filter{ProjectIDs: []string{projectA}, ProjectID: projectB}, only()},
	}
	// Twice round, so the second reads come from the cache (it listens
	// and nothing is written in between).
	for round := range 2 {
		for _, v := range views {
			if diff := cmp.Diff(v.want, viewOf(t, log, v.f), cmp.AllowUnexported(view{})); diff != "" {
				t.Errorf("round %d, %s: mismatch (-want +got):\n%s", round, v.name, diff)
			}
		}
	}
}

package audit_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
)

// searchLog records entries whose endpoints share prefixes, whose actors
// differ in case and whose reasons and notes say different things. It
// returns the log and each entry's id by name.
func searchLog(t *testing.T) (*audit.Log, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	log, _ := freshLog(t)
	ids := map[string]int64{}
	for _, e := range []struct{ name, endpoint, actor, reason, note string }{
		{"a1", "4a1e-0001", "Alice", "ticket OPS-1: logs only", ""},
		{"a2", "4a1e-0002", "alice", "Widen access for the Payments team", "settled by the reconciler"},
		{"b1", "4b2f-0001", "bob", "rotate keys", "read-back matched neither side"},
		{"b2", "4b2f-0002", "BOB", "payments outage rollback", ""},
		{"c1", "5c3a-0001", "carol", "日本語の理由 ticket", ""},
		{"x1", "4a1f-0001", "alicia", "100% of_traffic", ""},
	} {
		s := start(e.endpoint, e.actor)
		s.Reason = e.reason
		entry, err := log.Begin(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		f := succeeded()
		f.Note = e.note
		if err := log.Finalise(ctx, entry, f); err != nil {
			t.Fatal(err)
		}
		ids[e.name] = entry.ID
	}
	return log, ids
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, ids := searchLog(t)
	tests := []struct {
		name string
		f    audit.Filter
		want []string // newest first
	}{
		{"endpoint prefix", audit.Filter{EndpointPrefix: "4a1e"}, []string{"a2", "a1"}},
		{"endpoint prefix of one character", audit.Filter{EndpointPrefix: "4"}, []string{"x1", "b2", "b1", "a2", "a1"}},
		{"endpoint prefix is not a substring", audit.Filter{EndpointPrefix: "0001"}, nil},
		{"a whole id is its own prefix", audit.Filter{EndpointPrefix: "4b2f-0002"}, []string{"b2"}},
		{"LIKE characters are literal", audit.Filter{EndpointPrefix: "4a1_"}, nil},
		{"actor in any case", audit.Filter{Actor: "ALICE"}, []string{"a2", "a1"}},
		{"actor is whole, not a prefix", audit.Filter{Actor: "ali"}, nil},
		{"actor bob", audit.Filter{Actor: "Bob"}, []string{"b2", "b1"}},
		{"text in reason, any case", audit.Filter{Text: "PAYMENTS"}, []string{"b2", "a2"}},
		{"text in note", audit.Filter{Text: "reconciler"}, []string{"a2"}},
		{"two words, both needed", audit.Filter{Text: "payments rollback"}, []string{"b2"}},
		{"or", audit.Filter{Text: "keys or logs"}, []string{"b1", "a1"}},
		{"not", audit.Filter{Text: "payments -outage"}, []string{"a2"}},
		{"phrase", audit.Filter{Text: `"neither side"`}, []string{"b1"}},
		{"ticket number", audit.Filter{Text: "OPS-1"}, []string{"a1"}},
		{"non-ASCII word", audit.Filter{Text: "ticket"}, []string{"c1", "a1"}},
		{"punctuation only matches nothing", audit.Filter{Text: "%_'"}, nil},
		{"text and actor", audit.Filter{Text: "payments", Actor: "alice"}, []string{"a2"}},
		{"prefix and text", audit.Filter{EndpointPrefix: "4b", Text: "rotate"}, []string{"b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, n := range tt.want {
				want = append(want, ids[n])
			}
			var got []int64
			p, err := log.List(ctx, tt.f, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Entries {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List mismatch (-want +got):\n%s", diff)
			}
			n, more, err := log.Count(ctx, tt.f)
			if err != nil || n != len(want) || more {
				t.Errorf("Count = %d, %v, %v; want %d", n, more, err, len(want))
			}
			// Keyset paging keeps to the filter, one entry a page.
			var paged []int64
			for cursor := ""; ; {
				p, err := log.List(ctx, tt.f, cursor, 1)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range p.Entries {
					paged = append(paged, e.ID)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(want, paged) {
				t.Errorf("paged one at a time: %v, want %v", paged, want)
			}
		})
	}
}

func TestCountStopsAtTheLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, pool := freshLog(t)
	// Rows by hand, hashes aside: only counting is under test here.
	insert := func(n int, actor string) {
		t.Helper()
		_, err := pool.Exec(ctx, `INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id,
				endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash, hash)
			SELECT now(), $2, 'p', 'r', $2 || '-' || i, 's', 'update', 'bulk change', 'null', '[]', '', ''
			FROM generate_series(1, $1) i`, n, actor)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(audit.CountLimit, "alice")
	insert(1, "bob")
	tests := []struct {
		f    audit.Filter
		n    int
		more bool
	}{
		{audit.Filter{Actor: "alice"}, audit.CountLimit, false},
		{audit.Filter{}, audit.CountLimit, true},
		{audit.Filter{Actor: "bob"}, 1, false},
		{audit.Filter{Text: "bulk"}, audit.CountLimit, true},
	}
	for _, tt := range tests {
		n, more, err := log.Count(ctx, tt.f)
		if err != nil || n != tt.n || more != tt.more {
			t.Errorf("Count(%+v) = %d, %v, %v; want %d, %v", tt.f, n, more, err, tt.n, tt.more)
		}
	}
}

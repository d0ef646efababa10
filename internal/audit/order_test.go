package audit

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// A text search's two ways to a page (walking ids, or reading every match
// and sorting) give the same entries, from the newest and deep in the log,
// for a word in most entries, one in a few, and with an actor; List takes
// the walk for the common word (more matches than sparseMatches) and the
// sort for the rare one, and both page through every match.
func TestTextSearchOrdersAgree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	n := sparseMatches + 500
	if _, err := pool.Exec(ctx, `
		INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id, endpoint_service_name,
			action, reason, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, final_hash, format_version)
		SELECT now(), CASE WHEN g % 2 = 0 THEN 'Alice' ELSE 'bob' END, 'p1', 'r', 'ep-' || g, 's', 'update',
			'common' || CASE WHEN g % 97 = 0 THEN ' rare' ELSE '' END, '[]', '[]',
			md5(g::text), md5((g + 1)::text), 'succeeded', now(), md5(g::text), 2
		FROM generate_series(1, $1::int) g`, n); err != nil {
		t.Fatal(err)
	}
	l := New(pool)
	for _, f := range []Filter{{Text: "common"}, {Text: "rare"}, {Text: "common", Actor: "alice"}, {Text: "rare", Actor: "BOB"}} {
		for _, before := range []int64{0, int64(n) - 7, int64(n) / 2, 100} {
			walked, err := l.page(ctx, f, before, 51, newestFirst)
			if err != nil {
				t.Fatal(err)
			}
			sorted, err := l.page(ctx, f, before, 51, matchesSorted)
			if err != nil {
				t.Fatal(err)
			}
			if len(walked) == 0 {
				t.Fatalf("%+v before %d: no entries", f, before)
			}
			if diff := cmp.Diff(walked, sorted, cmp.AllowUnexported(Entry{})); diff != "" {
				t.Errorf("%+v before %d: mismatch (-walked +sorted):\n%s", f, before, diff)
			}
		}
		want, _, err := l.Count(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		seen, cursor := 0, ""
		for {
			p, err := l.List(ctx, f, cursor, 200)
			if err != nil {
				t.Fatal(err)
			}
			seen += len(p.Entries)
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if seen != want {
			t.Errorf("%+v: List paged through %d entries, Count says %d", f, seen, want)
		}
	}
}

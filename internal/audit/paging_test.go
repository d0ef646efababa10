package audit

import (
	"context"
	"slices"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

func TestEachReadsEveryPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	// Rows by hand, hashes aside: only paging is under test here.
	n := 2*eachBatch + 3
	_, err := pool.Exec(ctx, `INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id,
			endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash, hash)
		SELECT now(), CASE WHEN i % 3 = 0 THEN 'bob' ELSE 'alice' END, 'p', 'r', 'ep-' || i, 's', 'update', 'r', 'null', '[]', '', ''
		FROM generate_series(1, $1) i`, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    Filter
		want int
	}{{Filter{}, n}, {Filter{Actor: "bob"}, n / 3}, {Filter{Actor: "carol"}, 0}} {
		var ids []int64
		if err := New(pool).Each(ctx, tt.f, func(e *Entry) error { ids = append(ids, e.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		sorted := slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) })
		if len(ids) != tt.want || !sorted || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Errorf("Each(%+v): %d entries (sorted newest first: %v), want %d", tt.f, len(ids), sorted, tt.want)
		}
	}
}

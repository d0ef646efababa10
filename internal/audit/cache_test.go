package audit_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// watchedLog returns a Log on url that caches while it listens.
func watchedLog(t *testing.T, url string) *audit.Log {
	t.Helper()
	l := audit.New(testdb.Pool(t, url))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Watch(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the log listens for changes", l.Caching)
	return l
}

// eventually waits (10 s at most) for cond, which a notification from
// another replica makes true.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
	}
}

// view is what /audit shows for f: the newest page's ids and the count.
type view struct {
	ids   []int64
	count int
}

func viewOf(t *testing.T, l *audit.Log, f audit.Filter) view {
	t.Helper()
	ctx := context.Background()
	p, err := l.List(ctx, f, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := l.Count(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	v := view{count: n}
	for _, e := range p.Entries {
		v.ids = append(v.ids, e.ID)
	}
	return v
}

// Two replicas: an entry one appends, and its finalising, the other's next
// page and count show once the notification arrives; the writer shows them
// at once.
func TestReplicasSeeEachOthersAuditChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	a, b := watchedLog(t, url), watchedLog(t, url)
	all, done := audit.Filter{}, audit.Filter{Outcome: audit.OutcomeSucceeded}
	for _, l := range []*audit.Log{a, b} { // both cache the empty log
		if v := viewOf(t, l, all); v.count != 0 || len(v.ids) != 0 {
			t.Fatalf("a new log shows %+v", v)
		}
	}

	e, err := a.Begin(ctx, start("ep-1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if v := viewOf(t, a, all); v.count != 1 || len(v.ids) != 1 || v.ids[0] != e.ID {
		t.Fatalf("the writing replica shows %+v after its append", v)
	}
	eventually(t, "replica b shows the entry a appended", func() bool {
		v := viewOf(t, b, all)
		return v.count == 1 && len(v.ids) == 1 && v.ids[0] == e.ID
	})
	if v := viewOf(t, b, done); v.count != 0 {
		t.Fatalf("replica b counts %d succeeded entries before the finalise", v.count)
	}

	if err := a.Finalise(ctx, e, succeeded()); err != nil {
		t.Fatal(err)
	}
	if v := viewOf(t, a, done); v.count != 1 {
		t.Fatalf("the writing replica counts %d succeeded entries after its finalise", v.count)
	}
	eventually(t, "replica b counts the entry a finalised", func() bool { return viewOf(t, b, done).count == 1 })
	eventually(t, "replica b's page shows the outcome", func() bool {
		p, err := b.List(ctx, done, "", 50)
		return err == nil && len(p.Entries) == 1 && p.Entries[0].Outcome == audit.OutcomeSucceeded
	})
}

// insertUnnotified appends a copy of entry id with a new id without firing
// triggers (so without a notification): what a cached answer cannot see.
func insertUnnotified(t *testing.T, pool *pgxpool.Pool, id int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id,
			endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash, hash, outcome, format_version)
		SELECT started_at, actor, project_id, region, endpoint_id || '-copy-' || (SELECT count(*) FROM audit_entries),
			endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash,
			md5(random()::text) || md5(random()::text), 'pending', format_version
		FROM audit_entries WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// The cache answers without the database while it listens: a row written
// without a notification stays unseen until one arrives. When the LISTEN
// is lost nothing is served from the cache, so the row is seen at once.
func TestAuditCacheServesUntilNotifiedAndNotWithoutListen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	pool := testdb.Pool(t, url)
	// Appended before the watcher listens, so its own notification cannot
	// arrive after the view below is cached.
	e, err := audit.New(pool).Begin(ctx, start("ep-1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	l := watchedLog(t, url)
	if v := viewOf(t, l, audit.Filter{}); v.count != 1 {
		t.Fatalf("count %d, want 1", v.count)
	}

	insertUnnotified(t, pool, e.ID)
	if v := viewOf(t, l, audit.Filter{}); v.count != 1 || len(v.ids) != 1 {
		t.Fatalf("without a notification the cached view changed: %+v", v)
	}
	if _, err := pool.Exec(ctx, `SELECT pg_notify('vpcep_audit', '')`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a notification drops the cached view", func() bool {
		v := viewOf(t, l, audit.Filter{})
		return v.count == 2 && len(v.ids) == 2
	})

	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the log notices its LISTEN is gone", func() bool { return !l.Caching() })
	insertUnnotified(t, pool, e.ID)
	if v := viewOf(t, l, audit.Filter{}); v.count != 3 || len(v.ids) != 3 {
		t.Fatalf("without a LISTEN the view is not the database's: %+v", v)
	}
	eventually(t, "the log listens again", l.Caching)
	insertUnnotified(t, pool, e.ID)
	eventually(t, "after listening again the view is the database's", func() bool {
		return viewOf(t, l, audit.Filter{}).count == 4
	})
}

package audit

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/migrations"
)

func pendingStart(endpoint string) Start {
	s := testStart("alice", "r")
	s.EndpointID = endpoint
	return s
}

// One change per endpoint may be in flight: Begin refuses a second pending
// entry for the endpoint and names the first; other endpoints are free.
func TestOnePendingEntryPerEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	l := New(pool)
	first, err := l.Begin(ctx, pendingStart("ep-1"))
	if err != nil {
		t.Fatal(err)
	}
	var pe *PendingEntryError
	if _, err := l.Begin(ctx, pendingStart("ep-1")); !errors.As(err, &pe) || pe.Existing != first.ID {
		t.Fatalf("second Begin for ep-1 = %v, want PendingEntryError naming #%d", err, first.ID)
	}
	other, err := l.Begin(ctx, pendingStart("ep-2"))
	if err != nil {
		t.Fatalf("Begin for another endpoint: %v", err)
	}
	if err := l.Finalise(ctx, first, testFinal()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Begin(ctx, pendingStart("ep-1")); err != nil {
		t.Fatalf("Begin after the pending entry was settled: %v", err)
	}
	// The database itself refuses a second pending row, whatever the code does.
	_, err = pool.Exec(ctx, `INSERT INTO audit_entries (started_at, actor, project_id, region, endpoint_id,
			endpoint_service_name, action, reason, policy_before, policy_requested, prev_hash, hash)
		VALUES (now(), 'mallory', 'p', 'r', $1, 's', 'update', 'r', 'null', '[]', '', '')`, other.EndpointID)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != onePendingIndex {
		t.Fatalf("a second pending row for %s: %v", other.EndpointID, err)
	}
	// Finalising an entry twice says it is no longer pending.
	if err := l.Finalise(ctx, first, testFinal()); !errors.Is(err, ErrNotPending) {
		t.Fatalf("second Finalise = %v, want ErrNotPending", err)
	}
	verifyOK(t, l, 3)
}

// An earlier version could leave two pending entries for one endpoint; the
// migration keeps them (the log is never edited), and Begin still refuses
// a new change until they are settled.
func TestOnePendingMigrationKeepsEarlierEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Empty(t))
	migrateTo(t, pool, migrations.FS, 4)
	v4 := &Log{pool: pool, format: formatAt(2)} // the binary of schema 4 wrote version 2
	a, err := v4.Begin(ctx, pendingStart("ep-1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := v4.Begin(ctx, pendingStart("ep-2"))
	if err != nil {
		t.Fatal(err)
	}
	// As the earlier version could: a second pending entry for ep-1.
	if _, err := pool.Exec(ctx, `UPDATE audit_entries SET endpoint_id = 'ep-1' WHERE id = $1`, b.ID); err == nil {
		t.Fatal("the append-only trigger let endpoint_id change")
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only;
		UPDATE audit_entries SET endpoint_id = 'ep-1' WHERE id = `+strconv.FormatInt(b.ID, 10)+`;
		ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only`); err != nil {
		t.Fatal(err)
	}
	migrateTo(t, pool, migrations.FS, 0)
	var pe *PendingEntryError
	if _, err := New(pool).Begin(ctx, pendingStart("ep-1")); !errors.As(err, &pe) || pe.Existing != a.ID {
		t.Fatalf("Begin with two earlier pending entries = %v, want PendingEntryError naming #%d", err, a.ID)
	}
}

// formatAt is the format a binary writing version wrote with: the fields
// of entryFields that version has.
func formatAt(version int) *format {
	var fields []field
	for _, f := range entryFields {
		if f.since <= version {
			fields = append(fields, f)
		}
	}
	return newFormat(version, fields)
}

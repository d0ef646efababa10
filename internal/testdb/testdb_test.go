package testdb

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

var packageDB string

func TestMain(m *testing.M) { os.Exit(Main(m, &packageDB)) }

// Every Migrated database is migrated, and a copy of its own: rows written
// in one are not in another.
func TestMigratedDatabasesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := Pool(t, Migrated(t)), Pool(t, Migrated(t))
	if _, err := a.Exec(ctx, `INSERT INTO login_failures (account_name, client_ip) VALUES ('x', 'y')`); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"first": 1, "second": 0} {
		pool := a
		if name == "second" {
			pool = b
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_failures`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s database has %d rows, want %d", name, n, want)
		}
	}
	var version int64
	if err := Pool(t, packageDB).QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil || version < 3 {
		t.Fatalf("package database at migration %d, %v", version, err)
	}
}

// The template is dropped with the process; while it lives nobody may be
// connected to it, or copying it fails.
func TestTemplateHasNoSessions(t *testing.T) {
	t.Parallel()
	srv, err := serverURL()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := migratedTemplate(srv)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), srv)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, tmpl).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d sessions on the template, %v", n, err)
	}
}

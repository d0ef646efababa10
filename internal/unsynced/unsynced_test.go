package unsynced_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/unsynced"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

func TestWrite(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Empty(t))
	if _, err := pool.Exec(ctx, `CREATE TABLE copies (id int PRIMARY KEY, body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM copies`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Two statements and their results, committed together without
	// waiting for the disk.
	var inserted int64
	var syncSetting string
	err := unsynced.Write(ctx, pool, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO copies VALUES (1, 'a'), (2, 'b')`).Exec(func(ct pgconn.CommandTag) error {
			inserted = ct.RowsAffected()
			return nil
		})
		b.Queue(`SELECT current_setting('synchronous_commit')`).QueryRow(func(row pgx.Row) error { return row.Scan(&syncSetting) })
	})
	if err != nil || inserted != 2 || syncSetting != "off" || count() != 2 {
		t.Fatalf("write: %v, inserted %d, synchronous_commit %q, %d rows", err, inserted, syncSetting, count())
	}

	// A failing statement writes nothing of the transaction, and every
	// connection the pool hands out afterwards is outside a transaction.
	err = unsynced.Write(ctx, pool, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO copies VALUES (3, 'c')`)
		b.Queue(`INSERT INTO copies VALUES (1, 'again')`)
	})
	if err == nil {
		t.Fatal("a duplicate key was written")
	}
	if n := count(); n != 2 {
		t.Errorf("after the failed write %d rows, want 2", n)
	}
	for range 4 {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if status := c.Conn().PgConn().TxStatus(); status != 'I' {
			t.Errorf("the pool handed out a connection in transaction status %q", status)
		}
		c.Release()
	}
}

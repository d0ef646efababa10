package pglock_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

var dbURL string

// Advisory locks are per database, and every test locks a name of its own
// (its test name), so the tests share the package database in parallel.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

// pool opens a pool on the package database with at most maxConns
// connections, closed when t ends. Two pools are two replicas.
func pool(t *testing.T, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = maxConns
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// holders returns the pids of the sessions holding the named lock, as
// Postgres sees them: a bigint advisory key is split into classid (high 32
// bits) and objid (low 32 bits), with objsubid 1.
func holders(t *testing.T, p *pgxpool.Pool, name string) []int32 {
	t.Helper()
	rows, err := p.Query(context.Background(), `
		SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND (classid::bigint << 32) | objid::bigint = hashtextextended($1, 0)`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int32
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return pids
}

// mustLock takes the named lock, failing t if it is not free.
func mustLock(t *testing.T, p *pgxpool.Pool, name string) func() {
	t.Helper()
	l, ok, err := pglock.TryLock(context.Background(), p, name)
	if err != nil || !ok {
		t.Fatalf("TryLock(%q) = %v, %v; want the lock", name, ok, err)
	}
	return l.Release
}

// mustBeBusy fails t unless the named lock is held by another session.
func mustBeBusy(t *testing.T, p *pgxpool.Pool, name string) {
	t.Helper()
	l, ok, err := pglock.TryLock(context.Background(), p, name)
	if err != nil || ok || l != nil {
		t.Fatalf("TryLock(%q) while held = %v, %v (lock %v); want busy", name, ok, err, l != nil)
	}
}

func TestTryLockExcludesOtherSessions(t *testing.T) {
	t.Parallel()
	name := t.Name()
	replicaA, replicaB := pool(t, 4), pool(t, 4)

	release := mustLock(t, replicaA, name)
	if pids := holders(t, replicaB, name); len(pids) != 1 {
		t.Fatalf("holders while locked = %v, want one", pids)
	}
	mustBeBusy(t, replicaB, name)
	// Another connection of the same pool is another session: it is excluded too.
	mustBeBusy(t, replicaA, name)
	mustLock(t, replicaB, name+"/other")() // a different name is a different lock

	release()
	if pids := holders(t, replicaB, name); len(pids) != 0 {
		t.Fatalf("holders after release = %v, want none", pids)
	}
	mustLock(t, replicaB, name)()
}

func TestLockGivesUpAfterTheWait(t *testing.T) {
	t.Parallel()
	name := t.Name()
	replicaA, replicaB := pool(t, 4), pool(t, 4)
	release := mustLock(t, replicaA, name)
	defer release()

	const wait = 300 * time.Millisecond
	start := time.Now()
	got, err := pglock.Wait(context.Background(), replicaB, name, wait)
	if !errors.Is(err, pglock.ErrBusy) || got != nil {
		t.Fatalf("Lock while held = %v (release %v), want ErrBusy", err, got != nil)
	}
	if waited := time.Since(start); waited < wait {
		t.Fatalf("Lock gave up after %v, before its wait of %v", waited, wait)
	}
}

func TestLockSucceedsOnceReleasedDuringTheWait(t *testing.T) {
	t.Parallel()
	name := t.Name()
	replicaA, replicaB := pool(t, 4), pool(t, 4)
	release := mustLock(t, replicaA, name)

	const heldFor = 200 * time.Millisecond
	go func() {
		time.Sleep(heldFor)
		release()
	}()
	start := time.Now()
	got, err := pglock.Wait(context.Background(), replicaB, name, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock = %v, want the lock once released", err)
	}
	defer got.Release()
	if waited := time.Since(start); waited < heldFor {
		t.Fatalf("Lock returned after %v, while the lock was still held", waited)
	}
	mustBeBusy(t, replicaA, name)
}

func TestLockStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	name := t.Name()
	replicaA, replicaB := pool(t, 4), pool(t, 4)
	release := mustLock(t, replicaA, name)
	defer release()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := pglock.Wait(ctx, replicaB, name, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with an ended context = %v, want context.DeadlineExceeded", err)
	}
}

func TestReleaseAfterTheHolderWasKilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := t.Name()
	// One connection: whatever the holder's pool hands out next is the
	// connection the release gave back, or a new one in its place.
	holder, admin := pool(t, 1), pool(t, 4)

	l, ok, err := pglock.TryLock(ctx, holder, name)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check while held = %v", err)
	}
	pids := holders(t, admin, name)
	if len(pids) != 1 {
		t.Fatalf("holders = %v, want one", pids)
	}
	killed := pids[0]
	var terminated bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, killed).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", killed, terminated, err)
	}

	// The holder finds out before acting on what the lock guards.
	if err := l.Check(ctx); !errors.Is(err, pglock.ErrLost) {
		t.Fatalf("Check after the session was killed = %v, want ErrLost", err)
	}
	l.Release() // the unlock fails on the dead connection: it must not panic
	l.Release() // and a second release is harmless

	conn, err := holder.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var pid int32
	var advisoryLocks int
	if err := conn.QueryRow(ctx, `
		SELECT pg_backend_pid(),
			(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')`,
	).Scan(&pid, &advisoryLocks); err != nil {
		t.Fatalf("the pool handed out a broken connection after the release: %v", err)
	}
	if pid == killed || advisoryLocks != 0 {
		t.Fatalf("after the release the pool hands out session %d (killed %d) holding %d advisory locks", pid, killed, advisoryLocks)
	}
	conn.Release()

	// The session's end freed the lock: both replicas can take it.
	mustLock(t, admin, name)()
	mustLock(t, holder, name)()
}

// A transaction lock shares the names' key space and ends with its
// transaction.
func TestXactLockEndsWithItsTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := t.Name()
	holder, other := pool(t, 2), pool(t, 2)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := pglock.XactLock(ctx, tx, name); err != nil {
		t.Fatal(err)
	}
	mustBeBusy(t, other, name)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustLock(t, other, name)()
}

// Work and the unlock in one round trip: the lock is held while the work
// runs and given back after it; when the work fails, the lock stays held
// (Check says so), and Release gives it back on the same session, which
// goes back to the pool outside any transaction.
func TestReleaseQueuedAfterWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := t.Name()
	replicaA, replicaB := pool(t, 1), pool(t, 4)
	pid := func() (pid int32) {
		t.Helper()
		// Bounded: a session never handed back would hang the pool of one.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := replicaA.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	session := pid()

	l, err := pglock.Wait(ctx, replicaA, name, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Release) // so a failure does not keep the pool's one connection
	var heldDuring bool
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid())`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&heldDuring)
	})
	l.QueueRelease(b)
	if err := l.SendBatch(ctx, b).Close(); err != nil || !heldDuring || !l.Released() {
		t.Fatalf("batch: %v, held during the work %v, released %v", err, heldDuring, l.Released())
	}
	if pids := holders(t, replicaB, name); len(pids) != 0 {
		t.Fatalf("holders after the batch = %v, want none", pids)
	}
	l.Release()
	if got := pid(); got != session {
		t.Fatalf("the session went from %d to %d: Release closed a healthy connection", session, got)
	}

	// A failing statement skips the unlock: still held (Check says so, as
	// another session finds), then released; Release, called straight
	// after a failed batch too, ends its transaction first.
	fail := func() *pglock.Lock {
		t.Helper()
		l, err := pglock.Wait(ctx, replicaA, name, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Release)
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		b.Queue(`SELECT 1 / 0`)
		b.Queue(`COMMIT`)
		l.QueueRelease(b)
		if err := l.SendBatch(ctx, b).Close(); err == nil || l.Released() {
			t.Fatalf("the failing batch: %v, released %v", err, l.Released())
		}
		mustBeBusy(t, replicaB, name)
		return l
	}
	released := func(how string) {
		t.Helper()
		if pids := holders(t, replicaB, name); len(pids) != 0 {
			t.Fatalf("%s: holders after Release = %v, want none", how, pids)
		}
		if got := pid(); got != session {
			t.Fatalf("%s: the session went from %d to %d: Release closed the connection instead of ending its transaction", how, session, got)
		}
	}
	l = fail()
	if err := l.Check(ctx); err != nil {
		t.Fatalf("Check after the failed batch = %v, want the lock still held", err)
	}
	l.Release()
	released("checked first")
	fail().Release()
	released("released at once")
}

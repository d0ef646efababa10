// Package pglock is the console's one way of taking a Postgres advisory
// lock by name: a session lock (Lock), held on one pooled connection for as
// long as the caller needs, checkable (the session can die under the
// holder) and released so that the connection never goes back to the pool
// still holding it; or a transaction lock (XactLock), which ends with its
// transaction.
package pglock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBusy means someone else held the lock for the whole wait.
var ErrBusy = errors.New("pglock: the lock is held by someone else")

// ErrLost means the lock's session ended (its connection was killed or
// lost) or no longer holds the lock: someone else may hold it now.
var ErrLost = errors.New("pglock: the lock was lost with its database session")

// key turns a lock name into the advisory lock's bigint key. It is computed
// by Postgres so that every replica, whatever its version, agrees on it.
const key = `hashtextextended($1, 0)`

// Lock is a held advisory lock.
type Lock struct {
	conn *pgxpool.Conn
	name string
	once sync.Once
	// unlocked is set when an unlock queued with QueueRelease confirmed
	// it: Release then only hands the connection back.
	unlocked bool
}

// TryLock takes the named lock if it is free. ok is false, with a nil
// Lock, when another session holds it.
func TryLock(ctx context.Context, pool *pgxpool.Pool, name string) (l *Lock, ok bool, err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("pglock: lock %q: %w", name, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&ok); err != nil {
		// The session's state is unknown (the lock may have been taken
		// before the answer was lost): never hand it back to the pool.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
		return nil, false, fmt.Errorf("pglock: lock %q: %w", name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return &Lock{conn: conn, name: name}, true, nil
}

// Wait takes the named lock, waiting up to wait for it. It polls with
// pg_try_advisory_lock rather than blocking in pg_advisory_lock, so that
// waiters do not each hold a pooled connection the holder may need.
func Wait(ctx context.Context, pool *pgxpool.Pool, name string, wait time.Duration) (*Lock, error) {
	deadline := time.Now().Add(wait)
	for {
		l, ok, err := TryLock(ctx, pool, name)
		if err != nil || ok {
			return l, err
		}
		if time.Now().After(deadline) {
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond):
		}
	}
}

// Check confirms that the lock is still held by its session: nil, or an
// error wrapping ErrLost. Call it before doing what the lock guards, and
// after a batch (SendBatch) failed, to learn whether the session lives on.
func (l *Lock) Check(ctx context.Context) error {
	if err := l.endFailedTx(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrLost, err)
	}
	// A bigint advisory key shows in pg_locks split into classid (high 32
	// bits) and objid (low 32 bits), with objsubid 1.
	var held bool
	err := l.conn.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() AND objsubid = 1
				AND (classid::bigint << 32) | objid::bigint = `+key+`)`, l.name).Scan(&held)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrLost, err)
	case !held:
		return ErrLost
	}
	return nil
}

// SendBatch sends b on the lock's session in one round trip: work that
// must be done while the lock is held, and, queued last with QueueRelease,
// the unlock. Nothing else may use the lock (Check) until its results are
// closed. Its statements' callbacks must not fail: pgx stops reading
// results at the first that does, while the server still runs every
// statement, the unlock too.
func (l *Lock) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return l.conn.SendBatch(ctx, b)
}

// QueueRelease queues the unlock as b's next statement, for SendBatch: the
// lock is given back in the same round trip as the work before it, and
// only when that work succeeded (a statement the server fails skips the
// rest of the batch). Released says whether it did. Release must still be
// called: it unlocks when the queued unlock did not run.
func (l *Lock) QueueRelease(b *pgx.Batch) {
	b.Queue(unlockSQL, l.name).QueryRow(func(row pgx.Row) error {
		return row.Scan(&l.unlocked)
	})
}

// Released reports whether an unlock queued with QueueRelease gave the
// lock back: from then on nothing it guards may be done.
func (l *Lock) Released() bool { return l.unlocked }

// unlockSQL gives back the lock named $1, reporting whether it was held.
const unlockSQL = `SELECT pg_advisory_unlock(` + key + `)`

// endFailedTx ends the transaction a failed batch (SendBatch) left open on
// the lock's session; no other transaction is ever left open on it.
func (l *Lock) endFailedTx(ctx context.Context) error {
	if l.conn.Conn().PgConn().TxStatus() == 'I' {
		return nil
	}
	_, err := l.conn.Exec(ctx, `ROLLBACK`)
	return err
}

// XactLock takes the named lock for the rest of the transaction tx, waiting
// for it: the lock ends with the transaction, so it can never outlive its
// work or be lost apart from it. Names share the key space of Lock's.
func XactLock(ctx context.Context, tx pgx.Tx, name string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+key+`)`, name); err != nil {
		return fmt.Errorf("pglock: lock %q: %w", name, err)
	}
	return nil
}

// Release gives the lock back. It never fails and may be called more than
// once: when the unlock cannot be confirmed the connection is closed, which
// ends the session and with it every lock it held.
func (l *Lock) Release() {
	l.once.Do(func() {
		// A fresh context: the unlock must run even when the caller's is done.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if !l.unlocked {
			// A failed batch's transaction is ended first, or the unlock fails.
			err := l.endFailedTx(ctx)
			var unlocked bool
			if err == nil {
				err = l.conn.QueryRow(ctx, unlockSQL, l.name).Scan(&unlocked)
			}
			if err != nil || !unlocked {
				_ = l.conn.Conn().Close(ctx)
			}
		}
		l.conn.Release()
	})
}

// TryXactLock takes the named lock for the rest of the transaction tx if it
// is free, without waiting: ok is false when another session (a change
// holding the endpoint with Lock, say) has it.
func TryXactLock(ctx context.Context, tx pgx.Tx, name string) (ok bool, err error) {
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+key+`)`, name).Scan(&ok); err != nil {
		return false, fmt.Errorf("pglock: lock %q: %w", name, err)
	}
	return ok, nil
}

// TryXactLocks is TryXactLock for many names in one round trip: ok[i] says
// whether names[i] was taken (for the rest of tx).
func TryXactLocks(ctx context.Context, tx pgx.Tx, names []string) (ok []bool, err error) {
	rows, err := tx.Query(ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended(n, 0)) FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i`, names)
	if err != nil {
		return nil, fmt.Errorf("pglock: lock %d names: %w", len(names), err)
	}
	ok, err = pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return nil, fmt.Errorf("pglock: lock %d names: %w", len(names), err)
	}
	return ok, nil
}

// Package pglock is the console's one way of taking a Postgres session-level
// advisory lock: named, held on one pooled connection for as long as the
// caller needs, and released so that the connection never goes back to the
// pool still holding it.
package pglock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBusy means someone else held the lock for the whole wait.
var ErrBusy = errors.New("pglock: the lock is held by someone else")

// key turns a lock name into the advisory lock's bigint key. It is computed
// by Postgres so that every replica, whatever its version, agrees on it.
const key = `hashtextextended($1, 0)`

// Release gives a lock back. It is safe to call once; it never fails: when
// the unlock cannot be confirmed the connection is closed, which ends the
// session and with it every lock it held.
type Release func()

// TryLock takes the named lock if it is free. ok is false, with a nil
// release, when another session holds it.
func TryLock(ctx context.Context, pool *pgxpool.Pool, name string) (release Release, ok bool, err error) {
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
	return func() {
		// A fresh context: the unlock must run even when the caller's is done.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var unlocked bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock(`+key+`)`, name).Scan(&unlocked); err != nil || !unlocked {
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}, true, nil
}

// Lock waits up to wait for the named lock. It polls with
// pg_try_advisory_lock rather than blocking in pg_advisory_lock, so that
// waiters do not each hold a pooled connection the holder may need.
func Lock(ctx context.Context, pool *pgxpool.Pool, name string, wait time.Duration) (Release, error) {
	deadline := time.Now().Add(wait)
	for {
		release, ok, err := TryLock(ctx, pool, name)
		if err != nil || ok {
			return release, err
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

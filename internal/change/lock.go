package change

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBusy means another change to the same endpoint held its lock for the
// whole wait.
var ErrBusy = errors.New("change: another change to this endpoint is in progress")

// endpointLocks are per-endpoint Postgres advisory locks, so replicas
// sharing the database agree on who may change an endpoint.
type endpointLocks struct {
	pool *pgxpool.Pool
}

// lock waits up to wait for the endpoint's lock. It polls with
// pg_try_advisory_lock rather than blocking in pg_advisory_lock, so waiters
// do not each hold a pooled connection the lock holder may need.
func (l endpointLocks) lock(ctx context.Context, endpointID string, wait time.Duration) (release func(), err error) {
	deadline := time.Now().Add(wait)
	for {
		release, ok, err := l.tryLock(ctx, endpointID)
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

// tryLock takes the endpoint's lock if it is free.
func (l endpointLocks) tryLock(ctx context.Context, endpointID string) (release func(), ok bool, err error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("change: lock endpoint: %w", err)
	}
	const key = `hashtextextended('vpcep-endpoint:' || $1, 0)`
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, endpointID).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("change: lock endpoint: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return func() {
		// A fresh context: the unlock must run even when the caller's is done.
		// Should it fail, closing the session releases the lock anyway.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`, endpointID); err != nil {
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}, true, nil
}

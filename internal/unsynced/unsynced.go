// Package unsynced writes copies: rows that another durable record already
// vouches for (the upstream, the audit log) and that the next refresh or
// derivation writes again. Such a write need not wait for the disk, and it
// is sent in one round trip, off the change path's critical wait.
package unsynced

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Write runs the statements queue adds (with their callbacks, which read
// their results) in one transaction whose commit does not wait for the
// disk, in one round trip. A failed statement skips the rest and the
// commit: nothing is written, and the pool closes the connection, which
// it never hands out inside a transaction.
func Write(ctx context.Context, pool *pgxpool.Pool, queue func(b *pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	queue(b)
	b.Queue(`COMMIT`)
	return pool.SendBatch(ctx, b).Close()
}

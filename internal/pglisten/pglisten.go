// Package pglisten holds a Postgres LISTEN for a per-replica cache: the one
// loop that connects, listens, pings an idle connection and starts again
// after a failure, so every cache kept current by NOTIFY behaves alike.
package pglisten

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Ping is how often an idle LISTEN connection is checked: one that went
// silent (no reset) would otherwise leave stale answers served as current.
const Ping = 5 * time.Second

// retry is the wait before listening again after a failure.
const retry = time.Second

// Handler is told what happens to the LISTEN.
type Handler struct {
	// Listening runs once the LISTEN holds: anything may have changed
	// while nothing listened.
	Listening func(ctx context.Context)
	// Notified runs for each notification, with its payload.
	Notified func(ctx context.Context, payload string)
	// Lost runs when the LISTEN has ended, before it is tried again.
	Lost func()
}

// Watch listens on channel on a connection of its own (configured as
// pool's) until ctx ends, starting again a second after any failure, which
// it logs as lost (what names what is then read from the database).
func Watch(ctx context.Context, pool *pgxpool.Pool, channel string, logger *slog.Logger, lost string, h Handler) {
	for ctx.Err() == nil {
		err := listen(ctx, pool, channel, h)
		h.Lost()
		if ctx.Err() != nil {
			return
		}
		logger.Warn(lost, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// listen holds one LISTEN until its connection fails or ctx ends.
func listen(ctx context.Context, pool *pgxpool.Pool, channel string, h Handler) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	h.Listening(ctx)
	for {
		waitCtx, cancel := context.WithTimeout(ctx, Ping)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil && ctx.Err() == nil && waitCtx.Err() != nil {
			pingCtx, cancel := context.WithTimeout(ctx, Ping)
			err = conn.Ping(pingCtx)
			cancel()
			if err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		h.Notified(ctx, n.Payload)
	}
}

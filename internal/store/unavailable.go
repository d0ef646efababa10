package store

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// Unavailable reports whether err means the database could not be reached
// or could not answer, rather than that it refused what was asked: the
// console answers 503 and asks the client to try again later. It is the one
// place that knows what a lost database looks like:
//
//   - a connection could not be made (refused, timed out, the database or
//     role missing, the server starting or shutting down, too many
//     connections): *pgconn.ConnectError, whatever its cause;
//   - the pool is closed;
//   - the connection died under a query: a closed connection, a network
//     error or an unexpected EOF from the server;
//   - the server said so: SQLSTATE class 08 (connection exception), 57P01
//     (admin shutdown, e.g. pg_terminate_backend), 57P02 (crash shutdown),
//     57P03 (cannot connect now) and 53300 (too many connections);
//   - no connection became free, or the server did not answer, before the
//     deadline: a timeout, or context.DeadlineExceeded.
//
// A request the client cancelled (context.Canceled) is not an outage, nor is
// any other error from the server (a constraint, a syntax error).
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true // whatever the server said: it would not take a connection
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08"
	}
	var netErr net.Error
	switch {
	case errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, pgconn.ErrConnClosed),
		pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
		return true
	}
	return false
}

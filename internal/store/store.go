// Package store keeps the console's state in Postgres: the schema and its
// migrations, and the endpoint inventory.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultConnectTimeout bounds a new connection when DATABASE_URL sets no
// connect_timeout.
const defaultConnectTimeout = 5 * time.Second

// Store reads and writes the console's tables.
type Store struct {
	pool    *pgxpool.Pool
	project string         // the project id whose inventory this is ("" before projects)
	cache   inventoryCache // the inventory's read model (WatchInventory)
}

// New returns a Store over pool.
func New(pool *pgxpool.Pool) *Store { return NewProject(pool, "") }

// NewProject returns a Store over pool whose inventory is the project's
// (its project id).
func NewProject(pool *pgxpool.Pool, project string) *Store {
	return &Store{pool: pool, project: project}
}

// Project is the project id whose inventory s holds.
func (s *Store) Project() string { return s.project }

// Open connects to the database at url and checks that it answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can echo the URL, password included: say only what is wrong.
		return nil, errors.New("store: DATABASE_URL is not a valid PostgreSQL connection string")
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (the CPU count, at least 4) is too few: a change holds
		// one connection for its endpoint lock while it writes the audit log
		// on another, and several may run at once.
		cfg.MaxConns = 20
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// Without connect_timeout a connection to an unreachable host waits
		// for the operating system (minutes): every request would hang
		// rather than answer 503 (see Unavailable).
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// Now is the database's clock, which stamps audit entries.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	if err := s.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
		return time.Time{}, fmt.Errorf("store: the database's clock: %w", err)
	}
	return now, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

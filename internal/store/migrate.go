package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vpcep-console/vpcep-console/migrations"
)

// ErrSchemaBehind means the database lacks migrations this binary carries.
var ErrSchemaBehind = errors.New("store: database schema is behind this binary")

// Migrator applies the embedded migrations.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// NewMigrator returns a Migrator for the database behind pool. A Postgres
// session lock makes replicas that start together migrate one at a time.
func NewMigrator(pool *pgxpool.Pool) (*Migrator, error) {
	db := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: load migrations: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

// Close releases the Migrator's connection handle (not the pool).
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	results, err := m.provider.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("store: migrate up: %w", err)
	}
	return len(results), nil
}

// UpTo applies the pending migrations up to and including version, and
// returns how many it applied.
func (m *Migrator) UpTo(ctx context.Context, version int64) (int, error) {
	results, err := m.provider.UpTo(ctx, version)
	if err != nil {
		return len(results), fmt.Errorf("store: migrate up to %d: %w", version, err)
	}
	return len(results), nil
}

// Down rolls back the newest applied migration.
func (m *Migrator) Down(ctx context.Context) error {
	if _, err := m.provider.Down(ctx); err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	return nil
}

// Versions returns the database's schema version and the newest this binary carries.
func (m *Migrator) Versions(ctx context.Context) (current, target int64, err error) {
	current, target, err = m.provider.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	return current, target, nil
}

// CheckCurrent returns ErrSchemaBehind (wrapped, with both versions) when
// migrations are pending.
func (m *Migrator) CheckCurrent(ctx context.Context) error {
	pending, err := m.provider.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("store: check migrations: %w", err)
	}
	if pending {
		current, target, _ := m.provider.GetVersions(ctx)
		return fmt.Errorf("%w: at version %d, needs %d (run `web migrate up`)", ErrSchemaBehind, current, target)
	}
	return nil
}

// WriteStatus prints each migration and whether it is applied.
func (m *Migrator) WriteStatus(ctx context.Context, w io.Writer) error {
	statuses, err := m.provider.Status(ctx)
	if err != nil {
		return fmt.Errorf("store: migration status: %w", err)
	}
	for _, s := range statuses {
		applied := "pending"
		if !s.AppliedAt.IsZero() {
			applied = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		name := s.Source.Path[strings.LastIndex(s.Source.Path, "/")+1:]
		fmt.Fprintf(w, "%5d  %-40s %s\n", s.Source.Version, name, applied)
	}
	return nil
}

package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// Unavailable is judged on the errors a real server gives when it goes
// away, and on those it gives when it is there but refuses.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testdb.Migrated(t)
	admin := func(t *testing.T) *pgx.Conn {
		t.Helper()
		u, _ := url.Parse(dbURL)
		u.Path = "/postgres"
		conn, err := pgx.Connect(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	lazyPool := func(t *testing.T, connString string) *pgxpool.Pool {
		t.Helper()
		cfg, err := pgxpool.ParseConfig(connString)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.ConnectTimeout = 2 * time.Second
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	withDatabase := func(name string) string {
		u, _ := url.Parse(dbURL)
		u.Path = "/" + name
		return u.String()
	}

	tests := []struct {
		name string
		want bool
		err  func(t *testing.T) error
	}{
		{"connection refused", true, func(t *testing.T) error {
			u, _ := url.Parse(dbURL)
			u.Host = "127.0.0.1:1"
			return lazyPool(t, u.String()).Ping(ctx)
		}},
		{"no such database", true, func(t *testing.T) error {
			return lazyPool(t, withDatabase("vpcep_no_such_database")).Ping(ctx)
		}},
		{"pool closed", true, func(t *testing.T) error {
			pool := lazyPool(t, dbURL)
			pool.Close()
			_, err := store.New(pool).RefreshState(ctx)
			return err
		}},
		{"connection killed mid-query", true, func(t *testing.T) error {
			pool := lazyPool(t, dbURL)
			conn, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			pid := conn.Conn().PgConn().PID()
			killer := admin(t) // opened here: t.Fatal is for the test's goroutine
			killed := make(chan error, 1)
			go func() {
				time.Sleep(200 * time.Millisecond)
				_, err := killer.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid)
				killed <- err
			}()
			_, err = conn.Exec(ctx, `SELECT pg_sleep(30)`)
			if kerr := <-killed; kerr != nil {
				t.Fatal(kerr)
			}
			return err
		}},
		{"a query on the killed connection", true, func(t *testing.T) error {
			pool := lazyPool(t, dbURL)
			conn, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			// With a timeout, pg_terminate_backend waits until the backend is gone.
			var gone bool
			if err := admin(t).QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, conn.Conn().PgConn().PID()).Scan(&gone); err != nil || !gone {
				t.Fatalf("terminate backend: %v, %v", gone, err)
			}
			_, _ = conn.Exec(ctx, `SELECT 1`) // learns of the end
			_, err = conn.Exec(ctx, `SELECT 1`)
			return err
		}},
		{"database refuses connections", true, func(t *testing.T) error {
			name := strings.TrimPrefix(must(url.Parse(testdb.Migrated(t))).Path, "/")
			if _, err := admin(t).Exec(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
				t.Fatal(err)
			}
			return lazyPool(t, withDatabase(name)).Ping(ctx)
		}},
		{"no connection free before the deadline", true, func(t *testing.T) error {
			cfg, _ := pgxpool.ParseConfig(dbURL)
			cfg.MaxConns = 1
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			held, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Release()
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			_, err = store.New(pool).RefreshState(short)
			return err
		}},
		{"statement timeout is not an outage", false, func(t *testing.T) error {
			_, err := lazyPool(t, dbURL).Exec(ctx, `SET statement_timeout = 1; SELECT pg_sleep(1)`)
			return err
		}},
		{"syntax error", false, func(t *testing.T) error {
			_, err := lazyPool(t, dbURL).Exec(ctx, `SELEC 1`)
			return err
		}},
		{"unique violation", false, func(t *testing.T) error {
			_, err := lazyPool(t, dbURL).Exec(ctx, `CREATE TEMP TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1), (1)`)
			return err
		}},
		{"no rows", false, func(t *testing.T) error {
			var n int
			return lazyPool(t, dbURL).QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&n)
		}},
		{"cancelled by the client", false, func(t *testing.T) error {
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			_, err := lazyPool(t, dbURL).Exec(cancelled, `SELECT 1`)
			return err
		}},
		{"not the database's", false, func(*testing.T) error { return errors.New("something else") }},
		{"nil", false, func(*testing.T) error { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err(t)
			if tt.name != "nil" && err == nil {
				t.Fatal("no error")
			}
			t.Logf("%T: %v", err, err)
			wrapped := fmt.Errorf("store: something: %w", err)
			if got := store.Unavailable(wrapped); got != tt.want {
				t.Errorf("Unavailable(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}

// The server's own words for an outage, which the tests above cannot all
// provoke: shutdown, recovery, too many connections, connection exceptions.
func TestUnavailableSQLStates(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"57P01": true, "57P02": true, "57P03": true, "53300": true, "08006": true, "08001": true, "08P01": true,
		"57014": false, "40001": false, "23505": false, "42P01": false, "53200": false,
	} {
		if got := store.Unavailable(fmt.Errorf("x: %w", &pgconn.PgError{Code: code})); got != want {
			t.Errorf("SQLSTATE %s: Unavailable = %v, want %v", code, got, want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A connection attempt is bounded, so an unreachable server makes a 503
// within seconds rather than a request that hangs for minutes.
func TestOpenBoundsConnecting(t *testing.T) {
	t.Parallel()
	dbURL := testdb.Migrated(t)
	for _, tt := range []struct {
		query string
		want  time.Duration
	}{{"", 5 * time.Second}, {"connect_timeout=2", 2 * time.Second}} {
		u := must(url.Parse(dbURL))
		q := u.Query()
		if tt.query != "" {
			k, v, _ := strings.Cut(tt.query, "=")
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		pool, err := store.Open(context.Background(), u.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := pool.Config().ConnConfig.ConnectTimeout; got != tt.want {
			t.Errorf("%q: connect timeout %s, want %s", tt.query, got, tt.want)
		}
		pool.Close()
	}
}

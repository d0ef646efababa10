// Package testdb gives every test package a fresh PostgreSQL database of its
// own, so tests never see each other's rows. The server comes from
// TEST_DATABASE_URL (the Makefile points it at a local cluster or the CI
// service) or, where a Docker engine answers, from testcontainers-go. With
// neither, tests fail with what to install: a database test never skips.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/vpcep-console/vpcep-console/internal/store"
)

const noServerHelp = `no PostgreSQL server for the tests.
Set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable),
or install the PostgreSQL server binaries (Debian: apt-get install postgresql) so
'make test' can start a local cluster, or start a Docker engine for testcontainers-go`

// server is found once per test process: one container, not one per database.
var server struct { // the package's one shared server
	once sync.Once
	url  string
	stop func()
	err  error
}

func serverURL() (string, error) {
	server.once.Do(func() { server.url, server.stop, server.err = findServer() })
	return server.url, server.err
}

// Main runs m with a fresh, migrated database whose URL it stores in *dbURL,
// then drops the database. Use it from TestMain: os.Exit(testdb.Main(m, &url)).
// A nil dbURL makes no package database, for packages whose tests each make
// their own (Migrated): the server is still found, and the template those
// copy is still dropped at the end.
func Main(m *testing.M, dbURL *string) int {
	srvURL, err := serverURL()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: "+err.Error())
		return 1
	}
	defer func() {
		dropTemplate(srvURL)
		if server.stop != nil {
			server.stop()
		}
	}()
	if dbURL == nil {
		return m.Run()
	}
	tmpl, err := migratedTemplate(srvURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: "+err.Error())
		return 1
	}
	url, drop, err := createDatabaseFrom(srvURL, tmpl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: "+err.Error())
		return 1
	}
	defer drop()
	*dbURL = url
	return m.Run()
}

// Empty creates an empty database (no migrations) dropped when t ends.
func Empty(t testing.TB) string {
	t.Helper()
	srvURL, err := serverURL()
	if err != nil {
		t.Fatal(err)
	}
	url, drop, err := createDatabase(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return url
}

// Migrated creates a migrated database of its own for t, dropped when t
// ends, so that every test can run in parallel with the others. It is a
// copy of a template migrated once per test process: copying is much
// cheaper than migrating.
func Migrated(t testing.TB) string {
	t.Helper()
	srvURL, err := serverURL()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := migratedTemplate(srvURL)
	if err != nil {
		t.Fatal(err)
	}
	url, drop, err := createDatabaseFrom(srvURL, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return url
}

// template is the migrated database Migrated copies, made once per process.
var template struct {
	once sync.Once
	name string
	err  error
}

func migratedTemplate(srvURL string) (string, error) {
	template.once.Do(func() {
		url, _, err := createDatabase(srvURL)
		if err != nil {
			template.err = err
			return
		}
		if err := migrate(url); err != nil {
			template.err = err
			return
		}
		template.name = databaseName(url)
	})
	return template.name, template.err
}

// dropTemplate drops the template database, at the end of the process.
func dropTemplate(srvURL string) {
	if template.name != "" {
		dropDatabase(srvURL, template.name)
	}
}

// Pool opens a pool on url, closed when t ends.
func Pool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// findServer finds a server: TEST_DATABASE_URL, else a testcontainers-go
// container. stop releases what was started.
func findServer() (string, func(), error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctr, err := tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", nil, fmt.Errorf("%s (testcontainers-go: %v)", noServerHelp, err)
	}
	u, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = testcontainers.TerminateContainer(ctr)
		return "", nil, fmt.Errorf("testcontainers-go: %w", err)
	}
	return u, func() { _ = testcontainers.TerminateContainer(ctr) }, nil
}

// createDatabase makes a uniquely named database on the server and returns
// its URL and a func that drops it.
func createDatabase(server string) (string, func(), error) { return createDatabaseFrom(server, "") }

// createDatabaseFrom is createDatabase as a copy of the database tmpl ("":
// the server's default template). No session may be connected to tmpl.
func createDatabaseFrom(server, tmpl string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", nil, fmt.Errorf("%s\n(connecting to TEST_DATABASE_URL: %v)", noServerHelp, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "vpcep_test_" + hex.EncodeToString(b[:])
	create := "CREATE DATABASE " + name
	if tmpl != "" {
		create += " TEMPLATE " + tmpl
	}
	// FILE_COPY (PostgreSQL 15 and later) copies the template's files
	// instead of replaying them through the WAL: far faster for a small
	// database. An older server copies its own way.
	_, err = conn.Exec(ctx, create+" STRATEGY FILE_COPY")
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "42601" {
		_, err = conn.Exec(ctx, create)
	}
	if err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), func() { dropDatabase(server, name) }, nil
}

func dropDatabase(server, name string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// databaseName is the database a URL names.
func databaseName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func migrate(url string) error {
	ctx := context.Background()
	pool, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := store.NewMigrator(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Up(ctx)
	return err
}

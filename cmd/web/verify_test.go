package main

import (
	"context"
	"database/sql"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/migrations"
)

// TestAuditVerifyOldChains runs `web audit verify` over chains written by
// earlier binaries (the audit package's fixtures), after `web migrate up`:
// every format version ever written must verify forever.
func TestAuditVerifyOldChains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture string
		schema  int64 // the schema the fixture was written at
		want    string
	}{
		{"chain_v1.sql", 3, "ok: 7 entries"},
		{"chain_v2.sql", 7, "ok: 4 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.Empty(t)
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, tt.schema); err != nil {
				t.Fatal(err)
			}
			dump, err := os.ReadFile("../../internal/audit/testdata/" + tt.fixture)
			if err != nil {
				t.Fatal(err)
			}
			// A connection of its own: the dump empties search_path.
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, string(dump)); err != nil {
				t.Fatalf("load %s: %v", tt.fixture, err)
			}
			env := envOf(map[string]string{"DATABASE_URL": url})
			if err := run(ctx, []string{"migrate", "up"}, env, strings.NewReader(""), io.Discard, io.Discard); err != nil {
				t.Fatalf("migrate up: %v", err)
			}
			var out strings.Builder
			if err := run(ctx, []string{"audit", "verify"}, env, strings.NewReader(""), &out, io.Discard); err != nil || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("verify: %v %q, want %q", err, out.String(), tt.want)
			}
		})
	}
}

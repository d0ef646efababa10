package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/migrations"
)

// migrateTo applies the migrations in fsys up to version, or all of them
// when version is 0.
func migrateTo(t *testing.T, pool *pgxpool.Pool, fsys fs.FS, version int64) {
	t.Helper()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if version == 0 {
		_, err = p.Up(context.Background())
	} else {
		_, err = p.UpTo(context.Background(), version)
	}
	if err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
}

// v1ChainDB is a database at schema version 3, the last before format
// versions, loaded with testdata/chain_v1.sql, then migrated to the latest
// schema: entries 1 to 7, written by the code before versions, #6 pending.
func v1ChainDB(t *testing.T) *pgxpool.Pool { return fixtureChainDB(t, 3, "testdata/chain_v1.sql") }

// v2ChainDB is a database at schema version 7, the last before format
// version 3, loaded with testdata/chain_v2.sql, then migrated to the latest
// schema: entries 1 to 4, written at format version 2, #4 pending.
func v2ChainDB(t *testing.T) *pgxpool.Pool { return fixtureChainDB(t, 7, "testdata/chain_v2.sql") }

// fixtureChainDB loads the dump at path into a database at schema version
// schema, then migrates it to the latest schema.
func fixtureChainDB(t *testing.T, schema int64, path string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	url := testdb.Empty(t)
	pool := testdb.Pool(t, url)
	migrateTo(t, pool, migrations.FS, schema)
	dump, err := os.ReadFile(path)
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
		t.Fatalf("load %s: %v", path, err)
	}
	migrateTo(t, pool, migrations.FS, 0)
	return pool
}

func testStart(actor, reason string) Start {
	return Start{Actor: actor, ProjectID: "p1", Region: "cn-north-4", EndpointID: "ep-1", EndpointServiceName: "com.example.obs",
		Action: ActionUpdate, Reason: reason, PolicyBefore: "null", PolicyRequested: `[{"Effect":"Allow","Resource":["*"]}]`}
}

func testFinal() Final {
	yes := true
	return Final{Outcome: OutcomeSucceeded, RequestBody: "{}\n", ResponseStatus: 200,
		ReadbackMatches: &yes, ReadbackPolicy: "[]", Duration: 3 * time.Millisecond, Note: "<done> & dusted"}
}

// continueChain carries the v1 chain on with l: it finalises the pending
// #6 (as the version 1 entry it is), then writes #8, finalised, and #9,
// left pending, at l's version.
func continueChain(t *testing.T, l *Log) {
	t.Helper()
	ctx := context.Background()
	pending, err := l.Pending(ctx, -time.Hour)
	if err != nil || len(pending) != 1 || pending[0].ID != 6 {
		t.Fatalf("Pending = %v, %v; want #6", pending, err)
	}
	if err := l.Finalise(ctx, pending[0], testFinal()); err != nil {
		t.Fatal(err)
	}
	e8, err := l.Begin(ctx, testStart("erin", "after the upgrade <v2>"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finalise(ctx, e8, testFinal()); err != nil {
		t.Fatal(err)
	}
	e9, err := l.Begin(ctx, testStart("frank", "pending across an upgrade"))
	if err != nil {
		t.Fatal(err)
	}
	if e8.ID != 8 || e9.ID != 9 {
		t.Fatalf("new entries are #%d and #%d, want #8 and #9", e8.ID, e9.ID)
	}
}

// goldenContent reads testdata/chain_v1_content.txt: "<id> <hash column>"
// to the JSON the code before versions hashed.
func goldenContent(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/chain_v1_content.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			id, rest, _ := strings.Cut(line, " ")
			col, content, _ := strings.Cut(rest, " ")
			out[id+" "+col] = content
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func verifyOK(t *testing.T, l *Log, checked int) {
	t.Helper()
	r, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(VerifyResult{Checked: checked}, r); diff != "" {
		t.Fatalf("Verify mismatch (-want +got):\n%s", diff)
	}
}

func TestChainV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v1ChainDB(t)
	l := New(pool)
	verifyOK(t, l, 7)

	// Version 1 hashes exactly the bytes the code before versions did.
	golden := goldenContent(t)
	got := map[string]string{}
	for id := int64(1); id <= 7; id++ {
		e, err := l.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if e.FormatVersion != 1 {
			t.Errorf("entry %d has format version %d, want 1", id, e.FormatVersion)
		}
		key := strconv.FormatInt(e.ID, 10)
		got[key+" hash"] = string(l.format.content(e, byHash))
		if e.Outcome != OutcomePending {
			got[key+" final_hash"] = string(l.format.content(e, byFinalHash))
		}
	}
	if diff := cmp.Diff(golden, got); diff != "" {
		t.Errorf("hashed content mismatch (-want +got):\n%s", diff)
	}

	continueChain(t, l)
	verifyOK(t, l, 9)
	versions := map[int64]int{}
	if err := l.Each(ctx, Filter{}, func(e *Entry) error { versions[e.ID] = e.FormatVersion; return nil }); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: CurrentFormatVersion, 9: CurrentFormatVersion}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("format versions mismatch (-want +got):\n%s", diff)
	}
	e7, _ := l.Get(ctx, 7)
	if e8, _ := l.Get(ctx, 8); e8.PrevHash != e7.Hash {
		t.Errorf("#8's prev_hash %s is not #7's hash %s", e8.PrevHash, e7.Hash)
	}
}

func TestChainV2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v2ChainDB(t)
	l := New(pool)
	verifyOK(t, l, 4)

	// The pending #4, begun at version 2, is finalised as version 2; a new
	// entry after it is written at the current version.
	pending, err := l.Pending(ctx, -time.Hour)
	if err != nil || len(pending) != 1 || pending[0].ID != 4 {
		t.Fatalf("Pending = %v, %v; want #4", pending, err)
	}
	if err := l.Finalise(ctx, pending[0], testFinal()); err != nil {
		t.Fatal(err)
	}
	start := testStart("erin", "after the upgrade")
	start.AcknowledgedWarnings = []string{"unusual_resource", "allows_everything", "unusual_resource"}
	e5, err := l.Begin(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finalise(ctx, e5, testFinal()); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, l, 5)
	versions := map[int64]int{}
	if err := l.Each(ctx, Filter{}, func(e *Entry) error { versions[e.ID] = e.FormatVersion; return nil }); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{1: 2, 2: 2, 3: 2, 4: 2, 5: CurrentFormatVersion}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Errorf("format versions mismatch (-want +got):\n%s", diff)
	}
	// The acknowledged warnings are stored sorted, once each, and read back;
	// older entries have none.
	for id, want := range map[int64][]string{2: {}, 5: {"allows_everything", "unusual_resource"}} {
		e, err := l.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, e.AcknowledgedWarnings); diff != "" {
			t.Errorf("#%d acknowledged warnings mismatch (-want +got):\n%s", id, diff)
		}
	}

	// Version 3's hash covers the acknowledged warnings; a version 2
	// entry's does not, so it must hold none.
	tamper(t, pool, `UPDATE audit_entries SET acknowledged_warnings = '["allows_everything"]' WHERE id = 5`)
	if r, err := l.Verify(ctx); err != nil || r.BadEntry != 5 || !strings.Contains(r.Problem, "does not match its hash") {
		t.Errorf("Verify after dropping an acknowledged warning of #5 = %+v, %v", r, err)
	}
	tamper(t, pool, `UPDATE audit_entries SET acknowledged_warnings = '["allows_everything","unusual_resource"]' WHERE id = 5`)
	verifyOK(t, l, 5)
	tamper(t, pool, `UPDATE audit_entries SET acknowledged_warnings = '["allows_everything"]' WHERE id = 3`)
	if r, err := l.Verify(ctx); err != nil || r.BadEntry != 3 || !strings.Contains(r.Problem, "acknowledged_warnings holds a value") {
		t.Errorf("Verify after adding an acknowledged warning to #3 = %+v, %v", r, err)
	}

}

func TestChainV2Tampered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sql     string
		bad     int64
		problem string
	}{
		{"reason of a v2 entry", `UPDATE audit_entries SET reason = 'widen' WHERE id = 2`, 2, "does not match its hash"},
		{"error of a v2 entry", `UPDATE audit_entries SET error_message = 'fine' WHERE id = 2`, 2, "outcome fields"},
		{"a v2 entry lowered to v1", `UPDATE audit_entries SET format_version = 1 WHERE id = 3`, 3, "does not match its hash"},
		{"a v2 entry raised to v3", `UPDATE audit_entries SET format_version = 3 WHERE id = 1`, 1, "does not match its hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := v2ChainDB(t)
			tamper(t, pool, tt.sql)
			r, err := New(pool).Verify(context.Background())
			if err != nil || r.BadEntry != tt.bad || !strings.Contains(r.Problem, tt.problem) {
				t.Errorf("Verify = %+v, %v; want entry %d (%s)", r, err, tt.bad, tt.problem)
			}
		})
	}
}

// tamper runs sql past the append-only trigger, as someone holding the
// database's keys could.
func tamper(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only; `+
		sql+`; ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only`)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestChainV1Tampered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sql     string
		bad     int64
		problem string
	}{
		{"reason of a v1 entry", `UPDATE audit_entries SET reason = '<a&b> approved' WHERE id = 5`, 5, "does not match its hash"},
		{"error of a v1 entry", `UPDATE audit_entries SET error_message = NULL WHERE id = 2`, 2, "outcome fields"},
		{"outcome of the v1 entry finalised since", `UPDATE audit_entries SET note = 'x' WHERE id = 6`, 6, "outcome fields"},
		{"a v1 entry raised to v2", `UPDATE audit_entries SET format_version = 2 WHERE id = 3`, 3, "does not match its hash"},
		{"a current entry lowered to v1", `UPDATE audit_entries SET format_version = 1 WHERE id = 8`, 8, "does not match its hash"},
		{"a version no binary wrote", `UPDATE audit_entries SET format_version = 7 WHERE id = 9`, 9, "format_version 7 is not one this binary knows"},
		{"reason of a current entry", `UPDATE audit_entries SET reason = 'x' WHERE id = 9`, 9, "does not match its hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := v1ChainDB(t)
			l := New(pool)
			continueChain(t, l)
			tamper(t, pool, tt.sql)
			r, err := l.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.BadEntry != tt.bad || !strings.Contains(r.Problem, tt.problem) {
				t.Errorf("Verify = %+v, want entry %d (%s)", r, tt.bad, tt.problem)
			}
		})
	}
}

// sideTable keeps a field for which Entry has no Go field, as a test's
// format needs: one value per *Entry, filled on first use.
type sideTable struct {
	mu   sync.Mutex
	m    map[*Entry]*string
	fill func(*Entry) string
}

func (s *sideTable) get(e *Entry) *string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[e]
	if !ok {
		p = new(string)
		*p = s.fill(e)
		s.m[e] = p
	}
	return p
}

// nextVersionMigrations are the real migrations and then
// testdata/migrations: the schema of a version 5 that does not exist.
func nextVersionMigrations(t *testing.T) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	for _, dir := range []fs.FS{migrations.FS, os.DirFS("testdata/migrations")} {
		names, err := fs.Glob(dir, "*.sql")
		if err != nil || len(names) == 0 {
			t.Fatalf("migrations: %v, %v", names, err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = &fstest.MapFile{Data: data}
		}
	}
	return out
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestAFieldOfTheNextVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v1ChainDB(t)
	v4 := New(pool)
	continueChain(t, v4)
	migrateTo(t, pool, nextVersionMigrations(t), 0)

	// Version 5 adds requested_sha256, written at the start. Entry has no
	// Go field for it here, so it lives beside the entries.
	side := &sideTable{m: map[*Entry]*string{}, fill: func(e *Entry) string { return sha256Hex(e.PolicyRequested) }}
	fields := append(slices.Clone(entryFields), field{"requested_sha256", 5, atStart, byHash, textColumn{side.get, false}})
	v5 := &Log{pool: pool, format: newFormat(5, fields)}

	// Entries of versions 1 and 4 verify under version 5 as they did.
	verifyOK(t, v5, 9)

	// #9 was begun at version 4, so it is finalised as version 4.
	e9, err := v5.Get(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	if err := v5.Finalise(ctx, e9, testFinal()); err != nil {
		t.Fatal(err)
	}
	if e9.FormatVersion != 4 {
		t.Errorf("#9 is version %d after finalising, want 4", e9.FormatVersion)
	}

	e10, err := v5.Begin(ctx, testStart("grace", "version 5"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v5.Finalise(ctx, e10, testFinal()); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := pool.QueryRow(ctx, `SELECT requested_sha256 FROM audit_entries WHERE id = $1`, e10.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if e10.FormatVersion != 5 || stored != sha256Hex(e10.PolicyRequested) {
		t.Errorf("#%d: version %d, requested_sha256 %q", e10.ID, e10.FormatVersion, stored)
	}
	if !strings.Contains(string(v5.format.content(e10, byHash)), `"requested_sha256":"`+stored+`"`) {
		t.Errorf("version 5 hash content does not cover requested_sha256: %s", v5.format.content(e10, byHash))
	}
	verifyOK(t, v5, 10)

	// The trigger keeps the new start column as it is, unedited.
	checkOnlyFinaliseFieldsChange(t, v5, pool)

	// The version 4 binary does not take a version 5 entry for altered.
	r, err := v4.Verify(ctx)
	if err != nil || r.BadEntry != e10.ID || !strings.Contains(r.Problem, "format_version 5 is not one this binary knows") {
		t.Errorf("Verify at version 4 = %+v, %v", r, err)
	}

	// A version 4 entry's hash does not cover the new column, so it must
	// stay empty there; a version 5 entry's hash covers it.
	tamper(t, pool, `UPDATE audit_entries SET requested_sha256 = 'forged' WHERE id = 8`)
	r, err = v5.Verify(ctx)
	if err != nil || r.BadEntry != 8 || !strings.Contains(r.Problem, "requested_sha256 holds a value") {
		t.Errorf("Verify after forging #8's requested_sha256 = %+v, %v", r, err)
	}
	tamper(t, pool, `UPDATE audit_entries SET requested_sha256 = '' WHERE id = 8`)
	verifyOK(t, v5, 11)
	tamper(t, pool, `UPDATE audit_entries SET requested_sha256 = 'forged' WHERE id = 10`)
	r, err = v5.Verify(ctx)
	if err != nil || r.BadEntry != e10.ID || !strings.Contains(r.Problem, "does not match its hash") {
		t.Errorf("Verify after forging #10's requested_sha256 = %+v, %v", r, err)
	}
}

// checkOnlyFinaliseFieldsChange tries, on a new pending entry, a finalise
// that also changes each field of l's format in turn: the trigger must
// refuse it for every start field and allow it for every finalise field.
func checkOnlyFinaliseFieldsChange(t *testing.T, l *Log, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	e, err := l.Begin(ctx, testStart("mallory", "to be finalised in many ways"))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'audit_entries'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		types[name] = typ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range l.format.fields {
		var changed string
		switch types[f.name] {
		case "text":
			changed = `coalesce(` + f.name + `, '') || 'x'`
		case "bigint", "integer", "smallint":
			changed = `coalesce(` + f.name + `, 0) + 1`
		case "timestamp with time zone":
			changed = `coalesce(` + f.name + `, now()) + interval '1 second'`
		case "boolean":
			changed = `NOT coalesce(` + f.name + `, false)`
		default:
			t.Fatalf("column %s has type %q", f.name, types[f.name])
		}
		sql := `UPDATE audit_entries SET outcome = 'failed', finished_at = now(), final_hash = 'x'`
		if !slices.Contains([]string{"outcome", "finished_at", "final_hash"}, f.name) {
			sql += `, ` + f.name + ` = ` + changed
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, sql+` WHERE id = $1`, e.ID)
		_ = tx.Rollback(ctx)
		switch {
		case f.written == atStart && (err == nil || !strings.Contains(err.Error(), "recorded at the start ("+f.name+")")):
			t.Errorf("finalising and changing start field %s: %v", f.name, err)
		case f.written == atFinalise && err != nil:
			t.Errorf("finalising field %s: %v", f.name, err)
		}
	}
}

func TestOnlyFinaliseFieldsChange(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t, testdb.Migrated(t))
	checkOnlyFinaliseFieldsChange(t, New(pool), pool)
}

func TestFormatVersionMigrationDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v1ChainDB(t)
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	// With only version 1 entries, down and up again lose nothing.
	if _, err := p.DownTo(ctx, 3); err != nil {
		t.Fatalf("down to 3 with version 1 entries only: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	l := New(pool)
	verifyOK(t, l, 7)
	continueChain(t, l)
	if _, err := p.DownTo(ctx, 3); err == nil || !strings.Contains(err.Error(), "format version 4 or later exist") {
		t.Fatalf("down to 3 with version 4 entries: %v", err)
	}
	verifyOK(t, l, 9)
}

// v4ChainDB is a database at schema version 15, the first of format
// version 4, loaded with testdata/chain_v4.sql, then migrated to the latest
// schema: entries 1 to 8, written at format version 4, #8 pending.
func v4ChainDB(t *testing.T) *pgxpool.Pool { return fixtureChainDB(t, 15, "testdata/chain_v4.sql") }

func TestChainV4(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v4ChainDB(t)
	l := New(pool)
	verifyOK(t, l, 8)
	pending, err := l.Pending(ctx, -time.Hour)
	if err != nil || len(pending) != 1 || pending[0].ID != 8 {
		t.Fatalf("Pending = %v, %v; want #8", pending, err)
	}
	if err := l.Finalise(ctx, pending[0], testFinal()); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, l, 8)
	// The fields of version 4 read back as written.
	attr, err := l.Get(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if attr.Action != ActionAttribute || attr.RefersTo == nil || *attr.RefersTo != 2 || len(attr.Attribution) != 1 ||
		attr.Attribution[0].User != "ålice" || attr.Attribution[0].TraceID != "b3e1-<&>" {
		t.Errorf("#3 = %+v", attr)
	}
	revert, err := l.Get(ctx, 7)
	if err != nil || revert.Restores != RestoresKnown || *revert.RollbackOf != 6 {
		t.Errorf("#7 = %+v, %v", revert, err)
	}
	if d, err := l.Get(ctx, 2); err != nil || d.DetectedBy != "refresh" {
		t.Errorf("#2 = %+v, %v", d, err)
	}
	// Version 4's hash covers them.
	for _, tc := range []struct {
		sql string
		bad int64
	}{
		// Newest first: Verify names the first entry altered.
		{`UPDATE audit_entries SET refers_to = 6 WHERE id = 4`, 4},
		{`UPDATE audit_entries SET attribution = replace(attribution, 'ålice', 'mallory') WHERE id = 3`, 3},
		{`UPDATE audit_entries SET detected_by = 'detail' WHERE id = 2`, 2},
	} {
		tamper(t, pool, tc.sql)
		if r, err := l.Verify(ctx); err != nil || r.BadEntry != tc.bad || !strings.Contains(r.Problem, "does not match its hash") {
			t.Errorf("Verify after %q = %+v, %v", tc.sql, r, err)
		}
	}
}

// v3ChainDB is a database at schema version 12, the last before format
// version 4, loaded with testdata/chain_v3.sql, then migrated to the latest
// schema: entries 1 to 4, written at format version 3, #4 pending.
func v3ChainDB(t *testing.T) *pgxpool.Pool { return fixtureChainDB(t, 12, "testdata/chain_v3.sql") }

func TestChainV3(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v3ChainDB(t)
	l := New(pool)
	verifyOK(t, l, 4)
	// The pending #4, begun at version 3, is finalised as version 3; a new
	// entry after it is written at the current version.
	pending, err := l.Pending(ctx, -time.Hour)
	if err != nil || len(pending) != 1 || pending[0].ID != 4 {
		t.Fatalf("Pending = %v, %v; want #4", pending, err)
	}
	if err := l.Finalise(ctx, pending[0], testFinal()); err != nil {
		t.Fatal(err)
	}
	if pending[0].FormatVersion != 3 {
		t.Errorf("#4 is version %d after finalising, want 3", pending[0].FormatVersion)
	}
	start := testStart("erin", "after the upgrade")
	start.DetectedBy = "refresh"
	e5, err := l.Begin(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Finalise(ctx, e5, testFinal()); err != nil {
		t.Fatal(err)
	}
	verifyOK(t, l, 5)
	if e1, err := l.Get(ctx, 1); err != nil || len(e1.AcknowledgedWarnings) != 2 || e1.FormatVersion != 3 {
		t.Errorf("#1 = %+v, %v", e1, err)
	}
	// A version 3 entry's hash does not cover the version 4 fields, so it
	// must hold none.
	tamper(t, pool, `UPDATE audit_entries SET detected_by = 'refresh' WHERE id = 2`)
	if r, err := l.Verify(ctx); err != nil || r.BadEntry != 2 || !strings.Contains(r.Problem, "detected_by holds a value") {
		t.Errorf("Verify after adding detected_by to #2 = %+v, %v", r, err)
	}
}

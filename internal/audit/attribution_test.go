package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// scanAttribution is an entry holding stored as its attribution column,
// read the way a SELECT reads it (NULL when !valid).
func scanAttribution(t *testing.T, stored string, valid bool) *Entry {
	t.Helper()
	e := &Entry{FormatVersion: 4}
	scanner, ok := attributionField(t).dest(e).(pgtype.TextScanner)
	if !ok {
		t.Fatalf("the attribution column scans into %T, not text", attributionField(t).dest(e))
	}
	if err := scanner.ScanText(pgtype.Text{String: stored, Valid: valid}); err != nil {
		t.Fatal(err)
	}
	return e
}

func attributionField(t *testing.T) field {
	t.Helper()
	for _, fd := range entryFields {
		if fd.name == "attribution" {
			return fd
		}
	}
	t.Fatal("no attribution field")
	return field{}
}

// The hash of a scanned entry covers the attribution text as it is stored,
// byte for byte, whatever a decoder makes of it: an extra key, whitespace
// or a different key order is an alteration Verify must see.
func TestAttributionHashesTheStoredText(t *testing.T) {
	t.Parallel()
	const written = `[{"trace_id":"b3e1-\u003c\u0026\u003e","trace_name":"updateEndpointPolicy","resource_id":"ep-1","user":"ålice",` +
		`"source_ip":"192.0.2.10","time":"2026-11-27T18:58:01.123456789Z","request_id":"req-1"}]`
	tests := []struct {
		name   string
		stored string
	}{
		{"as written", written},
		{"an extra key", strings.Replace(written, `"request_id"`, `"approved":true,"request_id"`, 1)},
		{"whitespace", strings.ReplaceAll(written, `,"`, `, "`)},
		{"a newline at the end", written + "\n"},
		{"keys in another order", strings.Replace(written, `"trace_id":"b3e1-\u003c\u0026\u003e","trace_name":"updateEndpointPolicy"`,
			`"trace_name":"updateEndpointPolicy","trace_id":"b3e1-\u003c\u0026\u003e"`, 1)},
		{"escapes spelled differently", strings.Replace(written, `\u003c\u0026\u003e`, `<&>`, 1)},
		{"an empty list", `[]`},
		{"null", `null`},
		{"not JSON", `who knows`},
	}
	fd := attributionField(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := scanAttribution(t, tt.stored, true)
			if got, want := string(fd.appendHashed(nil, e)), string(appendJSONString(nil, tt.stored)); got != want {
				t.Errorf("hashed %s\nwant the stored text %s", got, want)
			}
			if got := fd.text(e); got != tt.stored {
				t.Errorf("shown as %q, want the stored text %q", got, tt.stored)
			}
			if got := fd.arg(e); got != tt.stored {
				t.Errorf("written back as %#v, want the stored text %q", got, tt.stored)
			}
		})
	}
	// NULL, the attribution of every entry but an attribute entry, hashes
	// as the empty string (as policy_before's NULL does), so that NULL and
	// a stored [] differ.
	e := scanAttribution(t, "", false)
	if got := string(fd.appendHashed(nil, e)); got != `""` || fd.text(e) != "" || fd.arg(e) != nil || e.Attribution != nil {
		t.Errorf("NULL: hashed %s, shown %q, written %#v, read %+v", got, fd.text(e), fd.arg(e), e.Attribution)
	}
}

// What an entry built from traces stores, and so hashes, is the audit's own
// encoding of them (storedTrace), not cts.Trace's: a change to cts.Trace's
// fields or JSON tags changes neither old entries' hashes nor new entries'
// text.
func TestAttributionEncodingIsFrozen(t *testing.T) {
	t.Parallel()
	traces := []cts.Trace{
		{TraceID: "b3e1-<&>", TraceName: "updateEndpointPolicy", ResourceID: "ep-1", User: "ålice \"q\" \u2028",
			SourceIP: "192.0.2.10", Time: time.Date(2026, 11, 27, 19, 58, 1, 123456789, time.FixedZone("CET", 3600)), RequestID: "req-1"},
		{TraceID: "t2", TraceName: cts.TraceModifyPolicy, ResourceID: "ep-1", User: "", SourceIP: "", Time: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)},
	}
	const want = `[{"trace_id":"b3e1-\u003c\u0026\u003e","trace_name":"updateEndpointPolicy","resource_id":"ep-1","user":"ålice \"q\" \u2028",` +
		`"source_ip":"192.0.2.10","time":"2026-11-27T18:58:01.123456789Z","request_id":"req-1"},` +
		`{"trace_id":"t2","trace_name":"modifyEndpointPolicy","resource_id":"ep-1","user":"","source_ip":"","time":"2026-11-27T20:00:00Z","request_id":""}]`
	e := &Entry{FormatVersion: 4}
	e.setAttribution(traces)
	fd := attributionField(t)
	if got := fd.text(e); got != want {
		t.Errorf("stored as\n%s\nwant\n%s", got, want)
	}
	if got := string(fd.appendHashed(nil, e)); got != string(appendJSONString(nil, want)) {
		t.Errorf("hashed as %s", got)
	}
	// Read back, the traces are the ones given, in UTC.
	back := scanAttribution(t, want, true)
	if len(back.Attribution) != 2 || len(e.Attribution) != 2 {
		t.Fatalf("read back %+v, built %+v", back.Attribution, e.Attribution)
	}
	for i, tr := range traces {
		tr.Time = tr.Time.UTC()
		for _, got := range []cts.Trace{back.Attribution[i], e.Attribution[i]} {
			if got != tr || got.Time.Location() != time.UTC {
				t.Errorf("trace %d read back as %+v, want %+v", i, got, tr)
			}
		}
	}
	// No traces: NULL.
	none := &Entry{FormatVersion: 4}
	none.setAttribution(nil)
	if fd.arg(none) != nil || fd.text(none) != "" || none.Attribution != nil {
		t.Errorf("no traces: written %#v, shown %q, held %+v", fd.arg(none), fd.text(none), none.Attribution)
	}
	// Text that is not such an array reads as one trace naming it.
	if bad := scanAttribution(t, `{"user":"x"}`, true); len(bad.Attribution) != 1 || !strings.HasPrefix(bad.Attribution[0].TraceID, "unreadable: ") {
		t.Errorf("unreadable text read as %+v", bad.Attribution)
	}
}

// In the version 4 fixture, what the hash of the attribute entry covers is
// its attribution column's stored text, quoted as a JSON string.
func TestChainV4HashesTheStoredAttribution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := v4ChainDB(t)
	l := New(pool)
	var stored string
	if err := pool.QueryRow(ctx, `SELECT attribution FROM audit_entries WHERE id = 3`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	covered := `"attribution":` + string(appendJSONString(nil, stored)) + `,"prev_hash":`
	if content := string(l.format.content(e, byHash)); !strings.Contains(content, covered) {
		t.Errorf("#3's hash covers\n%s\nwhich does not hold its stored attribution\n%s", content, covered)
	}
	if l.format.hash(e, byHash) != e.Hash {
		t.Error("#3 does not match its hash")
	}

	// Any change to the stored text is an alteration, even one a JSON
	// decoder does not see. Each is undone before the next.
	if _, err := pool.Exec(ctx, `CREATE TABLE saved_attribution AS SELECT id, attribution FROM audit_entries`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sql string
		bad int64
	}{
		{`UPDATE audit_entries SET attribution = replace(attribution, '"request_id"', '"approved":true,"request_id"') WHERE id = 3`, 3},
		{`UPDATE audit_entries SET attribution = replace(attribution, ',"', ', "') WHERE id = 3`, 3},
		{`UPDATE audit_entries SET attribution = attribution || ' ' WHERE id = 3`, 3},
		{`UPDATE audit_entries SET attribution = replace(attribution, '\u003c', '<') WHERE id = 3`, 3},
		{`UPDATE audit_entries SET attribution = '[]' WHERE id = 4`, 4},
	} {
		tamper(t, pool, tc.sql)
		if r, err := l.Verify(ctx); err != nil || r.BadEntry != tc.bad || !strings.Contains(r.Problem, "does not match its hash") {
			t.Errorf("Verify after %q = %+v, %v", tc.sql, r, err)
		}
		tamper(t, pool, `UPDATE audit_entries a SET attribution = s.attribution FROM saved_attribution s WHERE a.id = s.id`)
		verifyOK(t, l, 8)
	}
}

package audit

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// legacyStartContent and legacyFinalContent are startContent and
// finalContent as they were at commit 5c56403, before format versions:
// what format version 1 must keep reproducing byte for byte.
type legacyStartContent struct {
	ID                  int64  `json:"id"`
	SubmissionKey       string `json:"submission_key"`
	StartedAt           string `json:"started_at"`
	Actor               string `json:"actor"`
	ProjectID           string `json:"project_id"`
	Region              string `json:"region"`
	EndpointID          string `json:"endpoint_id"`
	EndpointServiceName string `json:"endpoint_service_name"`
	Action              string `json:"action"`
	Reason              string `json:"reason"`
	RollbackOf          *int64 `json:"rollback_of"`
	Restores            string `json:"restores"`
	PolicyBefore        string `json:"policy_before"`
	PolicyRequested     string `json:"policy_requested"`
	PrevHash            string `json:"prev_hash"`
}

type legacyFinalContent struct {
	Hash            string `json:"hash"`
	Outcome         string `json:"outcome"`
	FinishedAt      string `json:"finished_at"`
	RequestBody     string `json:"request_body"`
	ResponseStatus  *int   `json:"response_status"`
	ResponseBody    string `json:"response_body"`
	RequestID       string `json:"request_id"`
	ErrorCode       string `json:"error_code"`
	ErrorMessage    string `json:"error_message"`
	ReadbackMatches *bool  `json:"readback_matches"`
	ReadbackPolicy  string `json:"readback_policy"`
	DurationMS      *int   `json:"duration_ms"`
	Note            string `json:"note"`
}

// legacyContent is what computeHash and computeFinalHash json.Marshal-ed
// at commit 5c56403.
func legacyContent(t *testing.T, e *Entry) (start, final []byte) {
	t.Helper()
	start, err := json.Marshal(legacyStartContent{
		ID: e.ID, SubmissionKey: e.SubmissionKey, StartedAt: timeText(e.StartedAt), Actor: e.Actor,
		ProjectID: e.ProjectID, Region: e.Region, EndpointID: e.EndpointID, EndpointServiceName: e.EndpointServiceName,
		Action: e.Action, Reason: e.Reason, RollbackOf: e.RollbackOf, Restores: e.Restores,
		PolicyBefore: string(e.PolicyBefore), PolicyRequested: string(e.PolicyRequested), PrevHash: e.PrevHash,
	})
	if err != nil {
		t.Fatal(err)
	}
	finished := ""
	if e.FinishedAt != nil {
		finished = timeText(*e.FinishedAt)
	}
	final, err = json.Marshal(legacyFinalContent{
		Hash: e.Hash, Outcome: e.Outcome, FinishedAt: finished, RequestBody: e.RequestBody,
		ResponseStatus: e.ResponseStatus, ResponseBody: e.ResponseBody, RequestID: e.RequestID,
		ErrorCode: e.ErrorCode, ErrorMessage: e.ErrorMessage, ReadbackMatches: e.ReadbackMatches,
		ReadbackPolicy: string(e.ReadbackPolicy), DurationMS: e.DurationMS, Note: e.Note,
	})
	if err != nil {
		t.Fatal(err)
	}
	return start, final
}

// fullEntry has every field set, with text that JSON escapes.
func fullEntry() *Entry {
	rollbackOf, status, ms, yes := int64(41), 409, 1234, true
	finished := time.Date(2026, 5, 6, 7, 8, 9, 987654321, time.FixedZone("X", -5*3600))
	return &Entry{
		ID: 42, SubmissionKey: "k<1>", StartedAt: time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.FixedZone("Y", 3600)),
		FinishedAt: &finished, Actor: "ålice & <bob>", ProjectID: "p", Region: "cn-north-4", EndpointID: "ep-1",
		EndpointServiceName: "com.example.obs", Action: ActionRollback, Reason: "why\u2028not\u2029? \"quoted\" \\ \x01\x1f\x7f\b\f\r\n\t",
		RollbackOf: &rollbackOf, Restores: RestoresAfter, PolicyBefore: json.RawMessage(`[{"Resource":["a<b>&c"]}]`),
		PolicyRequested: json.RawMessage(`null`), RequestBody: "{\"x\":\"<&>\"}\n", ResponseStatus: &status,
		ResponseBody: "conflict \xff\xfe bytes", RequestID: "r", ErrorCode: "E.1", ErrorMessage: "bad <thing>",
		ReadbackMatches: &yes, ReadbackPolicy: json.RawMessage(`[]`), DurationMS: &ms, Outcome: OutcomeFailed,
		Note: "日本語 ✓", Hash: strings.Repeat("a", 64), PrevHash: strings.Repeat("b", 64), FinalHash: strings.Repeat("c", 64),
		FormatVersion: 1,
	}
}

func TestVersion1IsTheJSONHashedBeforeVersions(t *testing.T) {
	t.Parallel()
	no, zero := false, 0
	epoch := time.Unix(0, 0)
	tests := []struct {
		name string
		e    *Entry
	}{
		{"zero entry", &Entry{FormatVersion: 1}},
		{"every field", fullEntry()},
		{"pending", func() *Entry {
			e := fullEntry()
			e.Outcome, e.FinishedAt, e.ResponseStatus, e.ReadbackMatches, e.ReadbackPolicy, e.DurationMS = OutcomePending, nil, nil, nil, nil, nil
			e.RequestBody, e.ResponseBody, e.RequestID, e.ErrorCode, e.ErrorMessage, e.Note, e.FinalHash = "", "", "", "", "", "", ""
			return e
		}()},
		{"update without rollback", func() *Entry {
			e := fullEntry()
			e.Action, e.RollbackOf, e.Restores, e.SubmissionKey = ActionUpdate, nil, "", ""
			return e
		}()},
		{"false, zero and whole seconds", func() *Entry {
			e := fullEntry()
			e.ReadbackMatches, e.DurationMS, e.StartedAt, e.FinishedAt = &no, &zero, epoch, &epoch
			return e
		}()},
		{"invalid UTF-8 everywhere", func() *Entry {
			e := fullEntry()
			e.Actor, e.Reason, e.PolicyBefore, e.Note = "\xc3", "a\xe2\x80b", json.RawMessage("\xed\xa0\x80"), "\xf4\x90\x80\x80"
			return e
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStart, wantFinal := legacyContent(t, tt.e)
			if diff := cmp.Diff(string(wantStart), string(currentFormat.content(tt.e, byHash))); diff != "" {
				t.Errorf("hash content mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(string(wantFinal), string(currentFormat.content(tt.e, byFinalHash))); diff != "" {
				t.Errorf("final_hash content mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersion2AddsFormatVersionFirst(t *testing.T) {
	t.Parallel()
	e := fullEntry()
	v1Start, v1Final := currentFormat.content(e, byHash), currentFormat.content(e, byFinalHash)
	e.FormatVersion = 2
	if want, got := `{"format_version":2,`+string(v1Start[1:]), string(currentFormat.content(e, byHash)); got != want {
		t.Errorf("v2 hash content = %s, want %s", got, want)
	}
	if want, got := string(v1Final), string(currentFormat.content(e, byFinalHash)); got != want {
		t.Errorf("v2 final_hash content = %s, want %s", got, want)
	}
}

func TestVersion3AddsAcknowledgedWarningsBeforePrevHash(t *testing.T) {
	t.Parallel()
	e := fullEntry()
	e.FormatVersion = 2
	v2Start, v2Final := string(currentFormat.content(e, byHash)), string(currentFormat.content(e, byFinalHash))
	tests := []struct {
		name string
		ack  []string
		want string // what version 3 inserts before prev_hash
	}{
		{"none", []string{}, `"acknowledged_warnings":[],`},
		{"nil is none", nil, `"acknowledged_warnings":[],`},
		{"two", []string{"allows_everything", "<odd>&"}, `"acknowledged_warnings":["allows_everything","\u003codd\u003e\u0026"],`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fullEntry()
			e.FormatVersion, e.AcknowledgedWarnings = 3, tt.ack
			want := strings.Replace(strings.Replace(v2Start, `"format_version":2`, `"format_version":3`, 1), `"prev_hash":`, tt.want+`"prev_hash":`, 1)
			if got := string(currentFormat.content(e, byHash)); got != want {
				t.Errorf("v3 hash content = %s, want %s", got, want)
			}
			if got := string(currentFormat.content(e, byFinalHash)); got != v2Final {
				t.Errorf("v3 final_hash content = %s, want %s", got, v2Final)
			}
		})
	}
	// A version 2 entry's hash does not cover the field.
	e.AcknowledgedWarnings = []string{"allows_everything"}
	if got := string(currentFormat.content(e, byHash)); got != v2Start {
		t.Errorf("v2 hash content with acknowledged warnings = %s, want %s", got, v2Start)
	}
}

// jsonStrings are strings whose JSON encodings differ in every way there is.
var jsonStrings = []string{"", "plain", `"\`, "<a&b>", "\u2028\u2029\u2027\u202a", "\x00\x08\x09\x0a\x0c\x0d\x1b\x1f\x7f",
	"\xff", "a\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xef\xbf\xbd", "日本語 ✓ 😀", strings.Repeat("é<", 100)}

func TestAppendJSONStringIsEncodingJSON(t *testing.T) {
	t.Parallel()
	check := func(s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	}
	for _, s := range jsonStrings {
		check(s)
	}
	for a := range 256 {
		for b := range 256 {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	for r := rune(0x80); r <= utf8.MaxRune; r += 97 {
		check("x" + string(r) + "\x80")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	})
}

func TestDerivedSQL(t *testing.T) {
	t.Parallel()
	want := struct{ Columns, Insert, Finalise string }{
		Columns: "format_version, id, submission_key, started_at, actor, project_id, region, endpoint_id, endpoint_service_name, " +
			"action, reason, rollback_of, restores, policy_before, policy_requested, acknowledged_warnings, detected_by, refers_to, attribution, prev_hash, hash, outcome, finished_at, " +
			"request_body, response_status, response_body, request_id, error_code, error_message, readback_matches, " +
			"readback_policy, duration_ms, note, final_hash",
		Insert: "INSERT INTO audit_entries (format_version, id, submission_key, started_at, actor, project_id, region, " +
			"endpoint_id, endpoint_service_name, action, reason, rollback_of, restores, policy_before, policy_requested, " +
			"acknowledged_warnings, detected_by, refers_to, attribution, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
		Finalise: "UPDATE audit_entries SET outcome = $2, finished_at = $3, request_body = $4, response_status = $5, " +
			"response_body = $6, request_id = $7, error_code = $8, error_message = $9, readback_matches = $10, " +
			"readback_policy = $11, duration_ms = $12, note = $13, final_hash = $14 WHERE id = $1 AND outcome = 'pending'",
	}
	got := struct{ Columns, Insert, Finalise string }{currentFormat.columns, currentFormat.insertSQL, currentFormat.finaliseSQL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("derived SQL mismatch (-want +got):\n%s", diff)
	}
	e := fullEntry()
	if n := len(currentFormat.insertArgs(e)); n != 21 {
		t.Errorf("%d INSERT arguments, want 21", n)
	}
	if args := currentFormat.finaliseArgs(e); len(args) != 14 || args[0] != e.ID {
		t.Errorf("UPDATE arguments %v, want 14 starting with the id", args)
	}
}

func TestNewFormatRefusesABadList(t *testing.T) {
	t.Parallel()
	extra := func(f field) []field { return append(append([]field(nil), entryFields...), f) }
	note := entryFields[len(entryFields)-2]
	tests := []struct {
		name   string
		fields []field
		ok     bool
	}{
		{"repeated name", extra(note), false},
		{"since newer than the format", extra(field{"x", CurrentFormatVersion + 1, atStart, byHash, note.column}), false},
		{"since zero", extra(field{"x", 0, atStart, byHash, note.column}), false},
		{"never written", extra(field{"x", 2, 0, byHash, note.column}), false},
		{"no format_version", entryFields[1:], false},
		{"the current list", entryFields, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); (r == nil) != tt.ok {
					t.Errorf("panic = %v, want one: %v", r, !tt.ok)
				}
			}()
			newFormat(CurrentFormatVersion, tt.fields)
		})
	}
}

// sqlKind is which Postgres types, and whether NULL, each column kind reads.
func sqlKind(c column) (types []string, null bool) {
	switch c := c.(type) {
	case textColumn:
		return []string{"text"}, c.null
	case jsonColumn:
		return []string{"text"}, c.null
	case timeColumn:
		return []string{"timestamp with time zone"}, false
	case optTimeColumn:
		return []string{"timestamp with time zone"}, true
	case intColumn[int64]:
		return []string{"bigint"}, false
	case intColumn[int]:
		return []string{"smallint", "integer"}, false
	case optIntColumn[int64]:
		return []string{"bigint"}, true
	case optIntColumn[int]:
		return []string{"smallint", "integer"}, true
	case optBoolColumn:
		return []string{"boolean"}, true
	case stringsColumn, tracesColumn:
		return []string{"text"}, true
	}
	return nil, false
}

func TestFieldsAreTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t, testdb.Migrated(t))
	rows, err := pool.Query(ctx, `SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL
		FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'audit_entries'`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct {
		Type       string
		Null       bool
		HasDefault bool
	}
	schema := map[string]col{}
	for rows.Next() {
		var name string
		var c col
		if err := rows.Scan(&name, &c.Type, &c.Null, &c.HasDefault); err != nil {
			t.Fatal(err)
		}
		schema[name] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range entryFields {
		listed[f.name] = true
		c, ok := schema[f.name]
		if !ok {
			t.Errorf("field %s is not a column of audit_entries", f.name)
			continue
		}
		types, null := sqlKind(f.column)
		if !strings.Contains(strings.Join(types, ","), c.Type) || null != c.Null {
			t.Errorf("field %s reads %v (NULL %v); the column is %s (NULL %v)", f.name, types, null, c.Type, c.Null)
		}
		// A column Begin does not write must have a value without it.
		if f.written != atStart && !c.Null && !c.HasDefault {
			t.Errorf("field %s is NOT NULL without a default but Begin does not write it", f.name)
		}
	}
	for name := range schema {
		if !listed[name] && !slices.Contains(derivedColumns, name) {
			t.Errorf("column %s of audit_entries is not in entryFields", name)
		}
	}
}

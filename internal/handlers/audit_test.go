package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
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
		"endpoint=ep-1":  40,
		"actor=bob":      50, // the first page of 60
		"outcome=failed": 24,
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
	for _, bad := range []string{"outcome=great", "action=delete", "from=yesterday", "cursor=abc"} {
		if r := a.get(t, "/audit?"+bad); r.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, r.Code)
		}
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

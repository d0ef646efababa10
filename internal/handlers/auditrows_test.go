package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
)

// TestAuditListRowsKeptAsRendered: the audit list served with its kept rows
// is the page rendered afresh, byte for byte; an entry finalised since
// shows its new outcome, not the kept row.
func TestAuditListRowsKeptAsRendered(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	seedEntries(t, a, 5)
	ctx := context.Background()
	pending, err := a.audit.Begin(ctx, audit.Start{
		Actor: "carol", ProjectID: projectID, Region: "cn-north-4", EndpointID: "ep-9",
		Action: audit.ActionUpdate, Reason: "pending <b>one</b>", PolicyBefore: `[]`, PolicyRequested: `[]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := func() string {
		html, err := a.get(t, "/audit").doc.Find(testid("audit-table") + " tbody").Html()
		if err != nil {
			t.Fatal(err)
		}
		return html
	}
	first, again := rows(), rows()
	if first != again || strings.Count(first, `data-testid="audit-row"`) != 6 {
		t.Fatalf("the rows served kept differ from the first render:\n%s\n%s", first, again)
	}
	if !strings.Contains(first, ">pending<") || !strings.Contains(first, "pending &lt;b&gt;one&lt;/b&gt;") {
		t.Fatalf("the pending entry is not listed as rendered: %s", first)
	}
	if err := a.audit.Finalise(ctx, pending, audit.Final{Outcome: audit.OutcomeFailed, ResponseStatus: 502}); err != nil {
		t.Fatal(err)
	}
	r := a.get(t, "/audit")
	row := r.doc.Find(`[data-entry-id="#` + strconv.FormatInt(pending.ID, 10) + `"]`)
	if got := strings.TrimSpace(row.Find(testid("audit-outcome")).Text()); got != audit.OutcomeFailed {
		t.Errorf("finalised entry shows %q", got)
	}
}

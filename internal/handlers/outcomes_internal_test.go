package handlers

import (
	"net/http"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
)

// Every outcome a change can have is answered, on a page and in the API.
func TestEveryOutcomeHasAnAnswer(t *testing.T) {
	t.Parallel()
	for _, o := range change.Outcomes {
		a, err := answerFor(o)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if a.message == "" || a.status == 0 {
			t.Errorf("%s: answer %+v lacks a status or words", o, a)
		}
		if (a.code == "") != (a.status == http.StatusOK) {
			t.Errorf("%s: status %d with API code %q: a change answered as itself is a 200, and only that", o, a.status, a.code)
		}
		if a.page == toEntry && a.recorded != "" && doneBanner(string(o), &audit.Entry{Outcome: a.recorded}) != a.message {
			t.Errorf("%s: the entry page has no banner for it", o)
		}
		if a.recorded != "" && a.page == toEntry {
			for _, other := range []string{audit.OutcomePending, audit.OutcomeSucceeded, audit.OutcomeFailed, audit.OutcomeUnknown} {
				if other != a.recorded && doneBanner(string(o), &audit.Entry{Outcome: other}) != "" {
					t.Errorf("%s: the banner shows on a %s entry, which says otherwise", o, other)
				}
			}
		}
	}
	if len(changeAnswers) != len(change.Outcomes) {
		t.Errorf("%d answers for %d outcomes", len(changeAnswers), len(change.Outcomes))
	}
	if _, err := answerFor("no-such-outcome"); err == nil {
		t.Error("an outcome missing from the table was answered")
	}
	if doneBanner("<script>", &audit.Entry{Outcome: audit.OutcomeSucceeded}) != "" {
		t.Error("an unknown done value gave a banner")
	}
}

package handlers_test

import (
	"testing"
	"time"
)

// TestAuditFiltersAsAPersonMeansThem: an endpoint prefix typed in capitals
// finds the (lower-case) ids; a bare "to" date takes in that whole day, as
// on the security events page; ids in the list are short, whole on hover,
// with a copy button.
func TestAuditFiltersAsAPersonMeansThem(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	seedEntries(t, a, 6) // endpoints ep-0, ep-1, ep-2, twice each, started now
	today := time.Now().UTC().Format(time.DateOnly)
	for query, want := range map[string]int{
		"endpoint=EP-1":                  2,
		"endpoint=ep-1":                  2,
		"to=" + today:                    6,
		"from=" + today:                  6,
		"from=" + today + "&to=" + today: 6,
		"to=2000-01-01":                  0,
	} {
		r := a.get(t, "/audit?"+query)
		if n := r.doc.Find(testid("audit-row")).Length(); r.Code != 200 || n != want {
			t.Errorf("%s: %d, %d rows, want %d", query, r.Code, n, want)
		}
	}
	r := a.get(t, "/audit")
	id := r.doc.Find(testid("audit-row") + " .short-id").First()
	if id.AttrOr("title", "") == "" || len(id.Text()) >= len(id.AttrOr("title", "")) && len(id.AttrOr("title", "")) > 8 {
		t.Errorf("id %q, title %q", id.Text(), id.AttrOr("title", ""))
	}
	if r.doc.Find(testid("audit-row")+" button.copy[data-copy]").Length() != 6 {
		t.Error("no copy button on each row's endpoint id")
	}
}

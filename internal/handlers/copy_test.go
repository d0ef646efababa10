package handlers_test

import (
	"strconv"
	"testing"
)

// TestEntryPageCopyButtons: what people paste elsewhere — the endpoint id,
// the upstream request id, the permalink and the hashes — each has a copy
// button carrying exactly that text.
func TestEntryPageCopyButtons(t *testing.T) {
	t.Parallel()
	a := newApp(t)
	e := seedEntries(t, a, 2)[1]
	page := a.get(t, "/audit/"+strconv.FormatInt(e.ID, 10))
	copies := map[string]bool{}
	for _, s := range page.doc.Find("button.copy[data-copy]").EachIter() {
		copies[s.AttrOr("data-copy", "")] = true
	}
	for what, want := range map[string]string{
		"endpoint id": e.EndpointID,
		"permalink":   "/audit/" + strconv.FormatInt(e.ID, 10),
		"hash":        e.Hash,
		"prev hash":   e.PrevHash,
	} {
		if want == "" || !copies[want] {
			t.Errorf("no copy button for the %s %q (buttons: %v)", what, want, copies)
		}
	}
}

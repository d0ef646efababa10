package simtest

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// SoakRuns is how many runs a fault campaign makes: short in `make test`,
// VPCEP_SOAK_RUNS in `make soak`.
func SoakRuns(short int) int {
	if n, err := strconv.Atoi(os.Getenv("VPCEP_SOAK_RUNS")); err == nil && n > 0 {
		return n
	}
	return short
}

// CheckRecord checks what a campaign left in log against what the
// simulator received and holds: nothing pending; every PUT it received is
// the request of exactly one entry, which does not say nothing was sent;
// per endpoint, the succeeded entries form one line (each started from what
// the one before left: no update lost) ending in the live policy. It
// returns the entries by canonical requested policy, for further checks.
func (u *Upstream) CheckRecord(t testing.TB, log *audit.Log) map[string][]*audit.Entry {
	t.Helper()
	var entries []*audit.Entry // oldest first
	if err := log.Each(context.Background(), audit.Filter{}, func(e *audit.Entry) error {
		entries = append([]*audit.Entry{e}, entries...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	byRequested := map[string][]*audit.Entry{}
	last := map[string]*audit.Entry{} // per endpoint, the last succeeded change
	for _, e := range entries {
		if e.Outcome == audit.OutcomePending {
			t.Errorf("entry #%d still pending", e.ID)
		}
		requested := canonicalStored(e.PolicyRequested)
		byRequested[requested] = append(byRequested[requested], e)
		if e.Outcome != audit.OutcomeSucceeded || canonicalStored(e.PolicyBefore) == requested {
			continue
		}
		if prev := last[e.EndpointID]; prev != nil && canonicalStored(e.PolicyBefore) != canonicalStored(prev.PolicyRequested) {
			t.Errorf("entry #%d started from %s, but #%d had left %s: an update was lost", e.ID, e.PolicyBefore, prev.ID, prev.PolicyRequested)
		}
		last[e.EndpointID] = e
	}
	for _, r := range u.Requests() {
		if r.Method != http.MethodPut {
			continue
		}
		p, errs := policy.ParseDocument(r.Body, "body")
		if len(errs) > 0 {
			t.Fatalf("PUT body %s: %v", r.Body, errs)
		}
		matching := byRequested[policy.CanonicalJSON(p)]
		if len(matching) != 1 {
			t.Errorf("PUT %s is requested by %d entries, want 1", r.Body, len(matching))
			continue
		}
		if e := matching[0]; strings.Contains(e.Note, "nothing was sent") {
			t.Errorf("PUT %s went out, but entry #%d says %q", r.Body, e.ID, e.Note)
		}
	}
	for id, e := range last {
		if live := policy.CanonicalJSON(u.Live(t, id)); live != canonicalStored(e.PolicyRequested) {
			t.Errorf("endpoint %s holds %s, but its last succeeded entry #%d asked for %s", id, live, e.ID, e.PolicyRequested)
		}
	}
	return byRequested
}

// canonicalStored is the canonical form of a policy as the log stores it,
// or "null".
func canonicalStored(raw []byte) string {
	p, err := policy.FromJSON(raw)
	if err != nil {
		return "null"
	}
	return policy.CanonicalJSON(p)
}

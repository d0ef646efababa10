package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// changeOutside changes the endpoint's policy in the simulator, as someone
// using the Huawei Cloud console would.
func changeOutside(t *testing.T, a *app, id, bucket string) {
	t.Helper()
	ep, ok := a.sim.Endpoint(id)
	if !ok {
		t.Fatalf("no endpoint %s", id)
	}
	ep.Statements = []vpcepsim.Statement{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:" + bucket + "/*"}}}
	a.sim.PutEndpoint(ep)
}

// driftEntry is the newest drift entry of the endpoint.
func driftEntry(t *testing.T, a *app, id string) *audit.Entry {
	t.Helper()
	page, err := a.audit.List(context.Background(), audit.Filter{EndpointID: id, Action: audit.ActionDrift}, "", 1)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("drift entries of %s: %v, %v", id, page.Entries, err)
	}
	return page.Entries[0]
}

func TestAPIDriftedFilterAdoptAndRevert(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	a.refresh(t) // baselines
	ep := a.sim.Gateway(t, 2)
	known := a.sim.Live(t, ep.ID)
	changeOutside(t, a, ep.ID, "outside")
	a.refresh(t) // the drift

	r := a.api(t, "GET", "/api/v1/endpoints?drifted=true", "", nil)
	eps, _ := r.body["endpoints"].([]any)
	if r.code != 200 || len(eps) != 1 {
		t.Fatalf("drifted list: %d %.500s", r.code, r.raw)
	}
	d := driftEntry(t, a, ep.ID)
	if got := eps[0].(map[string]any); got["id"] != ep.ID || got["drifted"] != true || got["drift_entry_id"] != float64(d.ID) {
		t.Errorf("drifted endpoint %v", got)
	}
	r = a.api(t, "GET", "/api/v1/endpoints?limit=1000", "", nil)
	for _, e := range r.body["endpoints"].([]any) {
		e := e.(map[string]any)
		if want := e["id"] == ep.ID; e["drifted"] != want {
			t.Errorf("endpoint %s: drifted %v", e["id"], e["drifted"])
		}
	}
	if r := a.api(t, "GET", "/api/v1/endpoints?drifted=yes", "", nil); r.code != 400 || r.errField("field") != "drifted" {
		t.Errorf("drifted=yes: %d %.300s", r.code, r.raw)
	}
	r = a.api(t, "GET", "/api/v1/endpoints/"+ep.ID, "", nil)
	detail, _ := r.body["drift"].(map[string]any)
	if r.code != 200 || r.body["drifted"] != true || r.body["known_fingerprint"] != policy.Fingerprint(known) ||
		detail["attribution_state"] != "disabled" || r.body["drift_entry_id"] != float64(d.ID) {
		t.Errorf("endpoint: %d %.600s", r.code, r.raw)
	}

	// The audit filters and exports know the new actions and fields.
	r = a.api(t, "GET", "/api/v1/audit?action=drift", "", nil)
	if entries, _ := r.body["entries"].([]any); r.code != 200 || len(entries) != 1 || entries[0].(map[string]any)["detected_by"] != "refresh" {
		t.Errorf("audit?action=drift: %d %.500s", r.code, r.raw)
	}
	if r := a.api(t, "GET", "/api/v1/audit?action=baseline&limit=1", "", nil); r.code != 200 || len(r.body["entries"].([]any)) != 1 {
		t.Errorf("audit?action=baseline: %d %.300s", r.code, r.raw)
	}
	if r := a.api(t, "GET", "/api/v1/audit?action=explode", "", nil); r.code != 400 {
		t.Errorf("audit?action=explode: %d", r.code)
	}
	if csv := a.get(t, "/audit.csv?action=drift").Body.String(); !strings.Contains(strings.SplitN(csv, "\n", 2)[0], "detected_by,refers_to,attribution") ||
		!strings.Contains(csv, ",drift,") {
		t.Errorf("CSV export: %.400s", csv)
	}

	adopt := fmt.Sprintf("/api/v1/audit/%d/adopt", d.ID)
	// A viewer, and a read-only token of an editor, cannot adopt.
	viewer := &app{handler: a.handler, auth: a.auth, pool: a.pool, sim: a.sim, cookies: map[string]string{}}
	viewer.signIn(t, a.account(t, auth.Viewer))
	if r := viewer.api(t, "POST", adopt, `{"reason": "x"}`, nil); r.code != http.StatusForbidden {
		t.Errorf("viewer adopt: %d %.300s", r.code, r.raw)
	}
	token := newTokenFlow(t, a, "/account/tokens", "/account")
	bearer := &app{handler: a.handler, cookies: map[string]string{}}
	if r := bearer.api(t, "POST", adopt, `{"reason": "x"}`, map[string]string{"Authorization": "Bearer " + token}); r.code != http.StatusForbidden {
		t.Errorf("read-only token adopt: %d %.300s", r.code, r.raw)
	}
	if r := a.api(t, "POST", adopt, `{"reason": "  "}`, nil); r.code != 400 || r.errField("field") != "reason" {
		t.Errorf("adopt without a reason: %d %.300s", r.code, r.raw)
	}
	first, _ := a.audit.List(context.Background(), audit.Filter{EndpointID: ep.ID, Action: audit.ActionBaseline}, "", 1)
	if r := a.api(t, "POST", fmt.Sprintf("/api/v1/audit/%d/adopt", first.Entries[0].ID), `{"reason": "x"}`, nil); r.code != 400 || r.errField("code") != "not_drift" {
		t.Errorf("adopt a baseline: %d %.300s", r.code, r.raw)
	}
	r = a.api(t, "POST", adopt, `{"reason": "made in the Huawei Cloud console on purpose"}`, nil)
	entry, _ := r.body["entry"].(map[string]any)
	if r.code != 200 || entry["action"] != "adopt" || entry["refers_to"] != float64(d.ID) {
		t.Fatalf("adopt: %d %.500s", r.code, r.raw)
	}
	if r := a.api(t, "POST", adopt, `{"reason": "again"}`, nil); r.code != http.StatusConflict || r.errField("code") != "drift_not_open" {
		t.Errorf("adopt twice: %d %.300s", r.code, r.raw)
	}
	if !policy.Equal(a.sim.Live(t, ep.ID), policy.Policy{{Effect: "Allow", Action: []string{"obs:object:GetObject"}, Resource: []string{"obs:*:*:object:outside/*"}}}) {
		t.Error("adopting changed the live policy")
	}
	if r := a.api(t, "GET", "/api/v1/endpoints?drifted=true", "", nil); len(r.body["endpoints"].([]any)) != 0 {
		t.Errorf("still drifted after adopt: %.300s", r.raw)
	}

	// Revert: the rollback call on the next drift, restoring the known version.
	adopted := a.sim.Live(t, ep.ID)
	changeOutside(t, a, ep.ID, "again")
	if r := a.api(t, "GET", "/api/v1/endpoints/"+ep.ID, "", nil); r.body["drifted"] != true { // a live read records it
		t.Fatalf("not drifted after a second change: %.300s", r.raw)
	}
	d2 := driftEntry(t, a, ep.ID)
	if d2.DetectedBy != "detail" {
		t.Errorf("second drift detected by %q", d2.DetectedBy)
	}
	r = a.api(t, "POST", fmt.Sprintf("/api/v1/audit/%d/rollback", d2.ID), `{"reason": "not through the console", "restores": "known"}`, nil)
	entry, _ = r.body["entry"].(map[string]any)
	if r.code != 200 || entry["action"] != "rollback" || entry["restores"] != "known" || entry["rollback_of"] != float64(d2.ID) {
		t.Fatalf("revert: %d %.500s", r.code, r.raw)
	}
	if !policy.Equal(a.sim.Live(t, ep.ID), adopted) {
		t.Errorf("revert left %s, want the adopted version", policy.JSON(a.sim.Live(t, ep.ID)))
	}
	if r := a.api(t, "GET", "/api/v1/endpoints/"+ep.ID, "", nil); r.body["drifted"] != false {
		t.Errorf("drifted after the revert: %.300s", r.raw)
	}
	if res, err := a.audit.Verify(context.Background()); err != nil || !res.OK() {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

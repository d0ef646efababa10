package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// apiDrift is an endpoint's drift as GET /api/v1/endpoints/{id} shows it.
type apiDrift struct {
	Drifted          bool            `json:"drifted"`
	DriftEntryID     *int64          `json:"drift_entry_id"`    // the open drift entry; null when not drifted
	KnownFingerprint string          `json:"known_fingerprint"` // the last version the console established
	KnownEntryID     *int64          `json:"known_entry_id"`
	Known            json.RawMessage `json:"known_policy,omitempty"`
	Attribution      []cts.Trace     `json:"attribution"`       // who made the drift, per CTS
	AttributionState string          `json:"attribution_state"` // disabled | pending | failed | found | none
	LastError        string          `json:"last_error,omitempty"`
	CheckedAt        *time.Time      `json:"checked_at"`
}

// newAPIDrift is st as the API shows it.
func newAPIDrift(st *drift.Status) apiDrift {
	out := apiDrift{Drifted: st.Drifted, KnownFingerprint: st.KnownFingerprint, Known: st.Known,
		Attribution: st.Attribution, AttributionState: st.AttributionState, LastError: st.LastError}
	if out.Attribution == nil {
		out.Attribution = []cts.Trace{}
	}
	if st.Drift != nil {
		out.DriftEntryID = &st.Drift.ID
	}
	if st.KnownEntryID != 0 {
		out.KnownEntryID = &st.KnownEntryID
	}
	if !st.CheckedAt.IsZero() {
		at := st.CheckedAt
		out.CheckedAt = &at
	}
	return out
}

// observeDrift compares ep, just read live for a page or the API, with the
// version the console knows (recording a drift or a baseline), and returns
// the endpoint's drift status; nil when detection is off or failed (the
// failure is logged: a page is never refused for it).
func (s *Server) observeDrift(ctx context.Context, p *Project, ep *vpcep.Endpoint, how string) *drift.Status {
	if p.Drift == nil {
		return nil
	}
	st, err := p.Drift.Observe(ctx, ep, how)
	if err != nil {
		s.Logger.Warn("drift detection on a live read failed", "endpoint", ep.ID, "error", err)
		return nil
	}
	return st
}

// apiDriftedFilter reads ?drifted=: true lists only drifted endpoints.
func apiDriftedFilter(c echo.Context) (drifted bool, ok bool) {
	switch c.QueryParam("drifted") {
	case "", "false":
		return false, true
	case "true":
		return true, true
	}
	_ = apiInvalidRequest(c, http.StatusBadRequest, "drifted", `drifted must be "true" or "false".`)
	return false, false
}

// appendDriftFields appends the list's drift fields to an endpoint's JSON
// object (ep, ending in '}'): whether it is drifted, and its drift entry.
func appendDriftFields(out, ep []byte, driftEntry int64) []byte {
	out = append(out, ep[:len(ep)-1]...)
	if driftEntry == 0 {
		return append(out, `,"drifted":false,"drift_entry_id":null}`...)
	}
	out = append(out, `,"drifted":true,"drift_entry_id":`...)
	out = strconv.AppendInt(out, driftEntry, 10)
	return append(out, '}')
}

// apiAdoptResult is POST /api/v1/audit/{id}/adopt's answer.
type apiAdoptResult struct {
	Entry   *audit.Entry `json:"entry"`
	Message string       `json:"message"`
}

// apiAdopt is POST /api/v1/audit/{id}/adopt with {"reason": "..."}: the
// drift entry's version becomes the known one (an adopt entry); nothing is
// sent upstream. Editors and admins; a read-only token is refused.
func (s *Server) apiAdopt(c echo.Context) error {
	data, ok := apiReadJSON(c, 16<<10, "The body is over 16 KiB.")
	if !ok {
		return nil
	}
	top, ok := apiObject(c, data, `The body must be {"reason": "..."}.`, "reason")
	if !ok {
		return nil
	}
	reason, ok := apiString(c, top, "reason")
	if !ok {
		return nil
	}
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	p, err := s.entryProject(c, e, editor)
	if err != nil {
		return err
	}
	if p.Drift == nil {
		return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "not_found", Message: "Drift detection is not enabled on this console."}})
	}
	adopted, err := p.Drift.Adopt(c.Request().Context(), actor(c), e.ID, strings.TrimSpace(reason))
	if err != nil {
		return err // the error table answers it
	}
	return c.JSON(http.StatusOK, apiAdoptResult{Entry: adopted,
		Message: "Adopted: the version changed outside the console is the known version now. Nothing was sent."})
}

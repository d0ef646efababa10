package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The JSON API under /api/v1 follows the same rules as the pages. Errors are
// {"error": {"code": ..., "message": ..., ...}}.

// apiError is the error object of every JSON API failure.
type apiError struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Field        string `json:"field,omitempty"`
	Status       int    `json:"status,omitempty"`        // upstream HTTP status
	UpstreamCode string `json:"upstream_code,omitempty"` // upstream error code
	RequestID    string `json:"request_id,omitempty"`    // upstream request id
}

// apiErrorBody is the body of every JSON API failure: the error, and what
// the client needs to act on it.
type apiErrorBody struct {
	Error       apiError           `json:"error"`
	Errors      policy.FieldErrors `json:"errors,omitempty"`      // every field at fault
	Entry       *audit.Entry       `json:"entry,omitempty"`       // the change's entry, when one was recorded
	Live        *vpcep.Endpoint    `json:"live,omitempty"`        // on a conflict, the endpoint as it is now
	Fingerprint string             `json:"fingerprint,omitempty"` // on a conflict, the live policy's fingerprint
}

func apiFail(c echo.Context, status int, body apiErrorBody) error { return c.JSON(status, body) }

// apiInvalidRequest answers a malformed request, naming the field.
func apiInvalidRequest(c echo.Context, status int, field, message string) error {
	return apiFail(c, status, apiErrorBody{Error: apiError{Code: "invalid_request", Field: field, Message: message}})
}

// apiEndpointList is GET /api/v1/endpoints's answer: a page of the
// inventory and how far it can be trusted.
type apiEndpointList struct {
	Endpoints  []vpcep.Endpoint `json:"endpoints"`
	NextCursor string           `json:"next_cursor"`
	Inventory  apiInventory     `json:"inventory"`
	// drifts are the drifted endpoints: each endpoint's JSON says whether
	// it is drifted ("drifted", "drift_entry_id").
	drifts map[string]int64
}

// apiInventory is the inventory's state in every list answer, so that a
// script can tell a current list from an old one (inventory.Status).
type apiInventory struct {
	State         inventory.State  `json:"state"`           // fresh | stale (never_loaded answers 503)
	RefreshedAt   *time.Time       `json:"refreshed_at"`    // when the last successful refresh finished
	LastAttemptAt *time.Time       `json:"last_attempt_at"` // when the newest refresh finished, failed or not
	LastError     *apiRefreshError `json:"last_error"`      // why the newest refresh failed; null when it succeeded
}

// apiRefreshError is why a refresh failed, as the upstream answered.
type apiRefreshError struct {
	Source    string `json:"source"`     // upstream | console
	Status    int    `json:"status"`     // the upstream's HTTP status; 0 when no answer arrived
	Code      string `json:"code"`       // the upstream's error code, e.g. APIGW.0301
	Message   string `json:"message"`    // the upstream's message, or a plain description
	RequestID string `json:"request_id"` // the upstream's request id
}

// newAPIInventory is st as the API shows it.
func newAPIInventory(st inventory.Status) apiInventory {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	out := apiInventory{State: st.State, RefreshedAt: at(st.RefreshedAt), LastAttemptAt: at(st.LastAttemptAt)}
	if f := st.LastFailure; f != nil {
		out.LastError = &apiRefreshError{Source: f.Source, Status: f.Status, Code: f.Code, Message: f.Message, RequestID: f.RequestID}
	}
	return out
}

// apiAuditList is GET /api/v1/audit's answer.
type apiAuditList struct {
	Entries    []*audit.Entry `json:"entries"`
	NextCursor string         `json:"next_cursor"`
}

// apiEndpoint is GET /api/v1/endpoints/{id}'s answer: the endpoint as the
// upstream returned it, every field kept, plus what a later PUT needs.
type apiEndpoint struct {
	Upstream    map[string]json.RawMessage
	Fingerprint string
	Editable    bool
	Drift       *apiDrift // nil: not detected (not editable, detection off or failed)
}

// MarshalJSON writes the upstream's fields with fingerprint and editable beside them.
func (e apiEndpoint) MarshalJSON() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(e.Upstream)+2)
	for k, v := range e.Upstream {
		out[k] = v
	}
	var err error
	if out["fingerprint"], err = json.Marshal(e.Fingerprint); err != nil {
		return nil, err
	}
	if out["editable"], err = json.Marshal(e.Editable); err != nil {
		return nil, err
	}
	if e.Drift != nil {
		// The list's fields, and the detail under "drift".
		if out["drifted"], err = json.Marshal(e.Drift.Drifted); err != nil {
			return nil, err
		}
		if out["drift_entry_id"], err = json.Marshal(e.Drift.DriftEntryID); err != nil {
			return nil, err
		}
		if out["known_fingerprint"], err = json.Marshal(e.Drift.KnownFingerprint); err != nil {
			return nil, err
		}
		if out["drift"], err = json.Marshal(e.Drift); err != nil {
			return nil, err
		}
	}
	return json.Marshal(out)
}

// apiLimit reads limit: 1 to most, def when absent; ok is false when it
// answered the request with the error.
func apiLimit(c echo.Context, def, most int) (n int, ok bool) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most || len(v) > 9 {
		_ = apiInvalidRequest(c, http.StatusBadRequest, "limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", most))
		return 0, false
	}
	return n, true
}

// apiListEndpoints is GET /api/v1/endpoints: the inventory, keyset-paged,
// with its state. While no refresh has succeeded there is no list to give:
// the error table answers 503 inventory_unavailable with the newest
// refresh's upstream error, never an empty list.
func (s *Server) apiListEndpoints(c echo.Context) error {
	f, err := parseFilter(c)
	if err != nil {
		return err // the error handler answers the API in JSON
	}
	limit, ok := apiLimit(c, 100, 1000)
	if !ok {
		return nil
	}
	drifted, ok := apiDriftedFilter(c)
	if !ok {
		return nil
	}
	// Checked before the inventory's state, so a bad cursor is a 400 even
	// while the inventory is not loaded; the error table answers it.
	if err := store.CheckInventoryCursor(c.QueryParam("cursor")); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// The state is read before the list: should a refresh land in between,
	// the list is newer than the state says, never older.
	p := scoped(c)
	st, err := p.Refresher.Status(ctx, s.Now())
	if err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	eps, renderings, next, err := p.Store.ListInventoryRowsAfter(ctx,
		store.InventoryFilter{Type: f.Type, Status: f.Status, VpcID: f.VpcID, Search: f.Search, Drifted: drifted}, c.QueryParam("cursor"), limit)
	if err != nil {
		return err // a bad cursor is answered by the error table
	}
	if eps == nil {
		eps = []vpcep.Endpoint{}
	}
	// One map per answer (the read model's), not a query per endpoint.
	drifts, err := p.Store.Drifts(ctx)
	if err != nil {
		return err
	}
	list := apiEndpointList{Endpoints: eps, NextCursor: next, Inventory: newAPIInventory(st), drifts: drifts}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	buf.Reset()
	body, err := list.encode(buf.AvailableBuffer(), renderings)
	if err != nil {
		return err
	}
	if _, pretty := c.QueryParams()["pretty"]; pretty {
		var indented bytes.Buffer
		if err := json.Indent(&indented, body, "", "  "); err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, indented.Bytes())
	}
	buf.Write(body) // keeps the grown buffer for the next answer
	return c.JSONBlob(http.StatusOK, buf.Bytes())
}

// encode is the list as c.JSON writes it (encoding/json, a newline at the
// end), with each endpoint's JSON taken from its Renderings: encoded once
// per inventory generation, not once per answer; its drift fields are
// added to it each time.
func (l apiEndpointList) encode(out []byte, renderings []*store.Renderings) ([]byte, error) {
	tail, err := json.Marshal(struct {
		NextCursor string       `json:"next_cursor"`
		Inventory  apiInventory `json:"inventory"`
	}{l.NextCursor, l.Inventory})
	if err != nil {
		return nil, err
	}
	out = append(out, `{"endpoints":[`...)
	for i := range l.Endpoints {
		var r *store.Renderings
		if i < len(renderings) {
			r = renderings[i]
		}
		ep, err := r.JSON(func() (string, error) {
			b, err := json.Marshal(&l.Endpoints[i])
			return string(b), err
		})
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendDriftFields(out, []byte(ep), l.drifts[l.Endpoints[i].ID])
	}
	out = append(out, "],"...)
	out = append(out, tail[1:]...) // the tail's fields, without its opening brace
	return append(out, '\n'), nil
}

// apiGetEndpoint is GET /api/v1/endpoints/{id}: the endpoint as the upstream
// returned it, plus the fingerprint of its policy for a later PUT.
func (s *Server) apiGetEndpoint(c echo.Context) error {
	id := c.Param("id")
	if len(id) > 64 {
		return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "not_found", Message: "No endpoint has this id."}})
	}
	ctx, rec := vpcep.WithRecorder(c.Request().Context())
	ep, err := scoped(c).Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return err
	}
	body := apiEndpoint{Upstream: map[string]json.RawMessage{}, Fingerprint: policy.Fingerprint(ep.PolicyStatement)}
	if xs := rec.Exchanges(); len(xs) > 0 {
		_ = json.Unmarshal(xs[len(xs)-1].ResponseBody, &body.Upstream)
	}
	if len(body.Upstream) == 0 {
		raw, _ := json.Marshal(ep)
		_ = json.Unmarshal(raw, &body.Upstream)
	}
	body.Editable, _ = change.Editable(ep)
	if body.Editable {
		// A live read: a detection point (a drift is recorded here).
		if st := s.observeDrift(c.Request().Context(), scoped(c), ep, drift.ByDetail); st != nil {
			d := newAPIDrift(st)
			body.Drift = &d
		}
	}
	return c.JSON(http.StatusOK, body)
}

// apiUpdatePolicy is PUT /api/v1/endpoints/{id}/policy. Lint warnings are
// returned, never blocking: a client that sends a policy with warnings
// acknowledges them by sending it, so the entry records every warning's
// code as acknowledged by the caller. Idempotency-Key makes a retry safe.
func (s *Server) apiUpdatePolicy(c echo.Context) error {
	data, ok := apiReadJSON(c, policy.MaxBodyBytes, "The body is over 64 KiB.")
	if !ok {
		return nil
	}
	top, ok := apiObject(c, data, `The body must be a JSON object: {"policy_statement": [...], "reason": "..."}.`,
		"policy_statement", "reason", "fingerprint", "acknowledged_warnings")
	if !ok {
		return nil
	}
	raw, ok := top["policy_statement"]
	if !ok {
		return apiFail(c, http.StatusBadRequest, apiErrorBody{Error: apiError{Code: "invalid_policy", Field: "policy_statement", Message: "policy_statement is required."}})
	}
	reason, ok := apiString(c, top, "reason")
	if !ok {
		return nil
	}
	fingerprint, ok := apiFingerprint(c, top)
	if !ok {
		return nil
	}
	acknowledged, ok := apiAcknowledged(c, top)
	if !ok {
		return nil
	}
	// apiObject has run CheckJSON over the whole body, policy_statement included.
	p, errs := policy.ParseCheckedStatements(raw)
	if len(errs) > 0 {
		return apiInvalid(c, "invalid_policy", errs)
	}
	if errs := policy.ValidateReason(reason); len(errs) > 0 {
		return apiInvalid(c, "invalid_request", errs)
	}
	warnings := policy.Lint(p)
	res, err := scoped(c).Applier.Apply(c.Request().Context(), change.Request{
		Actor: actor(c), EndpointID: c.Param("id"), Policy: p, Reason: strings.TrimSpace(reason),
		Fingerprint: fingerprint, SubmissionKey: idempotencyKey(c), Action: audit.ActionUpdate,
		Acknowledged: acknowledged,
	})
	if err != nil {
		return err
	}
	return apiChangeAnswer(c, res, warnings)
}

// warningCodes are the codes of ws.
func warningCodes(ws []policy.Warning) []string {
	codes := make([]string, 0, len(ws))
	for _, w := range ws {
		codes = append(codes, w.Code)
	}
	return codes
}

// apiReadJSON reads a change's body: application/json (415
// unsupported_media_type otherwise), at most limit bytes (413 with
// tooLarge otherwise). ok is false when it answered the request.
func apiReadJSON(c echo.Context, limit int, tooLarge string) (data []byte, ok bool) {
	mt, params, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		_ = apiFail(c, http.StatusUnsupportedMediaType, apiErrorBody{Error: apiError{Code: "unsupported_media_type", Field: "Content-Type",
			Message: "The body must be JSON, sent with Content-Type: application/json."}})
		return nil, false
	}
	data, err = io.ReadAll(io.LimitReader(c.Request().Body, int64(limit)+1))
	if err != nil {
		_ = apiInvalidRequest(c, http.StatusBadRequest, "body", "The body could not be read.")
		return nil, false
	}
	if len(data) > limit {
		_ = apiInvalidRequest(c, http.StatusRequestEntityTooLarge, "body", tooLarge)
		return nil, false
	}
	return data, true
}

// apiObject checks data with the strict JSON reader (no duplicate keys, no
// invalid UTF-8 or lone surrogate, nothing after the object) and returns
// its members, refusing any not in allowed. An empty body is an empty
// object. ok is false when it answered the request.
func apiObject(c echo.Context, data []byte, shape string, allowed ...string) (map[string]json.RawMessage, bool) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) == 0 {
		return top, true
	}
	if err := policy.CheckJSON(data, ""); err != nil {
		fe := policy.JSONFieldError(err, "body")
		_ = apiInvalidRequest(c, http.StatusBadRequest, fe.Field, fe.Message)
		return nil, false
	}
	if err := json.Unmarshal(data, &top); err != nil || top == nil {
		_ = apiInvalidRequest(c, http.StatusBadRequest, "body", shape)
		return nil, false
	}
	for k := range top {
		if !slices.Contains(allowed, k) {
			_ = apiInvalidRequest(c, http.StatusBadRequest, k, fmt.Sprintf("Unknown key %q: allowed are %s.", k, strings.Join(allowed, ", ")))
			return nil, false
		}
	}
	return top, true
}

// apiString reads the optional string member key; ok is false when it
// answered the request.
func apiString(c echo.Context, top map[string]json.RawMessage, key string) (string, bool) {
	raw, present := top[key]
	if !present || string(raw) == "null" {
		return "", true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		_ = apiInvalidRequest(c, http.StatusBadRequest, key, key+" must be a string.")
		return "", false
	}
	return v, true
}

// apiAcknowledged reads the optional acknowledged_warnings: the codes of the
// lint warnings the caller says it has read. Warnings never block an API
// change, so nothing is recorded as acknowledged unless the caller says so;
// a code that is not a warning of the policy is refused by change.Apply.
func apiAcknowledged(c echo.Context, top map[string]json.RawMessage) ([]string, bool) {
	raw, present := top["acknowledged_warnings"]
	if !present || string(raw) == "null" {
		return nil, true
	}
	var codes []string
	if err := json.Unmarshal(raw, &codes); err != nil || len(codes) > 50 {
		_ = apiInvalidRequest(c, http.StatusBadRequest, "acknowledged_warnings", "acknowledged_warnings must be a list of at most 50 warning codes, as the warnings of a previous answer give them.")
		return nil, false
	}
	return codes, true
}

// apiFingerprint reads the optional fingerprint: a policy.Fingerprint, 64
// lower-case hex digits.
func apiFingerprint(c echo.Context, top map[string]json.RawMessage) (string, bool) {
	fp, ok := apiString(c, top, "fingerprint")
	if !ok {
		return "", false
	}
	if fp != "" && !fingerprintPattern.MatchString(fp) {
		_ = apiInvalidRequest(c, http.StatusBadRequest, "fingerprint", "fingerprint must be the 64 hex digits GET /api/v1/endpoints/{id} returned.")
		return "", false
	}
	return fp, true
}

var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// idempotencyKey scopes a client's Idempotency-Key to the API and to the
// account (validateInput has checked its form).
func idempotencyKey(c echo.Context) string {
	return scopedKey(c, "api", c.Request().Header.Get("Idempotency-Key"))
}

func apiInvalid(c echo.Context, code string, errs policy.FieldErrors) error {
	return apiFail(c, http.StatusBadRequest, apiErrorBody{Error: apiError{Code: code, Message: errs[0].Message, Field: errs[0].Field}, Errors: errs})
}

// apiListAudit is GET /api/v1/audit.
func (s *Server) apiListAudit(c echo.Context) error {
	_, f, err := s.parseAuditFilter(c)
	if err != nil {
		return err // the error handler answers the API in JSON
	}
	limit, ok := apiLimit(c, 100, 1000)
	if !ok {
		return nil
	}
	page, err := s.Audit.List(c.Request().Context(), f, c.QueryParam("cursor"), limit)
	if err != nil {
		return err // a bad cursor is answered by the error table
	}
	if page.Entries == nil {
		page.Entries = []*audit.Entry{}
	}
	return c.JSON(http.StatusOK, apiAuditList{Entries: page.Entries, NextCursor: page.NextCursor})
}

// apiGetAudit is GET /api/v1/audit/{id}.
func (s *Server) apiGetAudit(c echo.Context) error {
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// apiRollback is POST /api/v1/audit/{id}/rollback with {"reason": "...",
// "restores": "before"|"after"|"known", "fingerprint": "..."}; "known"
// reverts a drift entry to the last version the console established. Without a
// fingerprint, undoing an entry requires the live policy to still be what
// that entry left (409 otherwise); see change.Rollback.
func (s *Server) apiRollback(c echo.Context) error {
	data, ok := apiReadJSON(c, 16<<10, "The body is over 16 KiB.")
	if !ok {
		return nil
	}
	top, ok := apiObject(c, data, `The body must be {"reason": "...", "restores": "before"|"after"|"known", "fingerprint": "..."}.`,
		"reason", "restores", "fingerprint", "acknowledged_warnings")
	if !ok {
		return nil
	}
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	var body struct{ Reason, Restores, Fingerprint string }
	if body.Reason, ok = apiString(c, top, "reason"); !ok {
		return nil
	}
	if body.Restores, ok = apiString(c, top, "restores"); !ok {
		return nil
	}
	if body.Fingerprint, ok = apiFingerprint(c, top); !ok {
		return nil
	}
	acknowledged, ok := apiAcknowledged(c, top)
	if !ok {
		return nil
	}
	restores, err := change.ParseRestores(body.Restores)
	if err != nil {
		return apiInvalidRequest(c, http.StatusBadRequest, "restores", `restores must be "before", "after" or (to revert a drift entry to the known version) "known".`)
	}
	p, err := s.entryProject(c, e, editor)
	if err != nil {
		return err
	}
	var plan *change.Rollback
	if restores == audit.RestoresKnown && p.Drift != nil {
		// Reverting a change made outside the console: the version the
		// console knew, which the drift detector derives from the log.
		plan, err = p.Drift.PlanRevert(c.Request().Context(), e.ID)
	} else {
		plan, err = change.PlanRollback(e, restores)
	}
	if err != nil {
		return err
	}
	warnings := policy.Lint(plan.Target)
	req := plan.Request(actor(c), strings.TrimSpace(body.Reason), body.Fingerprint, idempotencyKey(c))
	req.Acknowledged = acknowledged
	res, err := p.Applier.Apply(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return apiChangeAnswer(c, res, warnings)
}

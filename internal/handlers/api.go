package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
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
	if err != nil || n < 1 || n > most {
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
	ctx := c.Request().Context()
	// The state is read before the list: should a refresh land in between,
	// the list is newer than the state says, never older.
	st, err := s.Refresher.Status(ctx, s.Now())
	if err != nil {
		return err
	}
	if err := st.Err(); err != nil {
		return err
	}
	eps, next, err := s.Store.ListInventoryAfter(ctx,
		store.InventoryFilter{Type: f.Type, Status: f.Status, VpcID: f.VpcID, Search: f.Search}, c.QueryParam("cursor"), limit)
	if err != nil {
		return err // a bad cursor is answered by the error table
	}
	if eps == nil {
		eps = []vpcep.Endpoint{}
	}
	return c.JSON(http.StatusOK, apiEndpointList{Endpoints: eps, NextCursor: next, Inventory: newAPIInventory(st)})
}

// apiGetEndpoint is GET /api/v1/endpoints/{id}: the endpoint as the upstream
// returned it, plus the fingerprint of its policy for a later PUT.
func (s *Server) apiGetEndpoint(c echo.Context) error {
	id := c.Param("id")
	if len(id) > 64 {
		return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "not_found", Message: "No endpoint has this id."}})
	}
	ctx, rec := vpcep.WithRecorder(c.Request().Context())
	ep, err := s.Upstream.GetEndpoint(ctx, id)
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
	return c.JSON(http.StatusOK, body)
}

// apiPutBody is PUT /api/v1/endpoints/{id}/policy's body.
type apiPutBody struct {
	PolicyStatement json.RawMessage `json:"policy_statement"`
	Reason          string          `json:"reason"`
	Fingerprint     string          `json:"fingerprint"`
}

// apiUpdatePolicy is PUT /api/v1/endpoints/{id}/policy. Lint warnings are
// returned, never blocking; Idempotency-Key makes a retry safe.
func (s *Server) apiUpdatePolicy(c echo.Context) error {
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, policy.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	if len(data) > policy.MaxBodyBytes {
		return apiInvalidRequest(c, http.StatusRequestEntityTooLarge, "body", "The body is over 64 KiB.")
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil || top == nil {
		return apiInvalidRequest(c, http.StatusBadRequest, "body", `The body must be a JSON object: {"policy_statement": [...], "reason": "..."}.`)
	}
	for k := range top {
		if k != "policy_statement" && k != "reason" && k != "fingerprint" {
			return apiInvalidRequest(c, http.StatusBadRequest, k, fmt.Sprintf("Unknown key %q: allowed are policy_statement, reason and fingerprint.", k))
		}
	}
	var body apiPutBody
	if err := json.Unmarshal(data, &body); err != nil {
		return apiInvalidRequest(c, http.StatusBadRequest, "body", "reason and fingerprint must be strings.")
	}
	if _, ok := top["policy_statement"]; !ok {
		return apiFail(c, http.StatusBadRequest, apiErrorBody{Error: apiError{Code: "invalid_policy", Field: "policy_statement", Message: "policy_statement is required."}})
	}
	p, errs := policy.ParseStatements(body.PolicyStatement)
	if len(errs) > 0 {
		return apiInvalid(c, "invalid_policy", errs)
	}
	if errs := policy.ValidateReason(body.Reason); len(errs) > 0 {
		return apiInvalid(c, "invalid_request", errs)
	}
	res, err := s.Applier.Apply(c.Request().Context(), change.Request{
		Actor: actor(c), EndpointID: c.Param("id"), Policy: p, Reason: strings.TrimSpace(body.Reason),
		Fingerprint: body.Fingerprint, SubmissionKey: idempotencyKey(c), Action: audit.ActionUpdate,
	})
	if err != nil {
		return err
	}
	return apiChangeAnswer(c, res, policy.Lint(p))
}

// idempotencyKey scopes a client's Idempotency-Key to the API.
func idempotencyKey(c echo.Context) string {
	if k := c.Request().Header.Get("Idempotency-Key"); k != "" {
		return "api:" + k
	}
	return ""
}

func apiInvalid(c echo.Context, code string, errs policy.FieldErrors) error {
	return apiFail(c, http.StatusBadRequest, apiErrorBody{Error: apiError{Code: code, Message: errs[0].Message, Field: errs[0].Field}, Errors: errs})
}

// apiListAudit is GET /api/v1/audit.
func (s *Server) apiListAudit(c echo.Context) error {
	_, f, err := parseAuditFilter(c)
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
// "restores": "before"|"after", "fingerprint": "..."}. Without a
// fingerprint, undoing an entry requires the live policy to still be what
// that entry left (409 otherwise); see change.Rollback.
func (s *Server) apiRollback(c echo.Context) error {
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	var body struct {
		Reason      string `json:"reason"`
		Restores    string `json:"restores"`
		Fingerprint string `json:"fingerprint"`
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && err != io.EOF {
		return apiInvalidRequest(c, http.StatusBadRequest, "body", `The body must be {"reason": "...", "restores": "before"|"after", "fingerprint": "..."}: `+err.Error())
	}
	restores, err := change.ParseRestores(body.Restores)
	if err != nil {
		return apiInvalidRequest(c, http.StatusBadRequest, "restores", `restores must be "before" or "after".`)
	}
	plan, err := change.PlanRollback(e, restores)
	if err != nil {
		return err
	}
	res, err := s.Applier.Apply(c.Request().Context(),
		plan.Request(actor(c), strings.TrimSpace(body.Reason), body.Fingerprint, idempotencyKey(c)))
	if err != nil {
		return err
	}
	return apiChangeAnswer(c, res, policy.Lint(plan.Target))
}

package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The JSON API under /api/v1 follows the same rules as the pages. Errors are
// {"error": {"code": ..., "message": ..., ...}}.

// apiError is the error body of every JSON API failure.
type apiError struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Field        string `json:"field,omitempty"`
	Status       int    `json:"status,omitempty"`        // upstream HTTP status
	UpstreamCode string `json:"upstream_code,omitempty"` // upstream error code
	RequestID    string `json:"request_id,omitempty"`    // upstream request id
}

func apiFail(c echo.Context, status int, e apiError, extra map[string]any) error {
	body := map[string]any{"error": e}
	for k, v := range extra {
		body[k] = v
	}
	return c.JSON(status, body)
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
		_ = apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "limit", Message: fmt.Sprintf("limit must be a whole number from 1 to %d.", most)}, nil)
		return 0, false
	}
	return n, true
}

// apiListEndpoints is GET /api/v1/endpoints: the inventory, keyset-paged.
func (s *Server) apiListEndpoints(c echo.Context) error {
	f, err := parseFilter(c)
	if err != nil {
		return err // the error handler answers the API in JSON
	}
	limit, ok := apiLimit(c, 100, 1000)
	if !ok {
		return nil
	}
	eps, next, err := s.Store.ListInventoryAfter(c.Request().Context(),
		store.InventoryFilter{Type: f.Type, Status: f.Status, VpcID: f.VpcID, Search: f.Search}, c.QueryParam("cursor"), limit)
	if errors.Is(err, store.ErrBadCursor) {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "cursor", Message: "cursor is not one this API returned."}, nil)
	}
	if err != nil {
		return err
	}
	if eps == nil {
		eps = []vpcep.Endpoint{}
	}
	return c.JSON(http.StatusOK, map[string]any{"endpoints": eps, "next_cursor": next})
}

// apiGetEndpoint is GET /api/v1/endpoints/{id}: the endpoint as the upstream
// returned it, plus the fingerprint of its policy for a later PUT.
func (s *Server) apiGetEndpoint(c echo.Context) error {
	id := c.Param("id")
	if len(id) > 64 {
		return apiFail(c, http.StatusNotFound, apiError{Code: "not_found", Message: "No endpoint has this id."}, nil)
	}
	ctx, rec := vpcep.WithRecorder(c.Request().Context())
	ep, err := s.Upstream.GetEndpoint(ctx, id)
	if err != nil {
		return err
	}
	body := map[string]json.RawMessage{}
	if xs := rec.Exchanges(); len(xs) > 0 {
		_ = json.Unmarshal(xs[len(xs)-1].ResponseBody, &body)
	}
	if len(body) == 0 {
		raw, _ := json.Marshal(ep)
		_ = json.Unmarshal(raw, &body)
	}
	fp, _ := json.Marshal(policy.Fingerprint(ep.PolicyStatement))
	body["fingerprint"] = fp
	editable, _ := change.Editable(ep)
	body["editable"], _ = json.Marshal(editable)
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
		return apiFail(c, http.StatusRequestEntityTooLarge, apiError{Code: "invalid_request", Field: "body", Message: "The body is over 64 KiB."}, nil)
	}
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil || top == nil {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "body", Message: "The body must be a JSON object: {\"policy_statement\": [...], \"reason\": \"...\"}."}, nil)
	}
	for k := range top {
		if k != "policy_statement" && k != "reason" && k != "fingerprint" {
			return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: k, Message: fmt.Sprintf("Unknown key %q: allowed are policy_statement, reason and fingerprint.", k)}, nil)
		}
	}
	var body apiPutBody
	if err := json.Unmarshal(data, &body); err != nil {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "body", Message: "reason and fingerprint must be strings."}, nil)
	}
	if _, ok := top["policy_statement"]; !ok {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_policy", Field: "policy_statement", Message: "policy_statement is required."}, nil)
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
	return s.apiChangeOutcome(c, res, err, policy.Lint(p))
}

// idempotencyKey scopes a client's Idempotency-Key to the API.
func idempotencyKey(c echo.Context) string {
	if k := c.Request().Header.Get("Idempotency-Key"); k != "" {
		return "api:" + k
	}
	return ""
}

func apiInvalid(c echo.Context, code string, errs policy.FieldErrors) error {
	return apiFail(c, http.StatusBadRequest, apiError{Code: code, Message: errs[0].Message, Field: errs[0].Field},
		map[string]any{"errors": errs})
}

// apiChangeOutcome answers a change made through the API.
func (s *Server) apiChangeOutcome(c echo.Context, res *change.Result, err error, warnings []policy.Warning) error {
	if warnings == nil {
		warnings = []policy.Warning{}
	}
	var (
		dup       *audit.ErrDuplicateSubmission
		conflict  *change.ConflictError
		noChange  *change.NoChangeError
		invalid   *change.InvalidError
		notEdit   *change.NotEditableError
		recordErr *change.RecordError
		unsettled *change.UnsettledError
		upstream  *vpcep.Error
	)
	switch {
	case err == nil:
		s.updateInventory(c, res.Endpoint)
		return c.JSON(http.StatusOK, map[string]any{"entry": res.Entry, "endpoint": res.Endpoint, "warnings": warnings})
	case errors.As(err, &dup):
		entry, getErr := s.Audit.Get(c.Request().Context(), dup.Existing)
		if getErr != nil {
			return getErr
		}
		return apiFail(c, http.StatusConflict, apiError{Code: "duplicate_submission", Message: fmt.Sprintf("This Idempotency-Key was already used, by entry #%d.", dup.Existing)},
			map[string]any{"entry": entry})
	case errors.As(err, &conflict):
		return apiFail(c, http.StatusConflict, apiError{Code: "conflict", Message: "The live policy is not the one the fingerprint names: someone changed it. Nothing was sent."},
			map[string]any{"live": conflict.Live, "fingerprint": policy.Fingerprint(conflict.Live.PolicyStatement), "entry": conflict.Entry})
	case errors.As(err, &noChange):
		return c.JSON(http.StatusOK, map[string]any{"entry": noChange.Entry, "endpoint": noChange.Live, "warnings": warnings,
			"unchanged": true, "message": "The live policy already is the requested one; nothing was sent."})
	case errors.As(err, &invalid):
		return apiInvalid(c, "invalid_policy", invalid.Errors)
	case errors.As(err, &notEdit):
		return apiFail(c, http.StatusBadRequest, apiError{Code: "not_editable", Message: notEdit.Reason}, nil)
	case errors.Is(err, change.ErrBusy):
		return apiFail(c, http.StatusConflict, apiError{Code: "busy", Message: "Another change to this endpoint is in progress; retry shortly. Nothing was sent."}, nil)
	case errors.As(err, &recordErr):
		s.Logger.Error("audit log unavailable; change not sent", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
		return apiFail(c, http.StatusServiceUnavailable, apiError{Code: "audit_unavailable", Message: "The audit log could not record the change, so nothing was sent."}, nil)
	case errors.As(err, &unsettled):
		return apiFail(c, http.StatusAccepted, apiError{Code: "unsettled", Message: "The change was sent but its outcome is not known yet; the entry stays pending until the live policy settles it."},
			map[string]any{"entry": unsettled.Entry})
	case res != nil && res.Entry != nil && errors.As(err, &upstream):
		return apiFail(c, http.StatusBadGateway, apiError{Code: "upstream", Message: upstream.Message, Status: upstream.Status,
			UpstreamCode: upstream.Code, RequestID: upstream.RequestID}, map[string]any{"entry": res.Entry})
	default:
		return err
	}
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
	if errors.Is(err, audit.ErrBadCursor) {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "cursor", Message: "cursor is not one this API returned."}, nil)
	}
	if err != nil {
		return err
	}
	if page.Entries == nil {
		page.Entries = []*audit.Entry{}
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": page.Entries, "next_cursor": page.NextCursor})
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
// "restores": "before"|"after"}. Rolling back to before an entry requires the
// live policy to still be what that entry left (409 otherwise).
func (s *Server) apiRollback(c echo.Context) error {
	e, err := s.getEntry(c)
	if err != nil {
		return err
	}
	var body struct {
		Reason   string `json:"reason"`
		Restores string `json:"restores"`
	}
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && err != io.EOF {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "body", Message: `The body must be {"reason": "...", "restores": "before"|"after"}: ` + err.Error()}, nil)
	}
	restores, err := restoresParam(body.Restores)
	if err != nil {
		return apiFail(c, http.StatusBadRequest, apiError{Code: "invalid_request", Field: "restores", Message: `restores must be "before" or "after".`}, nil)
	}
	target, err := rollbackTarget(e, restores)
	if err != nil {
		return err
	}
	if body.Reason == "" {
		body.Reason = fmt.Sprintf("Rollback of #%d", e.ID)
	}
	fingerprint := ""
	if restores == audit.RestoresBefore {
		if left, err := policy.FromJSON(e.PolicyRequested); err == nil {
			fingerprint = policy.Fingerprint(left)
		}
	}
	res, err := s.Applier.Apply(c.Request().Context(), change.Request{
		Actor: actor(c), EndpointID: e.EndpointID, Policy: target, Reason: strings.TrimSpace(body.Reason),
		Fingerprint: fingerprint, SubmissionKey: idempotencyKey(c),
		Action: audit.ActionRollback, RollbackOf: &e.ID, Restores: restores,
	})
	return s.apiChangeOutcome(c, res, err, policy.Lint(target))
}

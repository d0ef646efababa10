package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/store"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// statusClientClosedRequest answers a request whose client went away.
const statusClientClosedRequest = 499

// badRequest is a client error whose message is shown as is.
func badRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }

// problem is how the console answers one kind of failure: the same status,
// words and code on a page and in the JSON API.
type problem struct {
	status   int
	code     string // the API's error code
	heading  string
	message  string
	field    string             // the input at fault, for the API
	fields   policy.FieldErrors // every input at fault, for the API
	upstream *vpcep.Error
	internal bool // the detail is logged, never shown
	// retryAfter, when set, is sent as Retry-After: the failure is
	// expected to pass.
	retryAfter time.Duration
}

// problemFor is the one table from errors to answers. Handlers return
// errors; this decides the status and the words for pages and the API.
func problemFor(err error) problem {
	var (
		upstreamErr   *vpcep.Error
		httpErr       *echo.HTTPError
		invalid       *change.InvalidError
		notEditable   *change.NotEditableError
		notRestorable *change.NotRestorableError
		pending       *change.PendingError
		notLoaded     *inventory.NotLoadedError
		signInLimit   *auth.ThrottledError
		refreshLimit  *inventory.ThrottledError
		driftInvalid  *drift.InvalidError
		driftNotOpen  *drift.NotOpenError
		driftMoved    *drift.MovedError
		forbidden     *forbiddenError
	)
	switch {
	case errors.As(err, &forbidden):
		return problem{status: http.StatusForbidden, code: "forbidden", heading: http.StatusText(http.StatusForbidden), message: forbidden.message}
	case errors.As(err, &driftInvalid):
		return problem{status: http.StatusBadRequest, code: "invalid_request", heading: "The request is not valid",
			message: driftInvalid.Message, field: driftInvalid.Field}
	case errors.Is(err, drift.ErrNotDrift):
		return problem{status: http.StatusBadRequest, code: "not_drift", heading: "Not a change made outside the console",
			message: "Only an entry of a change made outside the console (a drift entry) can be adopted or reverted."}
	case errors.As(err, &driftNotOpen):
		return problem{status: http.StatusConflict, code: "drift_not_open", heading: "This drift is no longer open",
			message: "This change made outside the console was already adopted or reverted, or a later change superseded it: look at the endpoint again."}
	case errors.As(err, &driftMoved):
		msg := "The live policy changed again since this drift was recorded, so it was not adopted: look at it again."
		if driftMoved.Drift != nil {
			msg = fmt.Sprintf("The live policy changed again since this drift was recorded, so it was not adopted; the new change is entry #%d: look at it first.", driftMoved.Drift.ID)
		}
		return problem{status: http.StatusConflict, code: "drift_moved", heading: "The policy changed again", message: msg}
	case errors.Is(err, drift.ErrBusy):
		return problem{status: http.StatusConflict, code: "busy", heading: "Another change is in progress",
			message: "A change to this endpoint is in progress. Wait a moment and try again: nothing was recorded."}
	case errors.As(err, &invalid) && len(invalid.Errors) > 0:
		return problem{status: http.StatusBadRequest, code: "invalid_policy", heading: "The change is not valid",
			message: invalid.Errors[0].Message, field: invalid.Errors[0].Field, fields: invalid.Errors}
	case errors.As(err, &notEditable):
		return problem{status: http.StatusBadRequest, code: "not_editable", heading: "Policy not editable",
			message: "This endpoint's policy cannot be edited. " + notEditable.Reason}
	case errors.As(err, &notRestorable):
		return problem{status: http.StatusBadRequest, code: "not_restorable", heading: "Cannot roll back",
			message: notRestorable.Reason}
	case errors.As(err, &pending):
		return problem{status: http.StatusConflict, code: "pending_change", heading: "An earlier change is not settled yet",
			message: fmt.Sprintf("Change #%d to this endpoint (by %s, started %s) has not been settled yet, so nothing was sent. Try again in a minute, once it is settled; its audit entry says how it ended.",
				pending.Entry.ID, pending.Entry.Actor, pending.Entry.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))}
	case errors.Is(err, change.ErrShuttingDown):
		return problem{status: http.StatusServiceUnavailable, code: "shutting_down", heading: "The console is restarting",
			message:    "This console is shutting down and takes no new change; nothing was sent. Submit again in a moment.",
			retryAfter: 5 * time.Second}
	case errors.Is(err, change.ErrBusy):
		return problem{status: http.StatusConflict, code: "busy", heading: "Another change is in progress",
			message: "Another change to this endpoint is in progress. Wait a moment and submit again: nothing was sent."}
	case errors.Is(err, change.ErrAuditUnavailable):
		return problem{status: http.StatusServiceUnavailable, code: "audit_unavailable", heading: "The audit log is unavailable",
			message:  "The audit log could not record the change, so nothing was sent to the upstream. Try again when the database is back.",
			internal: true, retryAfter: databaseRetryAfter}
	case errors.Is(err, errAuditUnreadable):
		return problem{status: http.StatusServiceUnavailable, code: "audit_unavailable", heading: "The audit log is unavailable",
			message:  "The audit log could not be read, so nothing was exported. Try again when the database is back.",
			internal: true, retryAfter: databaseRetryAfter}
	case errors.As(err, &notLoaded):
		return inventoryNotLoaded(notLoaded)
	case errors.As(err, &signInLimit) && signInLimit.Token:
		return tooManyRequests(signInLimit.Wait,
			"Too many requests with an unknown, revoked or expired API token came from this address. Try again in %d seconds.")
	case errors.As(err, &signInLimit):
		return tooManyRequests(signInLimit.Wait,
			"Too many failed sign-ins for this account or from this address. Try again in %d seconds.")
	case errors.As(err, &refreshLimit):
		return tooManyRequests(refreshLimit.RetryAfter,
			"You refreshed the list moments ago, and every refresh reads the whole project from the VPCEP API: try again in %d s. The list shown is at most that old.")
	case errors.Is(err, auth.ErrBusy):
		return problem{status: http.StatusTooManyRequests, code: "too_many_requests", heading: "Too many requests",
			message:    "The console is busy checking other sign-ins and passwords. Try again in a few seconds.",
			retryAfter: passwordBusyRetryAfter}
	case errors.Is(err, audit.ErrNotFound):
		return problem{status: http.StatusNotFound, code: "not_found", heading: "Audit entry not found",
			message: "There is no audit entry with this number."}
	case errors.Is(err, audit.ErrBadCursor), errors.Is(err, store.ErrBadCursor):
		return problem{status: http.StatusBadRequest, code: "invalid_request", heading: "Bad Request", field: "cursor",
			message: "The page cursor is not one the console made: start again from the first page."}
	case errors.As(err, &upstreamErr):
		p := describeUpstream(upstreamErr)
		p.upstream = upstreamErr
		return p
	case errors.As(err, &httpErr):
		p := problem{status: httpErr.Code, code: apiCode(httpErr.Code), heading: http.StatusText(httpErr.Code)}
		p.message, _ = httpErr.Message.(string)
		if httpErr.Code == http.StatusNotFound {
			p.heading = "Page not found"
			if p.message == "" || p.message == http.StatusText(http.StatusNotFound) {
				p.message = "There is no page at this address."
			}
		}
		if p.message == "" || p.message == http.StatusText(httpErr.Code) {
			p.message = "The request could not be served."
		}
		return p
	case store.Unavailable(err):
		return problem{status: http.StatusServiceUnavailable, code: "database_unavailable", heading: "The console's database is unavailable",
			message:  "The console could not reach its database, so it did not carry out this request. Try again in a minute; if this lasts, the database server or the network to it needs attention.",
			internal: true, retryAfter: databaseRetryAfter}
	default:
		return problem{status: http.StatusInternalServerError, code: "internal", heading: "Something went wrong",
			message: "The console hit an internal error. It has been logged with the request id below.", internal: true}
	}
}

// passwordBusyRetryAfter is the Retry-After of auth.ErrBusy: about as long
// as a password check waits for a free slot.
const passwordBusyRetryAfter = 2 * time.Second

// tooManyRequests is a 429 that passes after wait; format takes the wait
// in whole seconds, as Retry-After says it.
func tooManyRequests(wait time.Duration, format string) problem {
	return problem{status: http.StatusTooManyRequests, code: "too_many_requests", heading: "Too many requests",
		message: fmt.Sprintf(format, wholeSeconds(wait)), retryAfter: wait}
}

// handleError turns every error a handler returns into a page, or into
// JSON for the API, through problemFor.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	requestID := c.Response().Header().Get(echo.HeaderXRequestID)
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client went away (a closed tab, an aborted sign-in): nobody
		// reads the answer and nothing failed here, so no 5xx and no alarm.
		// 499 is nginx's "client closed request", for the log and metrics.
		s.Logger.Info("client closed the request", "request_id", requestID, "path", c.Request().URL.Path)
		_ = c.NoContent(statusClientClosedRequest)
		return
	}
	p := problemFor(err)
	p.setRetryAfter(c)
	switch {
	case p.upstream != nil:
		s.Logger.Warn("upstream error", "request_id", requestID, "error", err)
	case p.internal:
		s.Logger.Error("internal error", "request_id", requestID, "path", c.Request().URL.Path, "error", err)
	}
	if isAPI(c) {
		_ = apiFail(c, p.status, apiErrorBody{Error: p.apiError(), Errors: p.fields})
		return
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		// htmx swaps error answers too (see the layout's htmx-config): put
		// the error page in place of the whole body, not inside a fragment.
		c.Response().Header().Set("HX-Retarget", "body")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.status)
		return
	}
	page := views.ErrorPage{Base: s.base(c, p.heading), Status: p.status, Heading: p.heading, Message: p.message}
	if ue := p.upstream; ue != nil {
		page.Upstream = &views.UpstreamError{Op: ue.Op, Status: ue.Status, Code: ue.Code, Message: ue.Message, RequestID: ue.RequestID}
	}
	if err := render(c, p.status, views.ErrorView(page)); err != nil {
		s.Logger.Error("render error page", slog.String("request_id", requestID), slog.Any("error", err))
		_ = c.String(http.StatusInternalServerError, "internal error")
	}
}

// setRetryAfter sends Retry-After when the problem is expected to pass.
func (p problem) setRetryAfter(c echo.Context) {
	if p.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(wholeSeconds(p.retryAfter)))
	}
}

// wholeSeconds is a wait as Retry-After's whole seconds, rounded up: asking
// again sooner would be refused again.
func wholeSeconds(wait time.Duration) int { return int((wait + time.Second - 1) / time.Second) }

// apiError is the problem as the API's error object.
func (p problem) apiError() apiError {
	e := apiError{Code: p.code, Message: p.heading + ". " + p.message, Field: p.field}
	if ue := p.upstream; ue != nil {
		e.Status, e.UpstreamCode, e.RequestID = ue.Status, ue.Code, ue.RequestID
	}
	return e
}

func apiCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusBadRequest:
		return "invalid_request"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusBadGateway:
		return "upstream"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}

// describeUpstream says in plain words what an upstream failure means, and
// which status the console answers with.
func describeUpstream(e *vpcep.Error) problem {
	p := problem{status: http.StatusBadGateway, code: "upstream"}
	switch {
	case errors.Is(e, vpcep.ErrNotFound):
		p.status, p.code, p.heading, p.message = http.StatusNotFound, "not_found", "Endpoint not found",
			"The VPCEP API has no endpoint with this id in the project. It may have been deleted."
	case e.Status == 0:
		p.heading, p.message = "The VPCEP API could not be reached", e.Message+"."
	case e.Status == http.StatusUnauthorized:
		p.heading, p.message = "The VPCEP API rejected the console's credentials",
			"Check the AK/SK (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK) or the token (VPCEP_AUTH_TOKEN) and the server's clock."
	case e.Status == http.StatusForbidden:
		p.heading, p.message = "The VPCEP API refused access",
			"The console's credentials are valid but lack permission for this call."
	case e.Status >= 500:
		p.heading, p.message = "The VPCEP API failed",
			"The upstream had an internal error. Trying again later may work."
	case e.Status < 400:
		p.heading, p.message = "The VPCEP API's answer could not be read", "The upstream answered with something the console does not understand."
	default:
		p.heading, p.message = "The VPCEP API refused the request", "The upstream did not accept the request."
	}
	return p
}

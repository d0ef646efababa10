package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// badRequest is a client error whose message is shown as is.
func badRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }

// handleError turns every error a handler returns into a page: upstream
// failures with their status, code, message and request id; not-found; bad
// input; and anything else as a plain 500 whose detail goes only to the log.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := views.ErrorPage{Base: s.base(c, "Error")}
	var upstreamErr *vpcep.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &upstreamErr):
		p.Upstream = &views.UpstreamError{
			Op: upstreamErr.Op, Status: upstreamErr.Status, Code: upstreamErr.Code,
			Message: upstreamErr.Message, RequestID: upstreamErr.RequestID,
		}
		p.Status, p.Heading, p.Message = describeUpstream(upstreamErr)
		s.Logger.Warn("upstream error", "request_id", p.RequestID, "error", err)
	case errors.As(err, &httpErr):
		p.Status = httpErr.Code
		p.Heading = http.StatusText(httpErr.Code)
		p.Message, _ = httpErr.Message.(string)
		if httpErr.Code == http.StatusNotFound {
			p.Heading, p.Message = "Page not found", "There is no page at this address."
		}
		if p.Message == "" || p.Message == http.StatusText(httpErr.Code) {
			p.Message = "The request could not be served."
		}
	default:
		p.Status = http.StatusInternalServerError
		p.Heading = "Something went wrong"
		p.Message = "The console hit an internal error. It has been logged with the request id below."
		s.Logger.Error("internal error", "request_id", p.RequestID, "path", c.Request().URL.Path, "error", err)
	}
	p.Title = p.Heading

	if isAPI(c) {
		s.apiErrorPage(c, p)
		return
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		// htmx swaps error answers too (see the layout's htmx-config): put
		// the error page in place of the whole body, not inside a fragment.
		c.Response().Header().Set("HX-Retarget", "body")
		c.Response().Header().Set("HX-Reswap", "innerHTML")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	if err := render(c, p.Status, views.ErrorView(p)); err != nil {
		s.Logger.Error("render error page", slog.String("request_id", p.RequestID), slog.Any("error", err))
		_ = c.String(http.StatusInternalServerError, "internal error")
	}
}

// apiErrorPage answers a failed API call in JSON, with the same words as the page.
func (s *Server) apiErrorPage(c echo.Context, p views.ErrorPage) {
	e := apiError{Code: apiCode(p.Status), Message: p.Heading + ". " + p.Message}
	if p.Upstream != nil {
		e.Code, e.Status, e.UpstreamCode, e.RequestID = "upstream", p.Upstream.Status, p.Upstream.Code, p.Upstream.RequestID
		if p.Status == http.StatusNotFound {
			e.Code = "not_found"
		}
	}
	_ = apiFail(c, p.Status, e, nil)
}

func apiCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
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
func describeUpstream(e *vpcep.Error) (status int, heading, message string) {
	switch {
	case errors.Is(e, vpcep.ErrNotFound):
		return http.StatusNotFound, "Endpoint not found",
			"The VPCEP API has no endpoint with this id in the project. It may have been deleted."
	case e.Status == 0:
		return http.StatusBadGateway, "The VPCEP API could not be reached", e.Message + "."
	case e.Status == http.StatusUnauthorized:
		return http.StatusBadGateway, "The VPCEP API rejected the console's credentials",
			"Check the AK/SK (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK) or the token (VPCEP_AUTH_TOKEN) and the server's clock."
	case e.Status == http.StatusForbidden:
		return http.StatusBadGateway, "The VPCEP API refused access",
			"The console's credentials are valid but lack permission for this call."
	case e.Status >= 500:
		return http.StatusBadGateway, "The VPCEP API failed",
			"The upstream had an internal error. Trying again later may work."
	case e.Status < 400:
		return http.StatusBadGateway, "The VPCEP API's answer could not be read", "The upstream answered with something the console does not understand."
	default:
		return http.StatusBadGateway, "The VPCEP API refused the request", "The upstream did not accept the request."
	}
}

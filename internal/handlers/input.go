package handlers

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/vpcep-console/vpcep-console/internal/views"
)

// Input hygiene: what a request may carry before any handler, database
// query or upstream call sees it. Text that Postgres cannot store (NUL,
// invalid UTF-8) or that no field of ours needs (control characters) is
// refused here, once for every route, with 400 naming the parameter, so it
// can never surface later as a 500 or as an outage of the audit log.

// maxQueryValue bounds one query or path value: ours are at most a few
// hundred bytes (cursors included).
const maxQueryValue = 1024

// maxIdempotencyKey bounds an Idempotency-Key or a form's submission key.
const maxIdempotencyKey = 255

// badText says what is wrong with v as the text of a parameter, or "".
// Multi-line form fields (textareas) may hold line breaks and tabs.
func badText(v string, multiline bool) string {
	if !utf8.ValidString(v) {
		return "is not valid UTF-8 text"
	}
	for _, r := range v {
		switch {
		case r == 0:
			return "contains a NUL character"
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character U+%04X", r)
		}
	}
	return ""
}

// validateInput refuses a request whose query, path or form values are not
// clean text, or whose Idempotency-Key is malformed, before any handler runs.
func (s *Server) validateInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for name, values := range c.QueryParams() {
			if m := badText(name, false); m != "" {
				return invalidInput(c, "query", "A query parameter's name "+m+".")
			}
			for _, v := range values {
				if m := badText(v, false); m != "" {
					return invalidInput(c, name, fmt.Sprintf("The %q parameter %s.", name, m))
				}
				if len(v) > maxQueryValue {
					return invalidInput(c, name, fmt.Sprintf("The %q parameter is longer than %d bytes.", name, maxQueryValue))
				}
			}
		}
		for i, name := range c.ParamNames() {
			if i >= len(c.ParamValues()) {
				break
			}
			v := c.ParamValues()[i]
			if m := badText(v, false); m != "" {
				return invalidInput(c, name, fmt.Sprintf("The %s in the address %s.", name, m))
			}
		}
		if isForm(c.Request()) {
			values, err := c.FormParams()
			if err != nil {
				return invalidInput(c, "body", "The form could not be read.")
			}
			for name, vs := range values {
				if m := badText(name, false); m != "" {
					return invalidInput(c, "body", "A form field's name "+m+".")
				}
				for _, v := range vs {
					if m := badText(v, true); m != "" {
						return invalidInput(c, name, fmt.Sprintf("The %q field %s.", name, m))
					}
				}
			}
		}
		if _, ok := c.Request().Header["Idempotency-Key"]; ok {
			if m := badKey(c.Request().Header.Get("Idempotency-Key")); m != "" {
				return invalidInput(c, "Idempotency-Key", "The Idempotency-Key header "+m+".")
			}
		}
		return next(c)
	}
}

// invalidInput answers a request refused by validateInput: 400 naming the
// field in the API, the error page with msg elsewhere.
func invalidInput(c echo.Context, field, msg string) error {
	if isAPI(c) {
		return apiInvalidRequest(c, http.StatusBadRequest, field, msg)
	}
	return badRequest(msg)
}

// endpointID refuses, with 404, a request on one endpoint (a route with
// :id, below /endpoints or /api/v1/endpoints) whose id cannot be a VPCEP
// id: nothing that is not one reaches the upstream, where "." or ".." would
// change the path the SDK requests.
func endpointID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if validEndpointID(c.Param("id")) {
			return next(c)
		}
		if isAPI(c) {
			return apiFail(c, http.StatusNotFound, apiErrorBody{Error: apiError{Code: "not_found", Field: "id",
				Message: "No endpoint has this id: VPCEP endpoint ids are UUIDs such as 6e1bd4f6-3c1a-4a5e-9b1e-0b8e2f1a0c01."}})
		}
		return echo.NewHTTPError(http.StatusNotFound)
	}
}

// isForm reports whether r carries a form body.
func isForm(r *http.Request) bool {
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return mt == echo.MIMEApplicationForm || mt == echo.MIMEMultipartForm
}

// badKey says what is wrong with an idempotency or submission key, or "".
func badKey(k string) string {
	if k == "" || len(k) > maxIdempotencyKey {
		return fmt.Sprintf("must be 1 to %d characters", maxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "must be printable ASCII"
		}
	}
	return ""
}

// scopedKey is a client's one-time key as the audit log keeps it: scoped to
// the kind of client (api, form) and to the account, so that one account's
// key never finds, or blocks, another's change.
func scopedKey(c echo.Context, kind, key string) string {
	if key == "" {
		return ""
	}
	id := int64(0)
	if a := account(c); a != nil {
		id = a.ID
	}
	// With several projects a key is the project's too: the same key sent
	// to two projects is two changes (the prefix is "" with one project,
	// so keys stored before projects keep their meaning).
	return kind + views.Prefix(c.Request().Context()) + ":" + strconv.FormatInt(id, 10) + ":" + key
}

// endpointIDPattern is the form of a VPCEP endpoint id: a UUID, in the
// lower case the API writes it in.
var endpointIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// validEndpointID reports whether id has the form of a VPCEP endpoint id.
func validEndpointID(id string) bool { return endpointIDPattern.MatchString(id) }

// maxPage bounds the endpoint list's page number: far beyond any real list
// (10,000 endpoints are 500 pages of 20), far below an offset overflow.
const maxPage = 100000

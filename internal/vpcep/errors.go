package vpcep

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotFound matches (with errors.Is) an upstream answer that the endpoint
// does not exist.
var ErrNotFound = errors.New("vpcep: endpoint not found")

// notFoundCodes are the codes VPCEP uses with HTTP 404 for a missing endpoint.
var notFoundCodes = map[string]bool{
	"EndPoint.0005": true,
	"EndPoint.2006": true,
	"EndPoint.2007": true,
	"EndPoint.2008": true,
}

// Error is every failure of an upstream call: an error answer (Status ≥ 400,
// with the upstream's code, message and request id) or a transport failure
// (Status 0, Err set).
type Error struct {
	Op        string // what the console was doing, e.g. "read endpoint"
	Status    int    // HTTP status; 0 when no answer arrived
	Code      string // upstream error code, e.g. EndPoint.0005, APIGW.0301
	Message   string // upstream error message, or a plain description
	RequestID string // X-Request-Id of the answer, when there was one
	Err       error  // underlying transport error, when there was no answer
	// Attempts is how many tries the call made; the other fields describe
	// the last one.
	Attempts int
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vpcep: %s", e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for the upstream's not-found answers.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == 404 && notFoundCodes[e.Code]
}

// timeout reports whether no answer arrived in time.
func (e *Error) timeout() bool {
	var uerr *url.Error
	return errors.As(e.Err, &uerr) && uerr.Timeout()
}

// transportMessage says in plain words why no answer arrived.
func transportMessage(err error) string {
	var uerr *url.Error
	switch {
	case errors.As(err, &uerr) && uerr.Timeout():
		return "the upstream did not answer in time"
	case errors.As(err, &uerr):
		return "could not reach the upstream: " + uerr.Err.Error()
	default:
		return err.Error()
	}
}

package vpcep

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Exchange is one HTTP request to the upstream and its answer, as sent and
// received, with credentials redacted. The audit log stores these.
type Exchange struct {
	Method          string
	URL             string
	RequestHeaders  http.Header
	RequestBody     []byte
	Status          int // 0 when no answer arrived
	ResponseHeaders http.Header
	ResponseBody    []byte
	Err             string // transport failure, when there was no answer
	StartedAt       time.Time
	Duration        time.Duration
}

// RequestID returns the upstream's X-Request-Id for this exchange.
func (x *Exchange) RequestID() string { return x.ResponseHeaders.Get("X-Request-Id") }

// Recorder collects the exchanges of the calls made with its context.
type Recorder struct {
	mu        sync.Mutex
	exchanges []Exchange
}

// Exchanges returns a copy of what was recorded so far, in order.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.exchanges...)
}

func (r *Recorder) add(x Exchange) {
	r.mu.Lock()
	r.exchanges = append(r.exchanges, x)
	r.mu.Unlock()
}

type recorderKey struct{}

// WithRecorder returns a context whose upstream calls are recorded into the
// returned Recorder.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	rec := &Recorder{}
	return context.WithValue(ctx, recorderKey{}, rec), rec
}

func recorderFrom(ctx context.Context) *Recorder {
	rec, _ := ctx.Value(recorderKey{}).(*Recorder)
	return rec
}

// secretHeaders never leave the process: they are redacted in every Exchange.
var secretHeaders = []string{"Authorization", "X-Auth-Token", "X-Security-Token"}

const redacted = "[REDACTED]"

func redactHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, name := range secretHeaders {
		if out.Get(name) != "" {
			out.Set(name, redacted)
		}
	}
	return out
}

// callTransport is the SDK's RoundTripper for one call: it binds the call's
// context to the request (the SDK has no context of its own) and records the
// exchange when the context carries a Recorder.
type callTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(t.ctx)
	rec := recorderFrom(t.ctx)
	if rec == nil {
		return t.base.RoundTrip(req)
	}

	x := Exchange{
		Method:         req.Method,
		URL:            req.URL.String(),
		RequestHeaders: redactHeaders(req.Header),
		StartedAt:      time.Now(),
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		x.RequestBody = body
		req.Body = io.NopCloser(bytes.NewReader(body))
	}

	resp, err := t.base.RoundTrip(req)
	if err != nil {
		x.Duration = time.Since(x.StartedAt)
		x.Err = err.Error()
		rec.add(x)
		return nil, err
	}
	body, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	x.Duration = time.Since(x.StartedAt)
	x.Status = resp.StatusCode
	x.ResponseHeaders = redactHeaders(resp.Header)
	x.ResponseBody = body
	if readErr != nil {
		x.Err = readErr.Error()
	}
	rec.add(x)
	if readErr != nil {
		// A RoundTripper returns an answer or an error, never both: the
		// exchange above keeps the status that did come back.
		return nil, readErr
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

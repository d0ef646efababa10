package vpcepsim

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The simulator also plays Huawei Cloud's Cloud Trace Service (CTS) for
// VPCEP: every policy change it applies, through the API or out of band,
// is recorded as a trace, and GET /v3/{project_id}/traces (the SDK's
// cts/v3 ListTraces) answers for them in CTS's wire shape.

// RouteListTraces is the CTS route, for FailRoute, HoldNext and the like.
const RouteListTraces = "ListTraces"

// DefaultCTSUser is the IAM user the simulator's credentials belong to:
// the name its traces carry for calls made through the API.
const DefaultCTSUser = "console-api"

// Trace names CTS gives VPCEP's policy operations (see internal/cts).
const (
	TraceModifyPolicy = "modifyEndpointPolicy"
	TraceDeletePolicy = "deleteEndpointPolicy"
)

// ctsDomain is the account every simulated user belongs to.
const ctsDomain = "vpcep-demo"

// Trace is an operation the simulated CTS recorded.
type Trace struct {
	TraceID      string
	TraceName    string // TraceModifyPolicy, TraceDeletePolicy
	TraceType    string // ApiCall, ConsoleAction, SystemAction
	ResourceID   string
	ResourceName string
	User         string
	SourceIP     string
	RequestID    string // the X-Request-Id the operation was answered with
	Request      string // the request body
	Response     string // the answer's body
	Code         int    // the answer's HTTP status
	Time         time.Time
}

// ctsLog is what the simulated CTS holds. It has its own lock: recording a
// trace never waits on the endpoints' lock.
type ctsLog struct {
	mu     sync.Mutex
	user   string
	lag    time.Duration
	traces []Trace // in the order recorded
}

// maxTraces bounds what the simulated CTS keeps (the demo runs it inside
// the console's process); past it, the oldest trace goes, so that a long
// demo still finds every recent change, as real CTS keeps days of them.
const maxTraces = 50000

// SetCTSUser sets the user the traces of API calls name (DefaultCTSUser when empty).
func (s *Server) SetCTSUser(name string) {
	s.cts.mu.Lock()
	s.cts.user = name
	s.cts.mu.Unlock()
}

// SetCTSLag hides traces younger than d from ListTraces, as real CTS shows
// an operation only minutes after it happened.
func (s *Server) SetCTSLag(d time.Duration) {
	s.cts.mu.Lock()
	s.cts.lag = d
	s.cts.mu.Unlock()
}

// Traces returns every trace recorded so far, lag or not, oldest first.
func (s *Server) Traces() []Trace {
	s.cts.mu.Lock()
	defer s.cts.mu.Unlock()
	return append([]Trace(nil), s.cts.traces...)
}

// AddTrace records t as CTS would, filling what is missing: an id, the
// time (now), the user (the API's), the type (ApiCall), the code (200).
func (s *Server) AddTrace(t Trace) Trace {
	if t.TraceID == "" {
		t.TraceID = newUUID()
	}
	if t.Time.IsZero() {
		t.Time = s.now()
	}
	if t.TraceType == "" {
		t.TraceType = "ApiCall"
	}
	if t.Code == 0 {
		t.Code = http.StatusOK
	}
	if t.ResourceName == "" {
		t.ResourceName = t.ResourceID
	}
	s.cts.mu.Lock()
	defer s.cts.mu.Unlock()
	if t.User == "" {
		t.User = s.cts.user
		if t.User == "" {
			t.User = DefaultCTSUser
		}
	}
	if len(s.cts.traces) >= maxTraces {
		// Dropping the first is amortised: append copies only the
		// traces kept when it next grows the array.
		s.cts.traces[0] = Trace{}
		s.cts.traces = s.cts.traces[1:]
	}
	s.cts.traces = append(s.cts.traces, t)
	return t
}

// traced carries out a policy call (serve) and, when it succeeded, records
// its trace before the answer leaves: a client that has its answer finds
// the trace (lag permitting).
func (s *Server) traced(w http.ResponseWriter, r *http.Request, route, requestID, endpointID string, body []byte, serve func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	serve(rec)
	if rec.Code == http.StatusOK {
		name := TraceModifyPolicy
		if route == RouteDeletePolicy {
			name = TraceDeletePolicy
		}
		s.AddTrace(Trace{
			TraceName: name, ResourceID: endpointID, SourceIP: remoteIP(r), RequestID: requestID,
			Request: string(body), Response: rec.Body.String(), Code: rec.Code,
		})
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// remoteIP is the address a request came from, without its port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// wireTrace is a trace as CTS's ListTraces answers it (the SDK's
// model.Traces): times in milliseconds, code as a string.
type wireTrace struct {
	TraceID      string   `json:"trace_id"`
	TraceName    string   `json:"trace_name"`
	TraceRating  string   `json:"trace_rating"`
	TraceType    string   `json:"trace_type"`
	ServiceType  string   `json:"service_type"`
	ResourceType string   `json:"resource_type"`
	ResourceID   string   `json:"resource_id"`
	ResourceName string   `json:"resource_name"`
	SourceIP     string   `json:"source_ip"`
	Time         int64    `json:"time"`
	RecordTime   int64    `json:"record_time"`
	User         wireUser `json:"user"`
	Request      string   `json:"request"`
	Response     string   `json:"response"`
	Code         string   `json:"code"`
	APIVersion   string   `json:"api_version"`
	RequestID    string   `json:"request_id"`
	ReadOnly     bool     `json:"read_only"`
}

type wireUser struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Domain wireUserBase `json:"domain"`
}

type wireUserBase struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// How CTS names VPCEP and its endpoints in a trace.
const (
	ctsServiceType  = "VPCEP"
	ctsResourceType = "vpcEndpoint"
)

// rating is the trace's trace_rating: warning for a failed call.
func (t Trace) rating() string {
	if t.Code >= 400 {
		return "warning"
	}
	return "normal"
}

func (t Trace) wire() wireTrace {
	return wireTrace{
		TraceID: t.TraceID, TraceName: t.TraceName, TraceRating: t.rating(), TraceType: t.TraceType,
		ServiceType: ctsServiceType, ResourceType: ctsResourceType, ResourceID: t.ResourceID, ResourceName: t.ResourceName,
		SourceIP: t.SourceIP, Time: t.Time.UnixMilli(), RecordTime: t.Time.UnixMilli(),
		User:    wireUser{ID: stableID(t.User), Name: t.User, Domain: wireUserBase{ID: stableID(ctsDomain), Name: ctsDomain}},
		Request: t.Request, Response: t.Response, Code: strconv.Itoa(t.Code), APIVersion: "v1",
		RequestID: t.RequestID,
	}
}

// stableID is a 32-hex id derived from name, so a user keeps its id.
func stableID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:16])
}

// ctsError answers a bad CTS query. CTS's own codes for these are not
// documented; the shape (error_code, error_msg) is the API gateway's.
func (s *Server) ctsError(w http.ResponseWriter, requestID, msg string) {
	s.writeError(w, requestID, http.StatusBadRequest, "CTS.0001", "Invalid parameter: "+msg)
}

// listTraces answers ListTraces: system traces (data traces: none),
// filtered by the query, newest first, limit at a time, paged by next
// (the previous page's meta_data.marker). The window from-to excludes both
// ends and defaults to the last hour; traces younger than the lag are not
// shown yet.
func (s *Server) listTraces(w http.ResponseWriter, r *http.Request, requestID string) {
	q := r.URL.Query()
	now := s.now()
	switch q.Get("trace_type") {
	case "", "system":
	case "data":
		writeJSON(w, http.StatusOK, map[string]any{"traces": []wireTrace{}, "meta_data": map[string]any{"count": 0, "marker": nil}})
		return
	default:
		s.ctsError(w, requestID, "trace_type must be system or data.")
		return
	}
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.ctsError(w, requestID, "limit must be between 1 and 200.")
			return
		}
		limit = n
	}
	// Defaults: the last hour, this millisecond included.
	from, to := now.Add(-time.Hour).UnixMilli(), now.UnixMilli()+1
	for _, p := range []struct {
		name string
		dest *int64
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				s.ctsError(w, requestID, p.name+" must be a timestamp in milliseconds.")
				return
			}
			*p.dest = n
		}
	}
	if from >= to {
		s.ctsError(w, requestID, "from must be before to.")
		return
	}
	if v := q.Get("trace_rating"); v != "" && v != "normal" && v != "warning" && v != "incident" {
		s.ctsError(w, requestID, "trace_rating must be normal, warning or incident.")
		return
	}

	s.cts.mu.Lock()
	lag := s.cts.lag
	matches := make([]Trace, 0)
	for _, t := range s.cts.traces {
		if now.Sub(t.Time) < lag || !traceMatches(t, q, from, to) {
			continue
		}
		matches = append(matches, t)
	}
	s.cts.mu.Unlock()
	// Newest first; a stable sort keeps the later-recorded of two traces
	// in the same instant first after the reversal.
	for i, j := 0, len(matches)-1; i < j; i, j = i+1, j-1 {
		matches[i], matches[j] = matches[j], matches[i]
	}
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].Time.After(matches[j].Time) })

	start := 0
	if next := q.Get("next"); next != "" {
		start = -1
		for i, t := range matches {
			if t.TraceID == next {
				start = i + 1
				break
			}
		}
		if start < 0 {
			s.ctsError(w, requestID, "next is not a trace of this query.")
			return
		}
	}
	page := []wireTrace{}
	for i := start; i < len(matches) && len(page) < limit; i++ {
		page = append(page, matches[i].wire())
	}
	var marker any // null: nothing further
	if start+len(page) < len(matches) && len(page) > 0 {
		marker = page[len(page)-1].TraceID
	}
	writeJSON(w, http.StatusOK, map[string]any{"traces": page, "meta_data": map[string]any{"count": len(page), "marker": marker}})
}

// traceMatches applies ListTraces' filters (system traces) to t; a
// trace_id filter alone decides, as CTS documents.
func traceMatches(t Trace, q map[string][]string, from, to int64) bool {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if id := get("trace_id"); id != "" {
		return t.TraceID == id
	}
	ms := t.Time.UnixMilli()
	if ms <= from || ms >= to {
		return false
	}
	// On the trace's own fields: wire() hashes ids, which the caller's
	// lock should not wait for.
	for _, f := range []struct{ key, value string }{
		{"service_type", ctsServiceType},
		{"resource_id", t.ResourceID},
		{"resource_name", t.ResourceName},
		{"resource_type", ctsResourceType},
		{"trace_name", t.TraceName},
		{"trace_rating", t.rating()},
		{"user", t.User},
	} {
		if v := get(f.key); v != "" && !strings.EqualFold(v, f.value) {
			return false
		}
	}
	return true
}

func newUUID() string {
	id := newRequestID()
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

// Package vpcepsim simulates the Huawei Cloud VPC Endpoint API over real
// HTTP: the three calls the console makes (and the deprecated policy delete),
// AK/SK signature and token checks, the API's error codes and body shapes,
// paging, filters and sorting, and fault injection. The demo mode and the
// tests use it in place of the real cloud.
package vpcepsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route names, for FailRoute.
const (
	RouteList         = "GET endpoints"
	RouteGet          = "GET endpoint"
	RouteUpdatePolicy = "PUT policy"
	RouteDeletePolicy = "DELETE policy"
)

// maxBody bounds a request body the simulator will read.
const maxBody = 1 << 20

// maxRecorded bounds how many requests Requests remembers.
const maxRecorded = 10000

// Options configures a Server.
type Options struct {
	ProjectID string
	AK, SK    string // accepted AK/SK pair; signing is refused when empty
	Token     string // accepted X-Auth-Token; token auth is refused when empty
	Endpoints []*Endpoint
	Now       func() time.Time // clock; time.Now when nil
	IAM       IAMOptions       // the simulated IAM's users and token lifetime (iam.go)
	// CTSUser is the user the CTS traces of API calls name
	// (DefaultCTSUser when empty); CTSLag hides traces younger than it.
	CTSUser string
	CTSLag  time.Duration
}

// RecordedRequest is a request the simulator received, secrets redacted.
type RecordedRequest struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Server is the simulated API. It is an http.Handler.
type Server struct {
	projectID string
	ak, sk    string
	token     string
	now       func() time.Time

	mu        sync.RWMutex
	endpoints map[string]*Endpoint
	requests  []RecordedRequest

	faults faults
	iam    *simIAM
	cts    ctsLog
}

// New returns a simulator serving opts.Endpoints.
func New(opts Options) *Server {
	s := &Server{
		projectID: opts.ProjectID,
		ak:        opts.AK,
		sk:        opts.SK,
		token:     opts.Token,
		now:       opts.Now,
		endpoints: make(map[string]*Endpoint, len(opts.Endpoints)),
		cts:       ctsLog{user: opts.CTSUser, lag: opts.CTSLag},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.iam = newSimIAM(opts.IAM, opts.ProjectID, s.now)
	for _, ep := range opts.Endpoints {
		s.endpoints[ep.ID] = ep.clone()
	}
	return s
}

// Endpoint returns a copy of the endpoint with id.
func (s *Server) Endpoint(id string) (*Endpoint, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ep, ok := s.endpoints[id]
	if !ok {
		return nil, false
	}
	return ep.clone(), true
}

// Endpoints returns copies of every endpoint, newest first.
func (s *Server) Endpoints() []*Endpoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Endpoint, 0, len(s.endpoints))
	for _, ep := range s.endpoints {
		out = append(out, ep.clone())
	}
	sortEndpoints(out, "create_at", "desc")
	return out
}

// PutEndpoint adds or replaces an endpoint, as a change made outside the console.
func (s *Server) PutEndpoint(ep *Endpoint) {
	s.mu.Lock()
	s.endpoints[ep.ID] = ep.clone()
	s.mu.Unlock()
}

// DeleteEndpoint removes an endpoint, as a deletion made outside the console.
func (s *Server) DeleteEndpoint(id string) {
	s.mu.Lock()
	delete(s.endpoints, id)
	s.mu.Unlock()
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []RecordedRequest {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// ServeHTTP routes, authenticates, applies faults and answers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	w.Header().Set("X-Request-Id", requestID)
	w.Header().Set("Content-Type", "application/json")
	if s.serveIAM(w, r) {
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.1004", "Invalid request.")
		return
	}
	s.record(r, body)
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r, requestID, body)
		return
	}

	route, projectID, endpointID := matchRoute(r.Method, r.URL.Path)
	if route == "" {
		s.writeError(w, requestID, http.StatusNotFound, "APIGW.0101", "The API does not exist or has not been published in the environment.")
		return
	}
	if msg := s.authenticate(r, body); msg != "" {
		s.writeError(w, requestID, http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: "+msg)
		return
	}
	if projectID != s.projectID || (r.Header.Get("X-Project-Id") != "" && r.Header.Get("X-Project-Id") != s.projectID) {
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0014", "Invalid project ID.")
		return
	}

	drop, forced, latency, dropAfter := s.faults.take(route)
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if drop {
		dropConnection(w)
		return
	}
	if forced != nil {
		msg := forced.Message
		if msg == "" {
			msg = http.StatusText(forced.Status)
		}
		s.writeError(w, requestID, forced.Status, forced.Code, msg)
		return
	}

	if dropAfter {
		// Carry the call out, then lose the answer.
		defer dropConnection(w)
		w = httptest.NewRecorder()
	}
	if h := s.takeHold(route); h != nil {
		h.serve(w, func(w http.ResponseWriter) { s.serveRoute(w, r, route, requestID, endpointID, body) })
		return
	}
	s.serveRoute(w, r, route, requestID, endpointID, body)
}

// serveRoute carries out a call to route and answers it.
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, route, requestID, endpointID string, body []byte) {
	switch route {
	case RouteList:
		s.listEndpoints(w, r, requestID)
	case RouteGet:
		s.getEndpoint(w, requestID, endpointID)
	case RouteUpdatePolicy:
		s.traced(w, r, route, requestID, endpointID, body, func(w http.ResponseWriter) { s.updatePolicy(w, requestID, endpointID, body) })
	case RouteDeletePolicy:
		s.traced(w, r, route, requestID, endpointID, body, func(w http.ResponseWriter) { s.deletePolicy(w, requestID, endpointID) })
	case RouteListTraces:
		s.listTraces(w, r, requestID)
	}
}

// matchRoute maps a request to one of the API's routes, or "".
func matchRoute(method, path string) (route, projectID, endpointID string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) == 3 && parts[0] == "v3" && parts[1] != "" && parts[2] == "traces" && method == http.MethodGet {
		return RouteListTraces, parts[1], "" // CTS
	}
	if len(parts) < 3 || parts[0] != "v1" || parts[2] != "vpc-endpoints" || parts[1] == "" {
		return "", "", ""
	}
	switch {
	case len(parts) == 3 && method == http.MethodGet:
		return RouteList, parts[1], ""
	case len(parts) == 4 && parts[3] != "" && method == http.MethodGet:
		return RouteGet, parts[1], parts[3]
	case len(parts) == 5 && parts[3] != "" && parts[4] == "policy" && method == http.MethodPut:
		return RouteUpdatePolicy, parts[1], parts[3]
	case len(parts) == 5 && parts[3] != "" && parts[4] == "policy" && method == http.MethodDelete:
		return RouteDeletePolicy, parts[1], parts[3]
	}
	return "", "", ""
}

// authenticate returns "" when r carries a valid token or AK/SK signature,
// else why not.
func (s *Server) authenticate(r *http.Request, body []byte) string {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if s.token != "" && tok == s.token {
			return ""
		}
		if known, problem := s.iam.checkToken(tok); known {
			return problem
		}
		return "token is invalid or expired"
	}
	if r.Header.Get("Authorization") != "" {
		if s.ak == "" {
			return "AK/SK authentication is not enabled"
		}
		if err := verifySignature(r, body, s.ak, s.sk, s.now()); err != nil {
			return err.Error()
		}
		return ""
	}
	return "no X-Auth-Token or Authorization header"
}

func (s *Server) record(r *http.Request, body []byte) {
	h := r.Header.Clone()
	for _, name := range []string{"Authorization", "X-Auth-Token", "X-Security-Token"} {
		if h.Get(name) != "" {
			h.Set(name, "[REDACTED]")
		}
	}
	s.mu.Lock()
	if len(s.requests) >= maxRecorded {
		// A long-running demo must not grow without bound: keep the newest half.
		s.requests = append(s.requests[:0], s.requests[maxRecorded/2:]...)
	}
	s.requests = append(s.requests, RecordedRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h, Body: body,
	})
	s.mu.Unlock()
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request, requestID string) {
	q := r.URL.Query()
	limit, offset := 10, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0006", "Invalid limit.")
			return
		}
		if n > 0 {
			limit = n
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0010", "Invalid offset.")
			return
		}
		offset = n
	}
	sortKey := q.Get("sort_key")
	switch sortKey {
	case "":
		sortKey = "create_at"
	case "create_at", "created_at", "update_at", "updated_at":
	default:
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0017", "Invalid sort_key.")
		return
	}
	sortDir := q.Get("sort_dir")
	switch sortDir {
	case "":
		sortDir = "desc"
	case "asc", "desc":
	default:
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0018", "Invalid sort_dir.")
		return
	}
	vpcID := q.Get("vpc_id")
	if q.Has("vpc_id") && (vpcID == "" || len(vpcID) > 64) {
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0020", "Invalid VPC ID.")
		return
	}
	name := strings.ToLower(q.Get("endpoint_service_name"))
	id := q.Get("id")

	s.mu.RLock()
	matches := make([]*Endpoint, 0, len(s.endpoints))
	for _, ep := range s.endpoints {
		if vpcID != "" && ep.VpcID != vpcID || id != "" && ep.ID != id ||
			name != "" && !strings.Contains(strings.ToLower(ep.Service.Name), name) {
			continue
		}
		matches = append(matches, ep)
	}
	sortEndpoints(matches, sortKey, sortDir)
	total := len(matches)
	page := []wireEndpoint{}
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, matches[i].wire(s.projectID, false))
	}
	s.mu.RUnlock()

	writeJSON(w, http.StatusOK, map[string]any{"endpoints": page, "total_count": total})
}

// sortEndpoints orders by creation or update time, ties broken by id so
// paging is stable.
func sortEndpoints(eps []*Endpoint, key, dir string) {
	byUpdate := key == "update_at" || key == "updated_at"
	sort.Slice(eps, func(i, j int) bool {
		a, b := eps[i], eps[j]
		ta, tb := a.CreatedAt, b.CreatedAt
		if byUpdate {
			ta, tb = a.UpdatedAt, b.UpdatedAt
		}
		if !ta.Equal(tb) {
			if dir == "asc" {
				return ta.Before(tb)
			}
			return ta.After(tb)
		}
		return a.ID < b.ID
	})
}

func (s *Server) getEndpoint(w http.ResponseWriter, requestID, id string) {
	s.mu.RLock()
	ep, ok := s.endpoints[id]
	var out wireEndpoint
	if ok {
		out = ep.wire(s.projectID, true)
	}
	s.mu.RUnlock()
	if !ok {
		s.writeNotFound(w, requestID)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updatePolicy(w http.ResponseWriter, requestID, id string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updatePolicyLocked(w, requestID, id, body)
}

// updatePolicyLocked is updatePolicy with s.mu held (by an out-of-band
// edit that read the policy it changes under the same lock).
func (s *Server) updatePolicyLocked(w http.ResponseWriter, requestID, id string, body []byte) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.1004", "Invalid request.")
		return
	}
	ep, ok := s.endpoints[id]
	if !ok {
		s.writeNotFound(w, requestID)
		return
	}
	rawStatements, hasStatements := fields["policy_statement"]
	rawDocument, hasDocument := fields["policy_document"]
	switch {
	case !hasStatements && !hasDocument:
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0002", "Parameter error: policy_statement is required.")
		return
	case hasStatements && ep.Service.PolicyKind != PolicyStatementKind:
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0002",
			"Parameter error: policy_statement is only supported by gateway endpoints of OBS or SFS services with enable_policy on.")
		return
	case hasDocument && ep.Service.PolicyKind != PolicyDocumentKind:
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.0002",
			"Parameter error: policy_document is not supported by this endpoint's service.")
		return
	}
	if hasStatements {
		statements, msg := parseStatements(rawStatements)
		if msg != "" {
			s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.2048", "The VPC endpoint policy is invalid: "+msg)
			return
		}
		ep.Statements = statements
	}
	if hasDocument {
		var doc map[string]any
		if err := json.Unmarshal(rawDocument, &doc); err != nil {
			s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.2048", "The VPC endpoint policy is invalid: policy_document must be an object.")
			return
		}
		ep.Document = append(json.RawMessage(nil), rawDocument...)
	}
	ep.UpdatedAt = s.now().UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, ep.wire(s.projectID, true))
}

// parseStatements checks a policy_statement value strictly: the types the
// SDK sends, Effect Allow or Deny, non-empty Action and Resource lists of
// non-empty strings. It returns why not when invalid.
func parseStatements(raw json.RawMessage) ([]Statement, string) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "policy_statement must be an array of objects."
	}
	out := make([]Statement, 0, len(items))
	for i, item := range items {
		var st Statement
		where := fmt.Sprintf("policy_statement[%d]", i)
		if err := json.Unmarshal(item["Effect"], &st.Effect); err != nil || (st.Effect != "Allow" && st.Effect != "Deny") {
			return nil, where + ".Effect must be Allow or Deny."
		}
		for _, f := range []struct {
			key  string
			dest *[]string
		}{{"Action", &st.Action}, {"Resource", &st.Resource}} {
			if err := json.Unmarshal(item[f.key], f.dest); err != nil || len(*f.dest) == 0 {
				return nil, fmt.Sprintf("%s.%s must be a non-empty array of strings.", where, f.key)
			}
			for _, v := range *f.dest {
				if strings.TrimSpace(v) == "" {
					return nil, fmt.Sprintf("%s.%s must not contain empty strings.", where, f.key)
				}
			}
		}
		if cond, ok := item["Condition"]; ok && string(cond) != "null" {
			var obj map[string]any
			if err := json.Unmarshal(cond, &obj); err != nil {
				return nil, where + ".Condition must be an object."
			}
			st.Condition = append(json.RawMessage(nil), cond...)
		}
		if sid, ok := item["Sid"]; ok {
			if err := json.Unmarshal(sid, &st.Sid); err != nil {
				return nil, where + ".Sid must be a string."
			}
		}
		out = append(out, st)
	}
	return out, ""
}

// deletePolicy implements the deprecated DeleteEndpointPolicy as a reset to
// no policy.
func (s *Server) deletePolicy(w http.ResponseWriter, requestID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[id]
	if !ok {
		s.writeNotFound(w, requestID)
		return
	}
	if ep.Service.PolicyKind != PolicyStatementKind {
		s.writeError(w, requestID, http.StatusBadRequest, "EndPoint.2049", "The VPC endpoint has no policy associated.")
		return
	}
	ep.Statements = nil
	ep.UpdatedAt = s.now().UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, ep.wire(s.projectID, false))
}

func (s *Server) writeNotFound(w http.ResponseWriter, requestID string) {
	s.writeError(w, requestID, http.StatusNotFound, "EndPoint.0005", "The requested resource does not exist.")
}

// writeError answers in the API's flat shape (APIGW errors also carry
// request_id), or in the nested shape when that fault is on.
func (s *Server) writeError(w http.ResponseWriter, requestID string, status int, code, msg string) {
	if s.faults.nested() {
		writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
		return
	}
	body := map[string]string{"error_code": code, "error_msg": msg}
	if strings.HasPrefix(code, "APIGW.") {
		body["request_id"] = requestID
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// dropConnection closes the connection without writing an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

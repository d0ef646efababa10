package vpcepsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
)

// Out-of-band changes: a policy changed as if in Huawei Cloud's console, by
// Terraform or a script, not through the console under test. The change is
// applied exactly as an API PUT would be and recorded as a CTS trace with
// the user and source IP given.

// Demo out-of-band change: who makes it and from where.
const (
	DemoOutOfBandUser = "terraform-ci"
	DemoOutOfBandIP   = "10.0.8.15"
)

// outOfBandBucket is the bucket OutOfBandEdit grants or withdraws.
const outOfBandBucket = "terraform-state"

// ChangeError is an out-of-band change the simulated API refused, with the
// code and message its PUT would have answered.
type ChangeError struct {
	Status  int
	Code    string
	Message string
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("vpcepsim: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// ChangePolicyOutOfBand replaces the endpoint's policy_statement exactly as
// a PUT through the API would (same checks, same updated_at) and records a
// CTS modifyEndpointPolicy trace naming user and sourceIP. A refusal is a
// *ChangeError (e.g. EndPoint.0005 for an unknown endpoint).
func (s *Server) ChangePolicyOutOfBand(id string, statements []Statement, user, sourceIP string) error {
	_, err := s.changeOutOfBand(id, statements, user, sourceIP, "ApiCall")
	return err
}

func (s *Server) changeOutOfBand(id string, statements []Statement, user, sourceIP, traceType string) (*Endpoint, error) {
	return s.editOutOfBand(id, func([]Statement) []Statement { return statements }, user, sourceIP, traceType)
}

// editOutOfBand changes the endpoint's policy to edit(its statements),
// reading and writing them under one hold of the endpoints' lock, so that
// concurrent edits each start from the one before.
func (s *Server) editOutOfBand(id string, edit func([]Statement) []Statement, user, sourceIP, traceType string) (*Endpoint, error) {
	if user == "" {
		return nil, errors.New("vpcepsim: an out-of-band change needs a user")
	}
	requestID := newRequestID()
	rec := httptest.NewRecorder()
	s.mu.Lock()
	var current []Statement
	if ep, ok := s.endpoints[id]; ok {
		current = cloneStatements(ep.Statements)
	}
	statements := edit(current)
	if statements == nil {
		statements = []Statement{}
	}
	body, err := json.Marshal(map[string]any{"policy_statement": statements})
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("vpcepsim: encode policy: %w", err)
	}
	s.updatePolicyLocked(rec, requestID, id, body)
	if rec.Code == http.StatusOK {
		// Recorded before the lock goes, so that the traces are in the
		// order of the changes (CTS's own lock is never held waiting for
		// this one).
		s.AddTrace(Trace{
			TraceName: TraceModifyPolicy, TraceType: traceType, ResourceID: id, User: user, SourceIP: sourceIP,
			RequestID: requestID, Request: string(body), Response: rec.Body.String(), Code: rec.Code,
		})
	}
	s.mu.Unlock()
	if rec.Code != http.StatusOK {
		var answer struct {
			Code    string `json:"error_code"`
			Message string `json:"error_msg"`
			Nested  struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		if answer.Code == "" {
			answer.Code, answer.Message = answer.Nested.Code, answer.Nested.Message
		}
		return nil, &ChangeError{Status: rec.Code, Code: answer.Code, Message: answer.Message}
	}
	ep, _ := s.Endpoint(id)
	return ep, nil
}

// OutOfBandEdit is a plausible change made elsewhere to statements: read
// access to the terraform-state bucket is granted, or withdrawn where an
// earlier OutOfBandEdit granted it, so that applying it always changes
// the policy.
func OutOfBandEdit(statements []Statement) []Statement {
	const sid = "TerraformState"
	out := make([]Statement, 0, len(statements)+1)
	removed := false
	for _, st := range cloneStatements(statements) {
		if st.Sid == sid {
			removed = true
			continue
		}
		out = append(out, st)
	}
	if removed {
		return out
	}
	return append(out, Statement{
		Effect:   "Allow",
		Action:   []string{"obs:object:GetObject", "obs:bucket:ListBucket"},
		Resource: []string{"obs:*:*:bucket:" + outOfBandBucket, "obs:*:*:object:" + outOfBandBucket + "/*"},
		Sid:      sid,
	})
}

// OutOfBandTarget picks the endpoint an out-of-band demo change is made
// to: an accepted gateway endpoint whose service takes a policy_statement
// and which has a policy, the same one every time for the same data
// (the first by id). It returns "" when there is none.
func OutOfBandTarget(s *Server) string {
	eps := s.Endpoints()
	sort.Slice(eps, func(i, j int) bool { return eps[i].ID < eps[j].ID })
	for _, ep := range eps {
		if ep.Service.PolicyKind == PolicyStatementKind && ep.Status == "accepted" && len(ep.Statements) > 0 &&
			(len(ep.ActiveStatus) == 0 || ep.ActiveStatus[0] != "frozen") {
			return ep.ID
		}
	}
	return ""
}

// DemoOutOfBand changes the OutOfBandTarget endpoint's policy with
// OutOfBandEdit as user terraform-ci from 10.0.8.15: the drift the demo
// starts with. It returns the endpoint's id.
func DemoOutOfBand(s *Server) (string, error) {
	id := OutOfBandTarget(s)
	if id == "" {
		return "", errors.New("vpcepsim: no gateway endpoint with a policy to change out of band")
	}
	return id, s.OutOfBandEditAs(id, DemoOutOfBandUser, DemoOutOfBandIP)
}

// OutOfBandEditAs applies OutOfBandEdit to the endpoint's current policy as
// user from sourceIP.
func (s *Server) OutOfBandEditAs(id, user, sourceIP string) error {
	_, err := s.editOutOfBand(id, OutOfBandEdit, user, sourceIP, "ApiCall")
	return err
}

// adminPrefix is where the simulator's own control routes live, outside
// the API's namespace.
const adminPrefix = "/sim/admin/"

// adminPolicyRequest is the body of POST /sim/admin/endpoints/{id}/policy.
// Without policy_statement, OutOfBandEdit is applied to the current policy.
type adminPolicyRequest struct {
	PolicyStatement *[]Statement `json:"policy_statement"`
	User            string       `json:"user"`
	SourceIP        string       `json:"source_ip"`
	TraceType       string       `json:"trace_type"` // ApiCall (default) or ConsoleAction
}

// serveAdmin answers the simulator's control routes:
//
//	POST /sim/admin/endpoints/{id}/policy  {"policy_statement": [...], "user": "...", "source_ip": "..."}
//
// changes a policy out of band and answers the endpoint as the API would.
// The route takes the same credentials as the API (a token or an AK/SK
// signature), not the caller's address: the simulator may listen beyond
// loopback (vpcep-sim --listen), and behind a proxy or in a container
// every caller can look local. Faults and holds do not apply to it: it is
// the test's own lever, not part of the API under test.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, requestID string, body []byte) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, adminPrefix), "/")
	if len(parts) != 3 || parts[0] != "endpoints" || parts[1] == "" || parts[2] != "policy" {
		s.writeError(w, requestID, http.StatusNotFound, "APIGW.0101", "The API does not exist or has not been published in the environment.")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, requestID, http.StatusMethodNotAllowed, "SIM.0405", "Use POST.")
		return
	}
	if msg := s.authenticate(r, body); msg != "" {
		s.writeError(w, requestID, http.StatusUnauthorized, "APIGW.0301", "Incorrect IAM authentication information: "+msg)
		return
	}
	var req adminPolicyRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, requestID, http.StatusBadRequest, "SIM.0400", "Invalid request: "+err.Error())
		return
	}
	if req.User == "" {
		s.writeError(w, requestID, http.StatusBadRequest, "SIM.0400", "Invalid request: user is required.")
		return
	}
	switch req.TraceType {
	case "":
		req.TraceType = "ApiCall"
	case "ApiCall", "ConsoleAction":
	default:
		s.writeError(w, requestID, http.StatusBadRequest, "SIM.0400", "Invalid request: trace_type must be ApiCall or ConsoleAction.")
		return
	}
	if req.SourceIP == "" {
		req.SourceIP = remoteIP(r)
	}
	id := parts[1]
	var statements []Statement
	if req.PolicyStatement != nil {
		statements = *req.PolicyStatement
	} else {
		ep, ok := s.Endpoint(id)
		if !ok {
			s.writeNotFound(w, requestID)
			return
		}
		statements = OutOfBandEdit(ep.Statements)
	}
	ep, err := s.changeOutOfBand(id, statements, req.User, req.SourceIP, req.TraceType)
	var ce *ChangeError
	switch {
	case errors.As(err, &ce):
		s.writeError(w, requestID, ce.Status, ce.Code, ce.Message)
		return
	case err != nil:
		s.writeError(w, requestID, http.StatusBadRequest, "SIM.0400", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ep.wire(s.projectID, true))
}

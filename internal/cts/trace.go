// Package cts asks Huawei Cloud's Cloud Trace Service who changed an
// endpoint's policy: the user, source IP, time and request id of the
// policy-update traces it recorded on the endpoint. CTS names the
// UpdateEndpointPolicy operation modifyEndpointPolicy (TraceModifyPolicy).
package cts

import (
	"context"
	"time"
)

// Trace is one operation CTS recorded on an endpoint.
type Trace struct {
	TraceID    string    `json:"trace_id"`
	TraceName  string    `json:"trace_name"` // e.g. modifyEndpointPolicy (TraceModifyPolicy)
	ResourceID string    `json:"resource_id"`
	User       string    `json:"user"`      // the user's name (user.name), else its id
	SourceIP   string    `json:"source_ip"` // source_ip
	Time       time.Time `json:"time"`      // when the operation happened
	RequestID  string    `json:"request_id"`
}

// Source finds the policy changes CTS recorded on an endpoint between from
// and to: the policy-update (modifyEndpointPolicy) traces, oldest first. A
// nil Source means CTS is not enabled.
type Source interface {
	PolicyTraces(ctx context.Context, endpointID string, from, to time.Time) ([]Trace, error)
}

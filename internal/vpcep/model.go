// Package vpcep is the console's client for the Huawei Cloud VPC Endpoint
// API. It wraps the official Go SDK (models, requests, AK/SK signing) and
// adds what the SDK lacks: contexts, an IAM-token credential, one typed
// error and a record of the raw HTTP exchanges for the audit log.
package vpcep

import (
	"bytes"
	"encoding/json"
	"time"
)

// Service types reported in Endpoint.ServiceType.
const (
	ServiceTypeGateway   = "gateway"
	ServiceTypeInterface = "interface"
)

// Endpoint is a VPC endpoint as the upstream reports it. The JSON names are
// the API's own, so an Endpoint marshals back to the shape the API returned.
type Endpoint struct {
	ID                string            `json:"id"`
	ServiceType       string            `json:"service_type"`
	Status            string            `json:"status"`
	ActiveStatus      []string          `json:"active_status"`
	EnableStatus      string            `json:"enable_status,omitempty"`
	SpecificationName string            `json:"specification_name,omitempty"`
	ServiceName       string            `json:"endpoint_service_name"`
	MarkerID          int32             `json:"marker_id"`
	ServiceID         string            `json:"endpoint_service_id"`
	EnableDNS         bool              `json:"enable_dns"`
	DNSNames          []string          `json:"dns_names"`
	IP                string            `json:"ip,omitempty"`
	VpcID             string            `json:"vpc_id"`
	SubnetID          string            `json:"subnet_id,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	ProjectID         string            `json:"project_id"`
	Tags              []Tag             `json:"tags"`
	Errors            []QueryError      `json:"error,omitempty"`
	Whitelist         []string          `json:"whitelist"`
	EnableWhitelist   bool              `json:"enable_whitelist"`
	RouteTables       []string          `json:"routetables"`
	Description       string            `json:"description,omitempty"`
	PolicyStatement   []PolicyStatement `json:"policy_statement,omitempty"`
	PolicyDocument    json.RawMessage   `json:"policy_document,omitempty"`
	EndpointPoolID    string            `json:"endpoint_pool_id,omitempty"`
	PublicBorderGroup string            `json:"public_border_group,omitempty"`
	IPv6Address       string            `json:"ipv6_address,omitempty"`
}

// HasPolicy reports whether the endpoint carries a policy of either kind.
func (e *Endpoint) HasPolicy() bool {
	return len(e.PolicyStatement) > 0 || hasJSONValue(e.PolicyDocument)
}

// Tag is a key/value label on an endpoint.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// QueryError explains why an endpoint is in status "failed".
type QueryError struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// PolicyStatement is one statement of a gateway endpoint's policy. Action and
// Resource are arrays of strings (the seed document's "String" is wrong; the
// SDK and the API's own example send arrays). Condition is kept as raw JSON so
// nothing the upstream returned is lost on a round trip.
type PolicyStatement struct {
	Effect    string          `json:"Effect"`
	Action    []string        `json:"Action"`
	Resource  []string        `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
	Sid       string          `json:"Sid,omitempty"`
}

// hasJSONValue reports whether raw holds a JSON value other than null.
func hasJSONValue(raw json.RawMessage) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null"))
}

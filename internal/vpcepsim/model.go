package vpcepsim

import (
	"encoding/json"
	"time"
)

// timeFormat is how the API writes times: YYYY-MM-DDTHH:MM:SSZ.
const timeFormat = "2006-01-02T15:04:05Z"

// Service is an endpoint service the simulated endpoints connect to.
type Service struct {
	ID   string
	Name string
	Type string // gateway | interface
	// PolicyKind is "statement" for OBS/SFS gateway services (policy_statement),
	// "document" for other services (policy_document), "" when the service has
	// enable_policy=false.
	PolicyKind string
}

// EnablePolicy reports the service's enable_policy flag.
func (s Service) EnablePolicy() bool { return s.PolicyKind != "" }

// Policy kinds of a Service.
const (
	PolicyStatementKind = "statement"
	PolicyDocumentKind  = "document"
)

// Statement is one policy_statement entry on the wire.
type Statement struct {
	Effect    string          `json:"Effect"`
	Action    []string        `json:"Action"`
	Resource  []string        `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
	Sid       string          `json:"Sid,omitempty"`
}

// Tag is a key/value label.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// QueryError is an entry of a failed endpoint's error list.
type QueryError struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// Endpoint is a simulated VPC endpoint.
type Endpoint struct {
	ID              string
	Service         Service
	Status          string
	ActiveStatus    []string
	VpcID           string
	SubnetID        string
	IP              string
	MarkerID        int32
	EnableDNS       bool
	DNSNames        []string
	Whitelist       []string
	EnableWhitelist bool
	RouteTables     []string
	Description     string
	Tags            []Tag
	Errors          []QueryError
	Statements      []Statement     // policy_statement, for statement-kind services
	Document        json.RawMessage // policy_document, for document-kind services
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// wireEndpoint is the JSON the API returns for an endpoint. Lists are always
// arrays (never null): the SDK fails to decode a null where it wants a list.
type wireEndpoint struct {
	ID                  string          `json:"id"`
	ServiceType         string          `json:"service_type"`
	Status              string          `json:"status"`
	ActiveStatus        []string        `json:"active_status"`
	EnableStatus        string          `json:"enable_status,omitempty"`
	SpecificationName   string          `json:"specification_name,omitempty"`
	EndpointServiceName string          `json:"endpoint_service_name"`
	MarkerID            int32           `json:"marker_id"`
	EndpointServiceID   string          `json:"endpoint_service_id"`
	EnableDNS           bool            `json:"enable_dns"`
	DNSNames            []string        `json:"dns_names"`
	IP                  string          `json:"ip,omitempty"`
	VpcID               string          `json:"vpc_id"`
	SubnetID            string          `json:"subnet_id,omitempty"`
	CreatedAt           string          `json:"created_at"`
	UpdatedAt           string          `json:"updated_at"`
	ProjectID           string          `json:"project_id"`
	Tags                []Tag           `json:"tags"`
	Error               []QueryError    `json:"error,omitempty"`
	Whitelist           []string        `json:"whitelist"`
	EnableWhitelist     bool            `json:"enable_whitelist"`
	RouteTables         []string        `json:"routetables"`
	Description         string          `json:"description"`
	PolicyStatement     []Statement     `json:"policy_statement,omitempty"`
	PolicyDocument      json.RawMessage `json:"policy_document,omitempty"`
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// wire renders e as the API does; detail adds the fields only the
// single-endpoint query returns.
func (e *Endpoint) wire(projectID string, detail bool) wireEndpoint {
	w := wireEndpoint{
		ID:                  e.ID,
		ServiceType:         e.Service.Type,
		Status:              e.Status,
		ActiveStatus:        orEmpty(e.ActiveStatus),
		EndpointServiceName: e.Service.Name,
		MarkerID:            e.MarkerID,
		EndpointServiceID:   e.Service.ID,
		EnableDNS:           e.EnableDNS,
		DNSNames:            orEmpty(e.DNSNames),
		VpcID:               e.VpcID,
		SubnetID:            e.SubnetID,
		CreatedAt:           e.CreatedAt.UTC().Format(timeFormat),
		UpdatedAt:           e.UpdatedAt.UTC().Format(timeFormat),
		ProjectID:           projectID,
		Tags:                orEmpty(e.Tags),
		Whitelist:           orEmpty(e.Whitelist),
		EnableWhitelist:     e.EnableWhitelist,
		RouteTables:         orEmpty(e.RouteTables),
		Description:         e.Description,
		PolicyDocument:      e.Document,
	}
	if e.Status == "accepted" && e.Service.Type == "interface" {
		w.IP = e.IP
	}
	if e.Status == "failed" {
		w.Error = orEmpty(e.Errors)
	}
	if e.Service.PolicyKind == PolicyStatementKind {
		w.PolicyStatement = orEmpty(e.Statements)
	}
	if detail {
		w.EnableStatus = "enable"
		if len(e.ActiveStatus) > 0 && e.ActiveStatus[0] == "frozen" {
			w.EnableStatus = "disable"
		}
		w.SpecificationName = "default"
	}
	return w
}

func (e *Endpoint) clone() *Endpoint {
	c := *e
	c.ActiveStatus = append([]string(nil), e.ActiveStatus...)
	c.DNSNames = append([]string(nil), e.DNSNames...)
	c.Whitelist = append([]string(nil), e.Whitelist...)
	c.RouteTables = append([]string(nil), e.RouteTables...)
	c.Tags = append([]Tag(nil), e.Tags...)
	c.Errors = append([]QueryError(nil), e.Errors...)
	c.Statements = cloneStatements(e.Statements)
	c.Document = append(json.RawMessage(nil), e.Document...)
	return &c
}

func cloneStatements(in []Statement) []Statement {
	if in == nil {
		return nil
	}
	out := make([]Statement, len(in))
	for i, s := range in {
		out[i] = Statement{
			Effect:    s.Effect,
			Action:    append([]string(nil), s.Action...),
			Resource:  append([]string(nil), s.Resource...),
			Condition: append(json.RawMessage(nil), s.Condition...),
			Sid:       s.Sid,
		}
	}
	return out
}

package cts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	sdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cts/v3"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cts/v3/model"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The names CTS gives the operations on a VPC endpoint's policy. VPCEP's
// "Key Operations Recorded by CTS" lists the policy update as
// modifyEndpointPolicy (resource type vpcEndpoint), not as the API's
// operation name UpdateEndpointPolicy. The deprecated policy delete is not
// in that list; the simulator records it as deleteEndpointPolicy.
const (
	TraceModifyPolicy = "modifyEndpointPolicy"
	TraceDeletePolicy = "deleteEndpointPolicy"
)

// ServiceType and ResourceType are how CTS names VPCEP and its endpoints.
const (
	ServiceType  = "VPCEP"
	ResourceType = "vpcEndpoint"
)

// Paging bounds: CTS answers at most MaxPageSize traces a page; a lookup
// reads at most DefaultMaxPages pages before giving up rather than walk an
// unbounded history.
const (
	MaxPageSize     = 200
	DefaultMaxPages = 20
)

// DefaultTimeout bounds each CTS call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// op names a CTS failure in a *vpcep.Error.
const op = "query Cloud Trace Service"

// Config says where CTS is and how to authenticate: the same credential
// modes as the VPCEP client (TokenSource wins, then AK/SK, then Token).
type Config struct {
	Region    string // picks the endpoint from the SDK's CTS region table when Endpoint is empty
	Endpoint  string // overrides the region's endpoint (CTS_ENDPOINT)
	ProjectID string
	AK, SK    string
	Token     string
	// TokenSource, when set, supplies a changing X-Auth-Token (an IAM
	// user's vpcep.RenewingCredential, shared with the project's VPCEP
	// client): renewed before it expires and once after a 401.
	TokenSource vpcep.TokenSource
	Timeout     time.Duration // per call; DefaultTimeout when zero
	// LookupTimeout bounds one PolicyTraces, every page of every trace
	// name, so that a slow CTS never holds a pass for minutes (twice
	// Timeout when zero).
	LookupTimeout time.Duration
	Transport     http.RoundTripper
	UserAgent     string
	// TraceNames are the operations PolicyTraces returns, each asked for
	// with trace_name; {TraceModifyPolicy} when empty.
	TraceNames []string
	PageSize   int32 // traces per page, at most MaxPageSize (the default)
	MaxPages   int   // pages per trace name and lookup; DefaultMaxPages when zero
}

// Client reads traces from CTS. It is safe for concurrent use.
type Client struct {
	endpoint   string
	credential auth.ICredential
	timeout    time.Duration
	lookup     time.Duration
	transport  http.RoundTripper
	userAgent  string
	traceNames []string
	pageSize   int32
	maxPages   int
}

var _ Source = (*Client)(nil)

// Endpoint is the CTS endpoint for region from the SDK's region table, or
// an error naming CTS_ENDPOINT when the table has none.
func Endpoint(region string) (string, error) {
	if region == "" {
		return "", errors.New("cts: CTS_ENDPOINT or a region (VPCEP_REGION) is required")
	}
	endpoint, err := vpcep.CTSEndpoint(region)
	if err != nil {
		return "", fmt.Errorf("cts: region %q has no CTS endpoint the SDK knows: set CTS_ENDPOINT", region)
	}
	return endpoint, nil
}

// NewClient validates cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		var err error
		if endpoint, err = Endpoint(cfg.Region); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "https://" + endpoint
	}
	cred, err := vpcep.SDKCredential(cfg.vpcepConfig())
	if err != nil {
		return nil, fmt.Errorf("cts: %w", err)
	}
	transport := cfg.Transport
	if cfg.TokenSource != nil {
		// The credential leaves the token to this transport.
		transport = vpcep.RenewingTransport(transport, cfg.TokenSource)
	}
	c := &Client{
		endpoint:   endpoint,
		credential: cred,
		timeout:    cfg.Timeout,
		lookup:     cfg.LookupTimeout,
		transport:  transport,
		userAgent:  cfg.UserAgent,
		traceNames: slices.Clone(cfg.TraceNames),
		pageSize:   cfg.PageSize,
		maxPages:   cfg.MaxPages,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.lookup <= 0 {
		c.lookup = 2 * c.timeout
	}
	if c.userAgent == "" {
		c.userAgent = "vpcep-console"
	}
	if len(c.traceNames) == 0 {
		c.traceNames = []string{TraceModifyPolicy}
	}
	if c.pageSize <= 0 || c.pageSize > MaxPageSize {
		c.pageSize = MaxPageSize
	}
	if c.maxPages <= 0 {
		c.maxPages = DefaultMaxPages
	}
	return c, nil
}

// Endpoint returns the base URL the client calls.
func (c *Client) Endpoint() string { return c.endpoint }

// sdkClient builds an SDK client for one call, as the VPCEP client does:
// the SDK takes no context, so the call's transport carries it.
func (c *Client) sdkClient(ctx context.Context) *sdk.CtsClient {
	return sdk.NewCtsClient(vpcep.SDKHTTPClient(c.endpoint, c.credential, c.timeout, c.userAgent, vpcep.CallTransport(ctx, c.transport)))
}

// PolicyTraces returns the policy operations CTS recorded on the endpoint
// between from and to (both included), oldest first. Each trace name is
// asked for separately (CTS filters on one), each following CTS's markers
// for at most MaxPages pages; more than that is an error rather than a
// partial answer, which could name the wrong person. A failed call is a
// *vpcep.Error with the status, code and request id CTS answered. The
// whole lookup is bounded by Config.LookupTimeout.
func (c *Client) PolicyTraces(ctx context.Context, endpointID string, from, to time.Time) ([]Trace, error) {
	if endpointID == "" {
		return nil, errors.New("cts: an endpoint id is required")
	}
	if from.IsZero() || to.IsZero() {
		return nil, errors.New("cts: the window needs both a start and an end")
	}
	if from.After(to) {
		return nil, fmt.Errorf("cts: the window's start %s is after its end %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(ctx, c.lookup)
	defer cancel()
	var out []Trace
	seen := map[string]bool{}
	for _, name := range c.traceNames {
		traces, err := c.traces(ctx, endpointID, name, from, to)
		if err != nil {
			return nil, err
		}
		for _, t := range traces {
			if t.TraceID != "" && seen[t.TraceID] {
				continue
			}
			seen[t.TraceID] = true
			out = append(out, t)
		}
	}
	// Each name's traces are oldest first already (CTS's own order,
	// reversed, which also orders traces of the same millisecond); a stable
	// sort on time merges the names without disturbing that.
	slices.SortStableFunc(out, func(a, b Trace) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// traces reads every page of one trace name's traces on the endpoint.
func (c *Client) traces(ctx context.Context, endpointID, name string, from, to time.Time) ([]Trace, error) {
	// CTS excludes both ends of its window; widen it by a millisecond so
	// that an operation exactly at from or to is found.
	fromMs, toMs := max(from.UnixMilli()-1, 0), to.UnixMilli()+1
	req := &model.ListTracesRequest{
		TraceType:   model.GetListTracesRequestTraceTypeEnum().SYSTEM,
		ServiceType: ptr(ServiceType),
		ResourceId:  ptr(endpointID),
		TraceName:   ptr(name),
		From:        &fromMs,
		To:          &toMs,
		Limit:       ptr(c.pageSize),
	}
	var out []Trace
	for range c.maxPages {
		resp, err := c.listTraces(ctx, req)
		if err != nil {
			return nil, err
		}
		page := deref(resp.Traces)
		for _, t := range page {
			// CTS filtered already; a trace of another resource or
			// operation must still never be attributed to this change.
			if deref(t.ResourceId) != endpointID || !strings.EqualFold(deref(t.TraceName), name) {
				continue
			}
			out = append(out, fromSDK(t))
		}
		marker := ""
		if resp.MetaData != nil {
			marker = deref(resp.MetaData.Marker)
		}
		if marker == "" || len(page) == 0 || (req.Next != nil && marker == *req.Next) {
			slices.Reverse(out) // CTS answers newest first
			return out, nil
		}
		req.Next = ptr(marker)
	}
	return nil, &vpcep.Error{Op: op, Message: fmt.Sprintf(
		"more than %d pages of %s traces on endpoint %s between %s and %s",
		c.maxPages, name, endpointID, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))}
}

// listTraces makes one ListTraces call within the client's timeout. It is
// not retried: a lookup that fails is made again on the next pass.
func (c *Client) listTraces(ctx context.Context, req *model.ListTracesRequest) (*model.ListTracesResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.sdkClient(ctx).ListTraces(req)
	if err != nil {
		e := vpcep.WrapSDKError(op, err)
		e.Attempts = 1
		return nil, e
	}
	return resp, nil
}

// fromSDK maps an SDK trace to a Trace: the user's name, else its id.
func fromSDK(t model.Traces) Trace {
	out := Trace{
		TraceID:    deref(t.TraceId),
		TraceName:  deref(t.TraceName),
		ResourceID: deref(t.ResourceId),
		SourceIP:   deref(t.SourceIp),
		RequestID:  deref(t.RequestId),
	}
	if t.Time != nil {
		out.Time = time.UnixMilli(*t.Time).UTC()
	}
	if u := t.User; u != nil {
		out.User = deref(u.Name)
		if out.User == "" {
			out.User = deref(u.UserName)
		}
		if out.User == "" {
			out.User = deref(u.Id)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// String describes cfg without its AK/SK or token.
func (cfg Config) String() string {
	return fmt.Sprintf("cts.Config{Region: %q, Endpoint: %q, ProjectID: %q, Credential: %s}",
		cfg.Region, cfg.Endpoint, cfg.ProjectID, cfg.vpcepConfig())
}

// GoString is String, for fmt's %#v.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue keeps the AK/SK and token out of logs.
func (cfg Config) LogValue() slog.Value { return cfg.vpcepConfig().LogValue() }

// MarshalJSON keeps the AK/SK and token out of JSON.
func (cfg Config) MarshalJSON() ([]byte, error) { return cfg.vpcepConfig().MarshalJSON() }

// vpcepConfig is cfg's sign-in as a vpcep.Config, which prints without
// its secrets.
func (cfg Config) vpcepConfig() vpcep.Config {
	return vpcep.Config{Region: cfg.Region, Endpoint: cfg.Endpoint, ProjectID: cfg.ProjectID,
		AK: cfg.AK, SK: cfg.SK, Token: cfg.Token, TokenSource: cfg.TokenSource, Timeout: cfg.Timeout}
}

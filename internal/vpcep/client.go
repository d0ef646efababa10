package vpcep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	sdk "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/model"
)

// MaxPageSize is the largest page ListEndpoints may ask for.
const MaxPageSize = 1000

// DefaultTimeout bounds each upstream call when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config says where the upstream is and how to authenticate. Exactly one of
// AK/SK or Token is used; AK/SK wins when both are set.
type Config struct {
	Region    string // e.g. cn-north-4; picks the endpoint when Endpoint is empty
	Endpoint  string // overrides the region's endpoint, e.g. http://127.0.0.1:9090
	ProjectID string
	AK, SK    string
	Token     string        // IAM token, sent as X-Auth-Token
	Timeout   time.Duration // per call; DefaultTimeout when zero
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	UserAgent string
	// Retry shapes the retries of reads; see Retry for its defaults.
	Retry Retry
	// TokenSource, when set, supplies a changing X-Auth-Token (an IAM
	// user's RenewingCredential) and wins over AK/SK and Token.
	TokenSource TokenSource
}

// Client calls the VPCEP API. It is safe for concurrent use.
type Client struct {
	endpoint   string
	credential auth.ICredential
	timeout    time.Duration
	transport  http.RoundTripper
	userAgent  string
	retry      Retry
	observer   Observer
}

// New validates cfg and returns a Client. It never falls back to the SDK's
// credential chain (environment, profile file, ECS metadata): the console
// uses exactly the credential it was configured with.
func New(cfg Config) (*Client, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("vpcep: project id is required")
	}
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		if cfg.Region == "" {
			return nil, errors.New("vpcep: a region or an endpoint is required")
		}
		var err error
		if endpoint, err = VPCEPEndpoint(cfg.Region); err != nil {
			return nil, fmt.Errorf("vpcep: unknown region %q", cfg.Region)
		}
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "https://" + endpoint
	}

	cred, err := SDKCredential(cfg)
	if err != nil {
		return nil, fmt.Errorf("vpcep: %w", err)
	}

	c := &Client{
		endpoint:   endpoint,
		credential: cred,
		timeout:    cfg.Timeout,
		transport:  cfg.Transport,
		userAgent:  cfg.UserAgent,
		retry:      cfg.Retry.withDefaults(),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.transport == nil {
		c.transport = http.DefaultTransport
	}
	if cfg.TokenSource != nil {
		c.transport = RenewingTransport(c.transport, cfg.TokenSource)
	}
	if c.userAgent == "" {
		c.userAgent = "vpcep-console"
	}
	return c, nil
}

// Endpoint returns the base URL the client calls.
func (c *Client) Endpoint() string { return c.endpoint }

// WithObserver returns a copy of the client that tells o about every
// attempt; the copy shares the transport and its connections.
func (c *Client) WithObserver(o Observer) *Client {
	cp := *c
	cp.observer = o
	return &cp
}

// sdkClient builds an SDK client for one call. The SDK takes no context, so
// each call gets its own thin client whose transport carries the call's
// context (deadline, cancellation, recorder); the underlying transport and its
// connection pool are shared.
func (c *Client) sdkClient(ctx context.Context) *sdk.VpcepClient {
	return sdk.NewVpcepClient(SDKHTTPClient(c.endpoint, c.credential, c.timeout, c.userAgent, &callTransport{ctx: ctx, base: c.transport}))
}

// ListOptions filters and pages ListEndpoints. Zero values are not sent.
type ListOptions struct {
	ServiceName string // substring, case-insensitive
	VpcID       string
	ID          string
	Limit       int32
	Offset      int32
}

// Page is one page of ListEndpoints.
type Page struct {
	Endpoints  []Endpoint
	TotalCount int
}

// ListEndpoints returns one page of the project's endpoints, retrying as
// Config.Retry says within Config.Timeout.
func (c *Client) ListEndpoints(ctx context.Context, opts ListOptions) (Page, error) {
	const op = "list endpoints"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	req := &model.ListEndpointsRequest{}
	if opts.ServiceName != "" {
		req.EndpointServiceName = &opts.ServiceName
	}
	if opts.VpcID != "" {
		req.VpcId = &opts.VpcID
	}
	if opts.ID != "" {
		req.Id = &opts.ID
	}
	if opts.Limit > 0 {
		req.Limit = &opts.Limit
	}
	if opts.Offset > 0 {
		req.Offset = &opts.Offset
	}
	var resp *model.ListEndpointsResponse
	err := c.call(ctx, OpListEndpoints, op, c.retry.Attempts, keep(&resp,
		func(sc *sdk.VpcepClient) (*model.ListEndpointsResponse, error) { return sc.ListEndpoints(req) },
		func(r *model.ListEndpointsResponse) int { return r.HttpStatusCode }))
	if err != nil {
		return Page{}, err
	}
	var page Page
	if resp.Endpoints != nil {
		page.Endpoints = make([]Endpoint, 0, len(*resp.Endpoints))
		for _, raw := range *resp.Endpoints {
			ep, err := fromSDK(raw)
			if err != nil {
				return Page{}, &Error{Op: op, Status: resp.HttpStatusCode, Message: err.Error()}
			}
			page.Endpoints = append(page.Endpoints, ep)
		}
	}
	if resp.TotalCount != nil {
		page.TotalCount = int(*resp.TotalCount)
	}
	return page, nil
}

// ListAllEndpoints walks every page (MaxPageSize at a time) and returns all
// endpoints matching opts. It stops when total_count is reached or a page
// comes back empty, so a shrinking list cannot make it loop.
func (c *Client) ListAllEndpoints(ctx context.Context, opts ListOptions) ([]Endpoint, error) {
	next := c.EndpointPages(opts)
	var all []Endpoint
	for {
		page, err := next(ctx)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return all, nil
		}
		all = append(all, page...)
	}
}

// EndpointPages returns a function that reads the endpoints matching opts
// one page (MaxPageSize) at a time, in ListAllEndpoints' order, for a reader
// that need not hold them all at once: each call returns the next page, and
// an empty one once total_count is reached or a page came back empty.
func (c *Client) EndpointPages(opts ListOptions) func(ctx context.Context) ([]Endpoint, error) {
	opts.Limit, opts.Offset = MaxPageSize, 0
	done := false
	return func(ctx context.Context) ([]Endpoint, error) {
		if done {
			return nil, nil
		}
		page, err := c.ListEndpoints(ctx, opts)
		if err != nil {
			return nil, err
		}
		opts.Offset += int32(len(page.Endpoints))
		done = len(page.Endpoints) == 0 || int(opts.Offset) >= page.TotalCount
		return page.Endpoints, nil
	}
}

// GetEndpoint reads one endpoint with every field the API returns, retrying
// as Config.Retry says within Config.Timeout.
func (c *Client) GetEndpoint(ctx context.Context, id string) (*Endpoint, error) {
	const op = "read endpoint"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var resp *model.ListEndpointInfoDetailsResponse
	err := c.call(ctx, OpGetEndpoint, op, c.retry.Attempts, keep(&resp,
		func(sc *sdk.VpcepClient) (*model.ListEndpointInfoDetailsResponse, error) {
			return sc.ListEndpointInfoDetails(&model.ListEndpointInfoDetailsRequest{VpcEndpointId: id})
		},
		func(r *model.ListEndpointInfoDetailsResponse) int { return r.HttpStatusCode }))
	if err != nil {
		return nil, err
	}
	return endpointAnswer(op, resp, resp.HttpStatusCode)
}

// keep makes one attempt for Client.call out of an SDK request: send's
// answer is kept in *resp, and its status code (status reads it) reported.
func keep[R any](resp **R, send func(*sdk.VpcepClient) (*R, error), status func(*R) int) func(*sdk.VpcepClient) (int, error) {
	return func(sc *sdk.VpcepClient) (int, error) {
		r, err := send(sc)
		if err != nil {
			return 0, err
		}
		*resp = r
		return status(r), nil
	}
}

// endpointAnswer reads an endpoint from an SDK answer of status.
func endpointAnswer(op string, resp any, status int) (*Endpoint, error) {
	ep, err := fromSDK(resp)
	if err != nil {
		return nil, &Error{Op: op, Status: status, Message: err.Error()}
	}
	return &ep, nil
}

// UpdatePolicy replaces a gateway endpoint's policy_statement and returns the
// endpoint as the upstream answered. It makes exactly one attempt, whatever
// the failure: a PUT that got no answer may have taken effect, and only the
// caller (the change, with its audit entry) may decide to send it again.
func (c *Client) UpdatePolicy(ctx context.Context, id string, statements []PolicyStatement) (*Endpoint, error) {
	const op = "update endpoint policy"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	sdkStatements, err := toSDKStatements(statements)
	if err != nil {
		return nil, &Error{Op: op, Message: err.Error()}
	}
	contentType := "application/json;charset=UTF-8"
	var resp *model.UpdateEndpointPolicyResponse
	err = c.call(ctx, OpUpdatePolicy, op, 1, keep(&resp,
		func(sc *sdk.VpcepClient) (*model.UpdateEndpointPolicyResponse, error) {
			return sc.UpdateEndpointPolicy(&model.UpdateEndpointPolicyRequest{
				VpcEndpointId: id,
				ContentType:   &contentType,
				Body:          &model.UpdateEndpointPolicyRequestBody{PolicyStatement: &sdkStatements},
			})
		},
		func(r *model.UpdateEndpointPolicyResponse) int { return r.HttpStatusCode }))
	if err != nil {
		return nil, err
	}
	return endpointAnswer(op, resp, resp.HttpStatusCode)
}

// wrapError turns whatever the SDK returned into an *Error.
func wrapError(op string, err error) *Error {
	var se *sdkerr.ServiceResponseError
	if errors.As(err, &se) {
		e := &Error{Op: op, Status: se.StatusCode, Code: se.ErrorCode, Message: se.ErrorMessage, RequestID: se.RequestId}
		if e.Status < 400 {
			// A 2xx answer the SDK could not decode.
			e.Message = "the upstream's answer could not be read: " + e.Message
		}
		return e
	}
	return &Error{Op: op, Message: transportMessage(err), Err: err}
}

// fromSDK converts any of the SDK's endpoint response models into an
// Endpoint. The models share the API's JSON names, so one JSON round trip
// serves all three without a hand-written copy per model.
func fromSDK(v any) (Endpoint, error) {
	var ep Endpoint
	data, err := json.Marshal(v)
	if err != nil {
		return ep, fmt.Errorf("encode SDK endpoint: %w", err)
	}
	if err := json.Unmarshal(data, &ep); err != nil {
		return ep, fmt.Errorf("decode SDK endpoint: %w", err)
	}
	return ep, nil
}

// toSDKStatements converts statements for the SDK, always sending non-nil
// Action and Resource slices (nil would go out as null).
func toSDKStatements(statements []PolicyStatement) ([]model.PolicyStatement, error) {
	out := make([]model.PolicyStatement, 0, len(statements))
	for _, s := range statements {
		st := model.PolicyStatement{
			Action:   append([]string{}, s.Action...),
			Resource: append([]string{}, s.Resource...),
		}
		if err := st.Effect.UnmarshalJSON([]byte(fmt.Sprintf("%q", s.Effect))); err != nil {
			return nil, fmt.Errorf("effect %q: %w", s.Effect, err)
		}
		if hasJSONValue(s.Condition) {
			// The Condition goes out as the bytes given (compacted by the
			// SDK's encoder): decoded into interface{} its numbers would
			// become float64, and 12345678901234567890123 would be sent
			// as 1.2345678901234568e+22.
			if !json.Valid(s.Condition) {
				return nil, errors.New("condition: not valid JSON")
			}
			var cond any = json.RawMessage(append([]byte(nil), s.Condition...))
			st.Condition = &cond
		}
		if s.Sid != "" {
			sid := s.Sid
			st.Sid = &sid
		}
		out = append(out, st)
	}
	return out, nil
}

package vpcep

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
	iam "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iam/v3"
	iammodel "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iam/v3/model"
)

// IAMUser is an IAM user that signs in with a password to obtain tokens.
type IAMUser struct {
	Name     string
	Password string
	Domain   string // the account (domain) name the user belongs to
}

// IAMToken is a token IAM issued. Value is a secret: never log it.
type IAMToken struct {
	Value     string
	ProjectID string
	IssuedAt  time.Time // as IAM says
	ExpiresAt time.Time // as IAM says
}

// String describes the token without its value, for fmt's %v and %+v.
func (t IAMToken) String() string {
	return "IAM token for project " + t.ProjectID + " until " + t.ExpiresAt.Format(time.RFC3339)
}

// GoString describes the token without its value, for fmt's %#v.
func (t IAMToken) GoString() string { return t.String() }

// LogValue keeps the token's value out of logs.
func (t IAMToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// IAMClient calls IAM's token API through the SDK's IAM service. It is safe
// for concurrent use. Its requests are never recorded into a Recorder: they
// carry a password, and their answers a token.
type IAMClient struct {
	endpoint  string
	timeout   time.Duration
	transport http.RoundTripper
	userAgent string
}

// IAMConfig says where IAM is.
type IAMConfig struct {
	// Endpoint is IAM's base URL, e.g. https://iam.cn-north-4.myhuaweicloud.com
	// (projects.IAMEndpoint gives it from the SDK's region table).
	Endpoint  string
	Timeout   time.Duration     // per call; DefaultTimeout when zero
	Transport http.RoundTripper // http.DefaultTransport when nil
	UserAgent string
}

// NewIAMClient returns a client of IAM at cfg.Endpoint.
func NewIAMClient(cfg IAMConfig) (*IAMClient, error) {
	endpoint := strings.TrimRight(cfg.Endpoint, "/")
	if endpoint == "" {
		return nil, errors.New("vpcep: an IAM endpoint is required")
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		endpoint = "https://" + endpoint
	}
	c := &IAMClient{endpoint: endpoint, timeout: cfg.Timeout, transport: cfg.Transport, userAgent: cfg.UserAgent}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.transport == nil {
		c.transport = http.DefaultTransport
	}
	if c.userAgent == "" {
		c.userAgent = "vpcep-console"
	}
	return c, nil
}

// sdkClient builds an SDK IAM client for one call on ctx, authenticated by
// cred.
func (c *IAMClient) sdkClient(ctx context.Context, cred auth.ICredential) *iam.IamClient {
	return iam.NewIamClient(SDKHTTPClient(c.endpoint, cred, c.timeout, c.userAgent, &contextTransport{ctx: ctx, base: c.transport}))
}

// CreateProjectToken obtains a token scoped to projectID for user
// (KeystoneCreateUserTokenByPassword). Its errors are *Error values that
// never hold the password.
func (c *IAMClient) CreateProjectToken(ctx context.Context, user IAMUser, projectID string) (IAMToken, error) {
	const op = "obtain IAM token"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	noCatalog := "true"
	pid := projectID
	req := &iammodel.KeystoneCreateUserTokenByPasswordRequest{
		Nocatalog: &noCatalog,
		Body: &iammodel.KeystoneCreateUserTokenByPasswordRequestBody{Auth: &iammodel.PwdAuth{
			Identity: &iammodel.PwdIdentity{
				Methods: []iammodel.PwdIdentityMethods{iammodel.GetPwdIdentityMethodsEnum().PASSWORD},
				Password: &iammodel.PwdPassword{User: &iammodel.PwdPasswordUser{
					Name: user.Name, Password: user.Password,
					Domain: &iammodel.PwdPasswordUserDomain{Name: user.Domain},
				}},
			},
			Scope: &iammodel.AuthScope{Project: &iammodel.AuthScopeProject{Id: &pid}},
		}},
	}
	// The password is the credential: the request carries no other.
	resp, err := c.sdkClient(ctx, anonymousCredential{}).KeystoneCreateUserTokenByPassword(req)
	if err != nil {
		return IAMToken{}, scrub(iamError(op, err), user.Password)
	}
	return tokenAnswer(op, resp.XSubjectToken, resp.Token, resp.HttpStatusCode)
}

// ValidateToken asks IAM about token (KeystoneValidateToken, the token
// authenticating itself) and returns it with its expiry.
func (c *IAMClient) ValidateToken(ctx context.Context, token string) (IAMToken, error) {
	const op = "validate IAM token"
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	noCatalog := "true"
	resp, err := c.sdkClient(ctx, &tokenCredential{token: token}).
		KeystoneValidateToken(&iammodel.KeystoneValidateTokenRequest{XSubjectToken: token, Nocatalog: &noCatalog})
	if err != nil {
		return IAMToken{}, scrub(iamError(op, err), token)
	}
	return tokenAnswer(op, &token, resp.Token, resp.HttpStatusCode)
}

// tokenAnswer reads a token from IAM's answer: the value from the
// X-Subject-Token header, the rest from the body.
func tokenAnswer(op string, value *string, body *iammodel.TokenResult, status int) (IAMToken, error) {
	if value == nil || *value == "" || body == nil {
		return IAMToken{}, &Error{Op: op, Status: status, Message: "IAM's answer has no token"}
	}
	t := IAMToken{Value: *value}
	var err error
	if t.ExpiresAt, err = parseIAMTime(body.ExpiresAt); err != nil {
		return IAMToken{}, &Error{Op: op, Status: status, Message: "IAM's answer has no readable expires_at: " + err.Error()}
	}
	t.IssuedAt, _ = parseIAMTime(body.IssuedAt) // zero when absent: the expiry is what matters
	if body.Project != nil {
		t.ProjectID = body.Project.Id
	}
	return t, nil
}

// parseIAMTime reads IAM's timestamps (2006-01-02T15:04:05.000000Z).
func parseIAMTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// iamError is wrapError for IAM, which answers errors in Keystone's shape
// ({"error":{"code":401,"message":...}}, a number for the code, which the
// SDK does not read): its message is taken from there.
func iamError(op string, err error) *Error {
	e := wrapError(op, err)
	if e.Status == 0 || e.Code != "" {
		return e
	}
	var keystone struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(e.Message)), &keystone) == nil && keystone.Error.Message != "" {
		e.Message = keystone.Error.Message
	}
	return e
}

// scrub removes secret from e's message, should an answer ever echo it.
func scrub(e *Error, secret string) *Error {
	if secret != "" && strings.Contains(e.Message, secret) {
		e.Message = strings.ReplaceAll(e.Message, secret, redacted)
	}
	return e
}

// anonymousCredential adds nothing: IAM's password token call is
// authenticated by the password in its body.
type anonymousCredential struct{}

func (anonymousCredential) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return anonymousCredential{}, nil
}

func (anonymousCredential) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	return req, nil
}

// contextTransport binds a call's context to the SDK's requests (the SDK
// has none), without recording them.
type contextTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t *contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// TokenExpiry is what is known of when a fixed token expires.
type TokenExpiry struct {
	Known     bool
	ExpiresAt time.Time
}

// ExpiresWithin reports whether the token is known to expire within d of
// now (or to have expired). An unknown expiry never does.
func (e TokenExpiry) ExpiresWithin(now time.Time, d time.Duration) bool {
	return e.Known && !now.Add(d).Before(e.ExpiresAt)
}

// FixedTokenWarning is how long before a fixed token's expiry the console
// warns that it will stop working.
const FixedTokenWarning = time.Hour

// FixedTokenExpiry asks IAM when a fixed token (VPCEP_AUTH_TOKEN, a
// project's credentials.token) expires. When IAM cannot say (unreachable,
// no IAM endpoint, or the token may not validate itself), the expiry is
// unknown and the error says why.
func FixedTokenExpiry(ctx context.Context, iamClient *IAMClient, token string) (TokenExpiry, error) {
	if iamClient == nil {
		return TokenExpiry{}, errors.New("vpcep: no IAM endpoint to ask for the token's expiry")
	}
	t, err := iamClient.ValidateToken(ctx, token)
	if err != nil {
		return TokenExpiry{}, err
	}
	return TokenExpiry{Known: true, ExpiresAt: t.ExpiresAt}, nil
}

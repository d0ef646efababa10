package vpcep

import (
	"context"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// tokenCredential authenticates with an IAM token in X-Auth-Token, the header
// the VPCEP API documents. The SDK ships no such credential. With a
// TokenSource the token changes: renewingTransport, which knows the call's
// context, adds it to each request instead.
type tokenCredential struct {
	projectID string // "" for IAM's calls, which take no project
	token     string
	source    TokenSource
}

var _ auth.ICredential = (*tokenCredential)(nil)

// ProcessAuthParams has nothing to discover: the project id is configured.
func (c *tokenCredential) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return c, nil
}

// ProcessAuthRequest fills {project_id} and adds the token, as the SDK's AK/SK
// credential fills {project_id} and adds its signature.
func (c *tokenCredential) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	b := req.Builder()
	if c.projectID != "" {
		b = b.AddAutoFilledPathParam("project_id", c.projectID).AddHeaderParam("X-Project-Id", c.projectID)
	}
	token := c.token
	if c.source != nil {
		// renewingTransport puts the current token in its place; the
		// placeholder shows a recorded exchange (redacted, as any token)
		// that one was sent.
		token = tokenPlaceholder
	}
	return b.AddHeaderParam("X-Auth-Token", token).Build(), nil
}

// tokenPlaceholder stands for a TokenSource's token until the transport
// sets it.
const tokenPlaceholder = "[TOKEN]"

// TokenSource supplies the X-Auth-Token of a client whose token changes (an
// IAM user's, renewed before it expires). It must be safe for concurrent use.
type TokenSource interface {
	// Token returns the token to send now, waiting (within ctx) for one
	// only when none is usable.
	Token(ctx context.Context) (string, error)
	// Rejected is told that the upstream refused token as invalid (HTTP
	// 401) and returns the token to try once more with: a new one, or
	// the one another caller already renewed to.
	Rejected(ctx context.Context, token string) (string, error)
	// Accepted is told that the upstream took token (answered other than
	// 401).
	Accepted(token string)
}

package vpcep

import (
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/request"
)

// tokenCredential authenticates with an IAM token in X-Auth-Token, the header
// the VPCEP API documents. The SDK ships no such credential.
type tokenCredential struct {
	projectID string
	token     string
}

var _ auth.ICredential = (*tokenCredential)(nil)

// ProcessAuthParams has nothing to discover: the project id is configured.
func (c *tokenCredential) ProcessAuthParams(*impl.DefaultHttpClient, string) (auth.ICredential, error) {
	return c, nil
}

// ProcessAuthRequest fills {project_id} and adds the token, as the SDK's AK/SK
// credential fills {project_id} and adds its signature.
func (c *tokenCredential) ProcessAuthRequest(_ *impl.DefaultHttpClient, req *request.DefaultHttpRequest) (*request.DefaultHttpRequest, error) {
	return req.Builder().
		AddAutoFilledPathParam("project_id", c.projectID).
		AddHeaderParam("X-Project-Id", c.projectID).
		AddHeaderParam("X-Auth-Token", c.token).
		Build(), nil
}

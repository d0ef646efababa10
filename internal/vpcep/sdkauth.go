package vpcep

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core"
	sdkconfig "github.com/huaweicloud/huaweicloud-sdk-go-v3/core/config"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/impl"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
)

// The helpers here let another Huawei Cloud service's client (the Cloud
// Trace Service's, internal/cts) sign in, carry its context and report its
// failures exactly as this package's Client does.

// SDKCredential is the SDK credential for cfg's TokenSource, AK/SK pair or
// token, the one switch New and another service's client (internal/cts)
// share: a TokenSource wins, then AK/SK; both halves of a pair are
// required; the SDK's own credential chain (environment, profile, ECS
// metadata) is never used. With a TokenSource the credential sends a
// placeholder: the client's transport must be RenewingTransport(base,
// cfg.TokenSource), which sets the token (without it, every call is
// refused, never sent with a stale token).
func SDKCredential(cfg Config) (auth.ICredential, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("project id is required")
	}
	switch {
	case cfg.TokenSource != nil:
		return &tokenCredential{projectID: cfg.ProjectID, source: cfg.TokenSource}, nil
	case cfg.AK != "" || cfg.SK != "":
		if cfg.AK == "" || cfg.SK == "" {
			return nil, errors.New("both AK and SK are required for AK/SK signing")
		}
		cred, err := basic.NewCredentialsBuilder().
			WithAk(cfg.AK).WithSk(cfg.SK).WithProjectId(cfg.ProjectID).SafeBuild()
		if err != nil {
			return nil, fmt.Errorf("build AK/SK credential: %w", err)
		}
		return cred, nil
	case cfg.Token != "":
		return &tokenCredential{projectID: cfg.ProjectID, token: cfg.Token}, nil
	default:
		return nil, errors.New("an AK/SK pair or a token is required")
	}
}

// CallTransport is the SDK's RoundTripper for one call made with ctx: the
// request carries ctx (deadline, cancellation) and, when ctx has a
// Recorder (WithRecorder), the exchange is recorded with its credentials
// redacted. base nil means http.DefaultTransport.
func CallTransport(ctx context.Context, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &callTransport{ctx: ctx, base: base}
}

// SDKHTTPClient is the SDK's HTTP client for one call to endpoint, signed
// by cred, through rt (which carries the call's context: CallTransport, or
// RenewingTransport over it). The SDK takes no context, so each call gets
// its own thin client; rt's underlying transport and its connections are
// shared. Every service's client here (VPCEP, IAM, CTS) is built by it.
func SDKHTTPClient(endpoint string, cred auth.ICredential, timeout time.Duration, userAgent string, rt http.RoundTripper) *core.HcHttpClient {
	cfg := sdkconfig.DefaultHttpConfig().WithTimeout(timeout).WithUserAgent(userAgent).WithHttpRoundTripper(rt)
	return core.NewHcHttpClient(impl.NewDefaultHttpClient(cfg)).WithEndpoints([]string{endpoint}).WithCredential(cred)
}

// WrapSDKError turns what an SDK call returned into an *Error for op: the
// status, code, message and request id of an error answer, or why no
// answer arrived.
func WrapSDKError(op string, err error) *Error { return wrapError(op, err) }

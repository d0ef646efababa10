package vpcep

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

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

// The types below hold secrets (a password, AK/SK, a token): each prints
// and logs without them, whatever the verb (%v, %+v, %#v) or slog handler.

// String is the user as name@domain, without the password.
func (u IAMUser) String() string { return u.Name + "@" + u.Domain }

// GoString is String, for fmt's %#v.
func (u IAMUser) GoString() string { return "vpcep.IAMUser(" + u.String() + ")" }

// LogValue keeps the password out of logs.
func (u IAMUser) LogValue() slog.Value { return slog.StringValue(u.String()) }

// credentialKind names cfg's credential as SDKCredential picks it.
func (cfg Config) credentialKind() string {
	switch {
	case cfg.TokenSource != nil:
		return "token source"
	case cfg.AK != "" || cfg.SK != "":
		return "AK/SK"
	case cfg.Token != "":
		return "token"
	default:
		return "none"
	}
}

// String describes cfg without its AK/SK or token.
func (cfg Config) String() string {
	return fmt.Sprintf("vpcep.Config{Region: %q, Endpoint: %q, ProjectID: %q, Credential: %s, Timeout: %s}",
		cfg.Region, cfg.Endpoint, cfg.ProjectID, cfg.credentialKind(), cfg.Timeout)
}

// GoString is String, for fmt's %#v.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue keeps the AK/SK and token out of logs.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("region", cfg.Region), slog.String("endpoint", cfg.Endpoint),
		slog.String("project_id", cfg.ProjectID), slog.String("credential", cfg.credentialKind()),
	)
}

// String describes cfg without the user's password.
func (cfg RenewingConfig) String() string {
	return fmt.Sprintf("vpcep.RenewingConfig{User: %s, ProjectID: %q}", cfg.User, cfg.ProjectID)
}

// GoString is String, for fmt's %#v.
func (cfg RenewingConfig) GoString() string { return cfg.String() }

// LogValue keeps the user's password out of logs.
func (cfg RenewingConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", cfg.User.String()), slog.String("project_id", cfg.ProjectID))
}

// String describes the credential by its status, without its token or
// password.
func (c *RenewingCredential) String() string {
	s := c.Status()
	out := fmt.Sprintf("IAM token of %s for project %s: %s, expires %s, %d obtained",
		c.cfg.User, c.cfg.ProjectID, s.State, s.ExpiresAt.Format(time.RFC3339), s.Renewals)
	if s.LastError != nil {
		out += ", last error: " + s.LastError.Error()
	}
	return out
}

// GoString is String, for fmt's %#v.
func (c *RenewingCredential) GoString() string { return c.String() }

// LogValue logs the credential's Status, never its token or password.
func (c *RenewingCredential) LogValue() slog.Value {
	s := c.Status()
	attrs := []slog.Attr{
		slog.String("user", c.cfg.User.String()), slog.String("project_id", c.cfg.ProjectID),
		slog.String("state", string(s.State)), slog.Time("expires_at", s.ExpiresAt),
		slog.Time("renew_at", s.RenewAt), slog.Int("renewals", s.Renewals),
	}
	if s.LastError != nil {
		attrs = append(attrs, slog.String("last_error", s.LastError.Error()), slog.Time("failed_at", s.FailedAt))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON keeps the password out of JSON (a log handler's, an
// encoder's): the user as name@domain.
func (u IAMUser) MarshalJSON() ([]byte, error) { return json.Marshal(u.String()) }

// MarshalJSON keeps the AK/SK and token out of JSON, as LogValue does from
// logs.
func (cfg Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"region": cfg.Region, "endpoint": cfg.Endpoint, "project_id": cfg.ProjectID, "credential": cfg.credentialKind(),
	})
}

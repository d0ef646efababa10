package projects

import (
	"fmt"
	"log/slog"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is how the console reaches one project: its client's
// configuration and, by kind of credentials, what keeps them or tells of
// them.
type Upstream struct {
	Config vpcep.Config
	Kind   CredentialKind // how Config signs in
	// IAM is the project's IAM client, when its IAM endpoint is known: it
	// obtains CredentialIAMUser's tokens and tells a fixed token's expiry
	// (vpcep.FixedTokenExpiry).
	IAM *vpcep.IAMClient
	// Renewing is the token of CredentialIAMUser, nil otherwise: its
	// ExpiresAt and Status are for /readyz and the page banner.
	Renewing *vpcep.RenewingCredential
}

// Upstream builds p's client configuration over base, which gives what is
// not per project (Timeout, Transport, UserAgent, Retry); IAM calls share
// base's Timeout, Transport and UserAgent. logger receives the renewals'
// records (which hold no secret); slog.Default() when nil.
func (p *Project) Upstream(base vpcep.Config, logger *slog.Logger) (*Upstream, error) {
	cfg := base
	cfg.Region, cfg.Endpoint, cfg.ProjectID = p.Region, p.Endpoint, p.ProjectID
	cfg.AK, cfg.SK, cfg.Token, cfg.TokenSource = "", "", "", nil
	if logger == nil {
		logger = slog.Default()
	}
	u := &Upstream{}
	if p.IAMEndpoint != "" {
		iam, err := vpcep.NewIAMClient(vpcep.IAMConfig{
			Endpoint: p.IAMEndpoint, Timeout: base.Timeout, Transport: base.Transport, UserAgent: base.UserAgent,
		})
		if err != nil {
			return nil, fmt.Errorf("project %q: %w", p.Name, err)
		}
		u.IAM = iam
	}
	switch c := p.Credentials; c.Kind {
	case CredentialAKSK:
		cfg.AK, cfg.SK = c.AK.Reveal(), c.SK.Reveal()
	case CredentialToken:
		cfg.Token = c.Token.Reveal()
	case CredentialIAMUser:
		if u.IAM == nil {
			return nil, fmt.Errorf("project %q: an IAM user needs an IAM endpoint", p.Name)
		}
		cred, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{
			IAM: u.IAM, ProjectID: p.ProjectID, Logger: logger.With("project", p.Name),
			User: vpcep.IAMUser{Name: c.IAMUser.Name, Password: c.IAMUser.Password.Reveal(), Domain: c.IAMUser.Domain},
		})
		if err != nil {
			return nil, fmt.Errorf("project %q: %w", p.Name, err)
		}
		cfg.TokenSource, u.Renewing = cred, cred
	default:
		return nil, fmt.Errorf("project %q: no credentials", p.Name)
	}
	u.Config, u.Kind = cfg, p.Credentials.Kind
	return u, nil
}

// String describes u without its secrets (vpcep.Config and the renewing
// credential print without theirs).
func (u Upstream) String() string {
	if u.Renewing != nil {
		return fmt.Sprintf("projects.Upstream{Config: %s, Renewing: %s}", u.Config, u.Renewing)
	}
	return fmt.Sprintf("projects.Upstream{Config: %s}", u.Config)
}

// GoString is String, for fmt's %#v.
func (u Upstream) GoString() string { return u.String() }

// LogValue keeps the secrets out of logs.
func (u Upstream) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Any("config", u.Config)}
	if u.Renewing != nil {
		attrs = append(attrs, slog.Any("renewing", u.Renewing))
	}
	return slog.GroupValue(attrs...)
}

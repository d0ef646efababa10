package projects

import (
	"strings"

	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// DefaultName is the name of the one project FromEnv configures.
const DefaultName = "default"

// FromEnv turns the single-project environment variables (VPCEP_PROJECT_ID,
// VPCEP_REGION, VPCEP_ENDPOINT, HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK or
// VPCEP_AUTH_TOKEN, and CTS_ENDPOINT) into a one-project Config named
// DefaultName, so that a console configured before projects existed keeps
// working. They are read and checked by internal/config, the one reader of
// the environment, so both say the same of the same variables.
func FromEnv(getenv func(string) string) (*Config, error) {
	c, err := config.LoadUpstream(getenv)
	if err != nil {
		return nil, err
	}
	return FromConfig(c), nil
}

// FromConfig is the one project of a checked single-project configuration.
// AK/SK wins over a token when both are set, as in vpcep.New.
func FromConfig(c config.Config) *Config {
	p := Project{
		Name: DefaultName, Region: c.Region, ProjectID: c.ProjectID,
		Endpoint:    strings.TrimRight(c.Endpoint, "/"),
		CTSEndpoint: strings.TrimRight(c.CTSEndpoint, "/"),
	}
	if p.Endpoint == "" {
		p.Endpoint, _ = vpcep.VPCEPEndpoint(c.Region) // config checked that the SDK knows it
	}
	if c.Region != "" {
		p.IAMEndpoint, _ = vpcep.IAMEndpoint(c.Region) // for validating a fixed token, when known
	}
	switch {
	case c.AK != "":
		p.Credentials = Credentials{Kind: CredentialAKSK, AK: Secret(c.AK), SK: Secret(c.SK)}
	case c.Token != "":
		p.Credentials = Credentials{Kind: CredentialToken, Token: Secret(c.Token)}
	}
	return &Config{Projects: []Project{p}}
}

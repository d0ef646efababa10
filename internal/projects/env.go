package projects

import (
	"strings"

	"github.com/vpcep-console/vpcep-console/internal/config"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// DefaultName is the name of the one project FromConfig configures.
const DefaultName = "default"

// FromConfig is the one project of a checked single-project configuration
// (VPCEP_PROJECT_ID, VPCEP_REGION, VPCEP_ENDPOINT, HUAWEICLOUD_SDK_AK and
// HUAWEICLOUD_SDK_SK or VPCEP_AUTH_TOKEN, and CTS_ENDPOINT, read and checked
// by internal/config), named DefaultName, so that a console configured
// before projects existed keeps working. AK/SK wins over a token when both
// are set, as in vpcep.New.
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

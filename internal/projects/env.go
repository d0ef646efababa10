package projects

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultName is the name of the one project FromEnv configures.
const DefaultName = "default"

// FromEnv turns the single-project environment variables (VPCEP_PROJECT_ID,
// VPCEP_REGION, VPCEP_ENDPOINT, HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK or
// VPCEP_AUTH_TOKEN, and CTS_ENDPOINT) into a one-project Config named
// DefaultName, so that a console configured before projects existed keeps
// working. It checks what internal/config checks, naming the variable at
// fault; AK/SK wins over a token when both are set, as in vpcep.New.
func FromEnv(getenv func(string) string) (*Config, error) {
	p := Project{
		Name:        DefaultName,
		Region:      strings.TrimSpace(getenv("VPCEP_REGION")),
		ProjectID:   strings.TrimSpace(getenv("VPCEP_PROJECT_ID")),
		Endpoint:    strings.TrimRight(strings.TrimSpace(getenv("VPCEP_ENDPOINT")), "/"),
		CTSEndpoint: strings.TrimRight(strings.TrimSpace(getenv("CTS_ENDPOINT")), "/"),
	}
	var errs []error
	if p.ProjectID == "" {
		errs = append(errs, errors.New("VPCEP_PROJECT_ID is required unless --demo"))
	}
	switch {
	case p.Endpoint != "":
		u, err := url.Parse(p.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VPCEP_ENDPOINT: %q is not an http(s) URL", p.Endpoint))
		}
	case p.Region == "":
		errs = append(errs, errors.New("VPCEP_REGION (e.g. cn-north-4) or VPCEP_ENDPOINT is required unless --demo"))
	default:
		ep, err := VPCEPEndpoint(p.Region)
		if err != nil {
			errs = append(errs, fmt.Errorf("VPCEP_REGION: unknown region %q", p.Region))
		}
		p.Endpoint = ep
	}
	if p.Region != "" {
		p.IAMEndpoint, _ = IAMEndpoint(p.Region) // for validating a fixed token, when known
	}
	ak, sk, token := getenv("HUAWEICLOUD_SDK_AK"), getenv("HUAWEICLOUD_SDK_SK"), getenv("VPCEP_AUTH_TOKEN")
	switch {
	case ak != "" && sk == "":
		errs = append(errs, errors.New("HUAWEICLOUD_SDK_SK is required when HUAWEICLOUD_SDK_AK is set"))
	case sk != "" && ak == "":
		errs = append(errs, errors.New("HUAWEICLOUD_SDK_AK is required when HUAWEICLOUD_SDK_SK is set"))
	case ak != "":
		p.Credentials = Credentials{Kind: CredentialAKSK, AK: Secret(ak), SK: Secret(sk)}
	case token != "":
		p.Credentials = Credentials{Kind: CredentialToken, Token: Secret(token)}
	default:
		errs = append(errs, errors.New("credentials are required unless --demo: set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, or VPCEP_AUTH_TOKEN"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Config{Projects: []Project{p}}, nil
}

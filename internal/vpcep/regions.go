package vpcep

import (
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/region"
	ctsregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/cts/v3/region"
	iamregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/iam/v3/region"
	vpcepregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/region"
)

// VPCEPEndpoint is the VPCEP API's base URL in region, from the official
// SDK's region table (which also has the regions outside myhuaweicloud.com,
// e.g. eu-west-101 at myhuaweicloud.eu). The SDK lets
// HUAWEICLOUD_SDK_REGION_VPCEP_<REGION> and its regions file override an
// entry, as for any SDK user. An unknown region is an error.
func VPCEPEndpoint(regionID string) (string, error) {
	return sdkEndpoint("VPCEP", regionID, vpcepregion.SafeValueOf)
}

// IAMEndpoint is IAM's base URL in region, from the SDK's IAM region table,
// as VPCEPEndpoint.
func IAMEndpoint(regionID string) (string, error) {
	return sdkEndpoint("IAM", regionID, iamregion.SafeValueOf)
}

// CTSEndpoint is Cloud Trace Service's base URL in region, from the SDK's
// CTS region table, as VPCEPEndpoint. A region VPCEP's table knows may be
// missing from it.
func CTSEndpoint(regionID string) (string, error) {
	return sdkEndpoint("CTS", regionID, ctsregion.SafeValueOf)
}

// sdkEndpoint looks regionID up with a service's SafeValueOf, which turns
// the SDK's panic on an unknown region (ValueOf panics in v0.1.207) into an
// error.
func sdkEndpoint(service, regionID string, lookup func(string) (*region.Region, error)) (string, error) {
	if regionID == "" {
		return "", fmt.Errorf("no region given for %s", service)
	}
	reg, err := lookup(regionID)
	if err != nil || reg == nil || len(reg.Endpoints) == 0 || reg.Endpoints[0] == "" {
		return "", fmt.Errorf("the SDK knows no %s endpoint for region %q", service, regionID)
	}
	return reg.Endpoints[0], nil
}

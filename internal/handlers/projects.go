package handlers

import (
	"time"

	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/drift"
	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
)

// Project is one Huawei Cloud project the console serves, and the parts
// that serve it. Its pages and API live under /p/{Name}/.
type Project struct {
	Name      string // URL-safe; the key of per-project role grants
	Region    string
	ProjectID string
	Store     *store.Store // the project's inventory
	Upstream  Upstream
	Applier   *change.Applier
	Drift     *drift.Detector // nil: no detection
	Refresher *inventory.Refresher
	// Credential tells how the project's credentials stand, for the page
	// banner and /readyz; nil when there is nothing to tell (AK/SK).
	Credential func(now time.Time) CredentialNotice
}

// CredentialNotice is how a project's credentials stand. It holds no secret.
type CredentialNotice struct {
	// Warning is in plain words, "" when all is well: a fixed token about
	// to expire, or a renewal that failed.
	Warning   string
	ExpiresAt time.Time // of the token in use; zero when unknown or not a token
}

package vpcep_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// printedAndLogged is v as fmt's verbs and slog's text and JSON handlers
// render it.
func printedAndLogged(v any) string {
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n", v, v, v, v)
	slog.New(slog.NewTextHandler(&out, nil)).Info("value", "v", v)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("value", "v", v)
	return out.String()
}

// TestSecretsNeverPrinted: the types that hold a password, AK/SK or token
// print and log without them.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const ak, sk, token = "AKSECRETAKSECRET0001", "SKsecret-never-printed-0123456789", "MIItoken-never-printed-0123456789"
	f := newIAMFixture(t, time.Hour)
	cred := f.credential(t, iamUser, nil)
	tok, err := cred.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rcfg := vpcep.RenewingConfig{IAM: f.iam, User: iamUser, ProjectID: simtest.ProjectID}
	values := map[string]any{
		"IAMUser":                   iamUser,
		"*IAMUser":                  &iamUser,
		"Config AK/SK":              vpcep.Config{ProjectID: simtest.ProjectID, AK: ak, SK: sk},
		"Config token":              vpcep.Config{ProjectID: simtest.ProjectID, Token: token},
		"Config source":             vpcep.Config{ProjectID: simtest.ProjectID, TokenSource: cred},
		"RenewingConfig":            rcfg,
		"*RenewingCredential":       cred,
		"a struct holding a Config": struct{ C vpcep.Config }{vpcep.Config{AK: ak, SK: sk, Token: token}},
		"a struct holding a user":   struct{ U vpcep.IAMUser }{iamUser},
	}
	for name, v := range values {
		out := printedAndLogged(v)
		for _, secret := range []string{iamPassword, ak, sk, token, tok} {
			if strings.Contains(out, secret) {
				t.Errorf("%s prints or logs a secret:\n%s", name, out)
			}
		}
	}
	if out := printedAndLogged(iamUser); !strings.Contains(out, "console@acme") {
		t.Errorf("IAMUser prints as\n%s\nwant console@acme", out)
	}
	if out := printedAndLogged(cred); !strings.Contains(out, "valid") {
		t.Errorf("the credential logs as\n%s\nwant its state", out)
	}
}

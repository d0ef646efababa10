package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

var simUser = vpcepsim.IAMUser{Name: "console", Password: "not-a-real-password-1", Domain: "acme"}

// iamSim serves an IAM whose tokens live lifetime, and a client of it.
func iamSim(t *testing.T, lifetime time.Duration) (*simtest.Upstream, *vpcep.IAMClient) {
	t.Helper()
	sim := simtest.Start(t, simtest.Options{IAM: vpcepsim.IAMOptions{Users: []vpcepsim.IAMUser{simUser}, TokenLifetime: lifetime}})
	iam, err := vpcep.NewIAMClient(vpcep.IAMConfig{Endpoint: sim.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sim, iam
}

func TestFixedTokenWarnsAnHourBeforeItExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, iam := iamSim(t, 90*time.Minute)
	tok, err := iam.CreateProjectToken(ctx, vpcep.IAMUser{Name: simUser.Name, Password: simUser.Password, Domain: simUser.Domain}, sim.ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := &fixedToken{iam: iam, token: tok.Value, logger: slog.New(slog.NewTextHandler(&logs, nil))}
	now := time.Now()
	if n := f.notice(now); n != (handlers.CredentialNotice{}) {
		t.Errorf("before IAM was asked, the notice is %+v, want none", n)
	}
	// The warning is due in 30 minutes: IAM is asked again then, not in
	// an hour.
	if wait := f.check(ctx, func() time.Time { return now }); wait >= fixedTokenCheck || wait <= 0 {
		t.Errorf("next check in %v, want before the warning is due", wait)
	}
	if n := f.notice(now); n.Warning != "" || !n.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Errorf("90 minutes before expiry, the notice is %+v, want no warning and the expiry", n)
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a warning 90 minutes before expiry: %s", logs.String())
	}

	soon := tok.ExpiresAt.Add(-30 * time.Minute)
	if n := f.notice(soon); !strings.Contains(n.Warning, "expires at") {
		t.Errorf("30 minutes before expiry, the notice is %+v, want a warning", n)
	}
	f.check(ctx, func() time.Time { return soon })
	if !strings.Contains(logs.String(), "fixed IAM token expires within the hour") {
		t.Errorf("no warning logged 30 minutes before expiry: %s", logs.String())
	}
	if n := f.notice(tok.ExpiresAt.Add(time.Minute)); !strings.Contains(n.Warning, "expired at") {
		t.Errorf("after expiry, the notice is %+v, want it said", n)
	}
	if strings.Contains(logs.String(), tok.Value) {
		t.Fatal("the token is in the log")
	}
}

func TestRenewingNoticeSaysWhyARenewalFailed(t *testing.T) {
	t.Parallel()
	sim, iam := iamSim(t, time.Hour)
	cred, err := vpcep.NewRenewingCredential(vpcep.RenewingConfig{IAM: iam, ProjectID: sim.ProjectID,
		User:   vpcep.IAMUser{Name: simUser.Name, Password: "the-wrong-password", Domain: simUser.Domain},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	notice := renewingNotice(cred)
	if n := notice(time.Now()); n.Warning != "" {
		t.Errorf("before any token, the notice is %+v", n)
	}
	if _, err := cred.Token(context.Background()); err == nil {
		t.Fatal("a token for the wrong password")
	}
	n := notice(time.Now())
	for _, want := range []string{"could not be renewed", "401", "request id"} {
		if !strings.Contains(n.Warning, want) {
			t.Errorf("the notice %q does not say %q", n.Warning, want)
		}
	}
	if strings.Contains(n.Warning, "the-wrong-password") {
		t.Fatal("the password is in the notice")
	}
}

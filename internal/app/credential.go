package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/handlers"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// noticeTime is how a token's expiry is written in a notice.
const noticeTime = "2006-01-02 15:04 MST"

// renewingNotice tells how an IAM user's renewing token stands: a warning
// once a renewal has failed (with IAM's code, message and request id) or no
// usable token is left.
func renewingNotice(r *vpcep.RenewingCredential) func(time.Time) handlers.CredentialNotice {
	return func(time.Time) handlers.CredentialNotice {
		s := r.Status()
		n := handlers.CredentialNotice{ExpiresAt: s.ExpiresAt}
		switch s.State {
		case vpcep.StateFailing:
			n.Warning = "The IAM token could not be renewed"
			if s.LastError != nil {
				n.Warning += ": " + s.LastError.Error()
			}
			if !s.ExpiresAt.IsZero() {
				n.Warning += fmt.Sprintf(". The current token expires at %s.", s.ExpiresAt.UTC().Format(noticeTime))
			}
		case vpcep.StateExpired:
			n.Warning = "There is no valid IAM token for this project: the last one expired or was refused, and none has been obtained since."
		}
		return n
	}
}

// fixedTokenCheck is how often IAM is asked again when a fixed token
// expires: the token may have been replaced by one read from the same
// place at a restart, but IAM may also revoke it.
const fixedTokenCheck = time.Hour

// fixedToken watches when a fixed token (VPCEP_AUTH_TOKEN, a project's
// credentials.token) expires, so that the console warns an hour before it
// stops working. It never logs the token.
type fixedToken struct {
	iam    *vpcep.IAMClient // nil: no IAM endpoint, the expiry stays unknown
	token  string
	logger *slog.Logger

	mu     sync.Mutex
	expiry vpcep.TokenExpiry
}

// run asks IAM for the token's expiry now, then hourly, and once more when
// the warning is due, until ctx ends.
func (f *fixedToken) run(ctx context.Context, now func() time.Time) {
	if f.iam == nil {
		f.logger.Info("fixed IAM token: no IAM endpoint to ask when it expires; no warning can be given before it does")
		return
	}
	for {
		wait := f.check(ctx, now)
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// check asks IAM for the token's expiry, logs a warning when it is within
// vpcep.FixedTokenWarning, and returns when to ask again: in an hour, or
// when the warning is due if that is sooner.
func (f *fixedToken) check(ctx context.Context, now func() time.Time) time.Duration {
	e, err := vpcep.FixedTokenExpiry(ctx, f.iam, f.token)
	if ctx.Err() != nil {
		return fixedTokenCheck
	}
	f.mu.Lock()
	if err == nil {
		f.expiry = e
	} else {
		e = f.expiry // a token's expiry does not move: keep what IAM said before
	}
	f.mu.Unlock()
	if err != nil {
		// IAM's errors are scrubbed of the token they were asked about.
		f.logger.Warn("fixed IAM token: could not ask IAM when it expires", "error", err, "expires_at_known", e.Known)
	}
	t := now()
	if e.ExpiresWithin(t, vpcep.FixedTokenWarning) {
		f.logger.Warn("fixed IAM token expires within the hour or has expired: replace it, or give the project an IAM user whose token the console renews",
			"expires_at", e.ExpiresAt.UTC())
	}
	wait := fixedTokenCheck
	if e.Known {
		if due := e.ExpiresAt.Add(-vpcep.FixedTokenWarning).Sub(t); due > 0 && due < wait {
			wait = due
		}
	}
	return wait
}

// notice tells how the token stands at now: a warning from an hour before
// its known expiry.
func (f *fixedToken) notice(now time.Time) handlers.CredentialNotice {
	f.mu.Lock()
	e := f.expiry
	f.mu.Unlock()
	if !e.Known {
		return handlers.CredentialNotice{}
	}
	n := handlers.CredentialNotice{ExpiresAt: e.ExpiresAt}
	at := e.ExpiresAt.UTC().Format(noticeTime)
	switch {
	case !now.Before(e.ExpiresAt):
		n.Warning = fmt.Sprintf("This project's fixed IAM token expired at %s: replace it, or give the project an IAM user whose token the console renews.", at)
	case e.ExpiresWithin(now, vpcep.FixedTokenWarning):
		n.Warning = fmt.Sprintf("This project's fixed IAM token expires at %s: replace it before then, or give the project an IAM user whose token the console renews.", at)
	}
	return n
}

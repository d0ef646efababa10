package auth

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy means too many password checks were running to start another one
// in time: the caller should try again in a moment. No password was checked.
var ErrBusy = errors.New("auth: too many password checks at once")

// checkWait is how long a password check waits for a free slot before
// ErrBusy: long enough to ride out a burst of honest sign-ins, short
// enough that a flood does not pile up requests.
const checkWait = 2 * time.Second

// passwordGate bounds how many argon2 computations run at once. Each takes
// 19 MiB and a core for tens of milliseconds; unbounded, a burst of
// parallel sign-ins costs gigabytes. About two per core keeps the cores busy
// and the memory at a few dozen MiB.
type passwordGate struct {
	slots chan struct{} // one token per check running
	peak  atomic.Int64  // the most ever running at once, for tests and metrics
}

func newPasswordGate() *passwordGate {
	return &passwordGate{slots: make(chan struct{}, max(2, 2*runtime.GOMAXPROCS(0)))}
}

// run calls f once a slot is free, or gives up with ErrBusy after checkWait.
func (g *passwordGate) run(ctx context.Context, f func()) error {
	wait := time.NewTimer(checkWait)
	defer wait.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-wait.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	n := int64(len(g.slots))
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	f()
	return nil
}

// PasswordCheckLimit is how many password hashes or checks may run at once.
func (s *Store) PasswordCheckLimit() int { return cap(s.gate.slots) }

// PeakPasswordChecks is the most password hashes or checks that ever ran at
// once in this Store: never more than PasswordCheckLimit.
func (s *Store) PeakPasswordChecks() int { return int(s.gate.peak.Load()) }

// verifyPassword is VerifyPassword through the gate.
func (s *Store) verifyPassword(ctx context.Context, password, hash string) (ok bool, err error) {
	if gateErr := s.gate.run(ctx, func() { ok, err = VerifyPassword(password, hash) }); gateErr != nil {
		return false, gateErr
	}
	return ok, err
}

// hashPassword is HashPassword through the gate.
func (s *Store) hashPassword(ctx context.Context, password string) (hash string, err error) {
	if gateErr := s.gate.run(ctx, func() { hash, err = HashPassword(password) }); gateErr != nil {
		return "", gateErr
	}
	return hash, err
}

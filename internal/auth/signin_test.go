package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSignInCountsBeforeChecking runs 20 sign-ins for one account at once:
// only the free tries get their password checked, the rest are refused
// unchecked, and the gate's high-water mark stays within its limit.
func TestSignInCountsBeforeChecking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	// Long enough that no wait runs out while the test runs: on a loaded
	// machine the 1 s default let a 4th attempt in, rightly, after its wait.
	s.SetFirstDelay(time.Minute)
	if _, err := s.CreateAccount(ctx, "alice", pw, Editor); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.SignIn(ctx, "alice", "a wrong password!", "192.0.2.1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	checked := 0
	for err := range errs {
		var throttled *ThrottledError
		switch {
		case errors.Is(err, ErrBadCredential):
			checked++
		case errors.As(err, &throttled) && throttled.Wait > 0:
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if checked > freeFailures {
		t.Errorf("%d parallel attempts checked, at most %d may be", checked, freeFailures)
	}
	if peak := s.PeakPasswordChecks(); peak > s.PasswordCheckLimit() {
		t.Errorf("%d checks at once, limit %d", peak, s.PasswordCheckLimit())
	}
	// Still throttled: even the right password is refused unchecked.
	var throttled *ThrottledError
	if _, _, err := s.SignIn(ctx, "alice", pw, "192.0.2.2"); !errors.As(err, &throttled) {
		t.Errorf("right password while throttled: %v", err)
	}
	if err := s.ClearFailures(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if a, subject, err := s.SignIn(ctx, "alice", pw, "192.0.2.2"); err != nil || a.Name != "alice" || subject != "alice" {
		t.Fatalf("sign in: %v %q %v", a, subject, err)
	}
	if n, _ := countFailures(ctx, s, "alice"); n != 0 {
		t.Errorf("a success left %d failures counted", n)
	}
}

func countFailures(ctx context.Context, s *Store, name string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM login_failures WHERE account_name = $1`, name).Scan(&n)
	return n, err
}

// TestUnknownNamesAreKeyedHashes: a name no account has is kept only as a
// keyed hash, the same for the same name, and the same on every replica.
func TestUnknownNamesAreKeyedHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	replica := NewStore(s.pool)
	if _, subject, err := s.SignIn(ctx, "bad\x00name\xff", "x", "192.0.2.1"); !errors.Is(err, ErrBadCredential) || !strings.HasPrefix(subject, UnknownNamePrefix) {
		t.Errorf("a name with bytes no account name has: %q %v", subject, err)
	}
	_, subject, err := s.SignIn(ctx, "my secret password", "x", "192.0.2.1")
	if !errors.Is(err, ErrBadCredential) || !strings.HasPrefix(subject, UnknownNamePrefix) || strings.Contains(subject, "secret") {
		t.Fatalf("unknown name: %q %v", subject, err)
	}
	again, _ := replica.UnknownName(ctx, "my secret password")
	other, _ := replica.UnknownName(ctx, "my secret passwore")
	if again != subject || other == subject {
		t.Errorf("keyed names: %q, %q, %q", subject, again, other)
	}
	if n, _ := countFailures(ctx, s, subject); n != 1 {
		t.Errorf("%d failures counted under the keyed name", n)
	}
	// CSRF tokens: one per session, the same on every replica.
	t1, _ := s.CSRFToken(ctx, "session one")
	t2, _ := replica.CSRFToken(ctx, "session one")
	t3, _ := s.CSRFToken(ctx, "session two")
	if t1 == "" || t1 != t2 || t1 == t3 {
		t.Errorf("CSRF tokens %q %q %q", t1, t2, t3)
	}
}

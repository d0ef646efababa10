package auth

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

func newStore(t *testing.T) *Store { return NewStore(testdb.Pool(t, testdb.Migrated(t))) }

const pw = "a long enough password"

func TestPasswordHashing(t *testing.T) {
	t.Parallel()
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s does not carry ASVS v5 parameters", h)
	}
	if ok, err := VerifyPassword(pw, h); !ok || err != nil {
		t.Fatalf("verify right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(pw+"x", h); ok {
		t.Fatal("wrong password verified")
	}
	if h2, _ := HashPassword(pw); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := VerifyPassword(pw, "$2a$10$bcrypt"); err == nil {
		t.Fatal("a foreign hash format verified")
	}
}

func TestAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateAccount(ctx, "alice", pw, Editor); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		name, password string
		role           Role
		want           error
	}{
		"taken":    {"alice", pw, Viewer, ErrNameTaken},
		"bad name": {"Alice Smith", pw, Viewer, ErrBadName},
		"short":    {"bob", "short", Viewer, ErrWeakPassword},
		"too long": {"bob", strings.Repeat("p", 129), Viewer, ErrWeakPassword},
		"bad role": {"bob", pw, Role("root"), nil},
	} {
		_, err := s.CreateAccount(ctx, tt.name, tt.password, tt.role)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if a, subject, err := s.SignIn(ctx, "alice", pw, "192.0.2.1"); err != nil || a.Role != Editor || subject != "alice" {
		t.Fatalf("sign in: %v %q %v", a, subject, err)
	}
	for _, tt := range [][2]string{{"alice", "wrong password!"}, {"nobody", pw}, {"alice", strings.Repeat("x", 10000)}} {
		if _, _, err := s.SignIn(ctx, tt[0], tt[1], "192.0.2.1"); !errors.Is(err, ErrBadCredential) {
			t.Errorf("%v: %v", tt, err)
		}
	}
	if err := s.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignIn(ctx, "alice", pw, "192.0.2.1"); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled: %v", err)
	}
	if err := s.SetRole(ctx, "nobody", Admin); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if !Admin.Allows(Editor) || !Editor.Allows(Viewer) || Viewer.Allows(Editor) || Role("").Allows(Viewer) || Editor.Allows(Admin) {
		t.Error("role order")
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, err := s.CreateAccount(ctx, "alice", pw, Editor)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := start
	s.now = func() time.Time { return clock }

	token, err := s.StartSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := s.pool.QueryRow(ctx, `SELECT token_hash FROM sessions`).Scan(&stored); err != nil || stored == token || strings.Contains(stored, token) {
		t.Fatalf("the store keeps the token itself: %v", err)
	}
	if got, _, err := s.SessionAccount(ctx, token, cfg); err != nil || got.Name != "alice" {
		t.Fatalf("fresh session: %v", err)
	}
	// Active use keeps it alive past the idle timeout...
	for range 40 { // 40 x 20 min: past the 12 h lifetime
		clock = clock.Add(20 * time.Minute)
		if _, _, err := s.SessionAccount(ctx, token, cfg); err != nil {
			if clock.Sub(start) <= cfg.Absolute {
				t.Fatalf("active session ended after %s: %v", clock.Sub(start), err)
			}
			break
		}
	}
	// ...but not past the absolute lifetime.
	if _, _, err := s.SessionAccount(ctx, token, cfg); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session outlived its lifetime: %v", err)
	}

	idle, _ := s.StartSession(ctx, a.ID)
	clock = clock.Add(31 * time.Minute)
	if _, _, err := s.SessionAccount(ctx, idle, cfg); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle session lived: %v", err)
	}

	for name, end := range map[string]func() error{
		"role change": func() error { return s.SetRole(ctx, "alice", Viewer) },
		"disable":     func() error { return s.SetDisabled(ctx, "alice", true) },
		"password":    func() error { return s.SetPassword(ctx, "alice", "another long password") },
	} {
		_ = s.SetDisabled(ctx, "alice", false)
		tok, err := s.StartSession(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := end(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionAccount(ctx, tok, cfg); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s left the session alive: %v", name, err)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateAccount(ctx, "ci", pw, Editor); err != nil {
		t.Fatal(err)
	}
	token, tok, err := s.CreateToken(ctx, "ci", "pipeline", 90*24*time.Hour)
	if err != nil || !strings.HasPrefix(token, TokenPrefix) || len(token) < 40 {
		t.Fatalf("token %q: %v", token, err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE token_hash = $1`, token).Scan(&n); err != nil || n != 0 {
		t.Fatal("the token itself is stored")
	}
	if a, got, err := s.TokenAccount(ctx, token); err != nil || a.Name != "ci" || got.ID != tok.ID {
		t.Fatalf("lookup: %v", err)
	}
	if _, _, err := s.TokenAccount(ctx, token+"x"); !errors.Is(err, ErrBadToken) {
		t.Errorf("wrong token: %v", err)
	}
	expiring, _, _ := s.CreateToken(ctx, "ci", "short", time.Hour)
	s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, _, err := s.TokenAccount(ctx, expiring); !errors.Is(err, ErrBadToken) {
		t.Errorf("expired token: %v", err)
	}
	s.now = time.Now
	if _, err := s.RevokeToken(ctx, tok.ID, tok.AccountID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked someone else's token: %v", err)
	}
	if _, err := s.RevokeToken(ctx, tok.ID, tok.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.TokenAccount(ctx, token); !errors.Is(err, ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	_ = s.SetDisabled(ctx, "ci", true)
	other, _, _ := s.CreateToken(ctx, "ci", "again", 0)
	if _, _, err := s.TokenAccount(ctx, other); !errors.Is(err, ErrBadToken) {
		t.Errorf("a disabled account's token works: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	s.SetFirstDelay(time.Minute) // long enough that no wait runs out while the test runs
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, err := s.CreateAccount(ctx, name, pw, Viewer); err != nil {
			t.Fatal(err)
		}
	}
	// signIn is a sign-in with a wrong password: the wait it was told, or 0
	// when it was checked (and so counted).
	signIn := func(name, clientIP string) time.Duration {
		t.Helper()
		_, _, err := s.SignIn(ctx, name, "a wrong password!", clientIP)
		var throttled *ThrottledError
		switch {
		case errors.As(err, &throttled):
			if throttled.Wait <= 0 {
				t.Fatalf("%s from %s: throttled with no wait", name, clientIP)
			}
			return throttled.Wait
		case errors.Is(err, ErrBadCredential):
			return 0
		}
		t.Fatalf("%s from %s: %v", name, clientIP, err)
		return 0
	}
	for i := range freeFailures {
		if wait := signIn("alice", "192.0.2.1"); wait != 0 {
			t.Fatalf("failure %d: waiting %s", i, wait)
		}
	}
	wait1 := signIn("alice", "192.0.2.9") // another address: the account still waits
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (account_name, client_ip) VALUES ('alice', '192.0.2.9'), ('alice', '192.0.2.9')`); err != nil {
		t.Fatal(err)
	}
	wait2 := signIn("alice", "192.0.2.10")
	if wait1 <= 0 || wait2 <= wait1 {
		t.Fatalf("delays do not grow: %s then %s", wait1, wait2)
	}
	if wait := signIn("bob", "192.0.2.20"); wait != 0 {
		t.Errorf("another account waits %s", wait)
	}
	// The hourly caps.
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (account_name, client_ip, at)
		SELECT 'carol', '198.51.100.' || (g % 200), now() - interval '30 minutes' FROM generate_series(1, $1) g`, MaxFailuresPerAccount); err != nil {
		t.Fatal(err)
	}
	if wait := signIn("carol", "203.0.113.1"); wait < 30*time.Minute {
		t.Errorf("past the account cap, wait %s", wait)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO login_failures (account_name, client_ip, at)
		SELECT 'user' || g, '203.0.113.77', now() - interval '10 minutes' FROM generate_series(1, $1) g`, MaxFailuresPerAddress); err != nil {
		t.Fatal(err)
	}
	if wait := signIn("dave", "203.0.113.77"); wait < 30*time.Minute {
		t.Errorf("past the address cap, wait %s", wait)
	}
	if err := s.ClearFailures(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if a, _, err := s.SignIn(ctx, "alice", pw, "192.0.2.1"); err != nil || a.Name != "alice" {
		t.Errorf("after the failures are cleared: %v %v", a, err)
	}
}

// Bad tokens sent in parallel from one address cannot pass the cap
// together: each is counted under the address's lock.
func TestParallelBadTokensStopAtTheCap(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 3 * MaxTokenFailuresPerAddress {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = s.CheckToken(ctx, "vpcep_not-a-token", "192.0.2.9")
		}()
	}
	wg.Wait()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM token_failures WHERE client_ip = '192.0.2.9'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != MaxTokenFailuresPerAddress {
		t.Fatalf("%d bad tokens counted from one address, want exactly the cap %d", n, MaxTokenFailuresPerAddress)
	}
	var te *ThrottledError
	if _, _, err := s.CheckToken(ctx, "vpcep_not-a-token", "192.0.2.9"); !errors.As(err, &te) || te.Wait < time.Second || te.Wait > time.Hour {
		t.Fatalf("a bad token past the cap = %v, want throttled until the oldest failure leaves the hour", err)
	}
}

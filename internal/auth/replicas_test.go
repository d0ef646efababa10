package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// Two replicas (two Stores, each on its own pool, one database): a
// sign-out, a revoked token, a disabled account or a changed role on one
// takes effect on the other's very next request, with no wait: the look-up
// per request stays one query against the shared database, never a cache
// that could outlive what it stands for.
func TestRevocationTakesEffectAtOnceOnEveryReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.Migrated(t)
	a, b := NewStore(testdb.Pool(t, url)), NewStore(testdb.Pool(t, url))
	cfg := SessionConfig{Idle: time.Hour, Absolute: time.Hour}
	const ip = "192.0.2.7"

	signedIn := func(name string) string {
		t.Helper()
		acc, err := a.CreateAccount(ctx, name, pw, Editor)
		if err != nil {
			t.Fatal(err)
		}
		session, err := a.StartSession(ctx, acc.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Both replicas have served it: anything they kept is warm.
		for _, s := range []*Store{a, b} {
			for range 3 {
				if _, _, err := s.SessionAccount(ctx, session, cfg); err != nil {
					t.Fatalf("a fresh session is refused: %v", err)
				}
			}
		}
		return session
	}
	tokenOf := func(name string) string {
		t.Helper()
		token, _, err := a.CreateToken(ctx, name, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Store{a, b} {
			for range 3 {
				if _, _, err := s.CheckToken(ctx, token, ip); err != nil {
					t.Fatalf("a fresh token is refused: %v", err)
				}
			}
		}
		return token
	}

	tests := []struct {
		name   string
		revoke func(account, session string)
	}{
		{"sign-out", func(_, session string) {
			if err := a.EndSession(ctx, session); err != nil {
				t.Fatal(err)
			}
		}},
		{"account disabled", func(account, _ string) {
			if err := a.SetDisabled(ctx, account, true); err != nil {
				t.Fatal(err)
			}
		}},
		{"role changed", func(account, _ string) {
			if err := a.SetRole(ctx, account, Viewer); err != nil {
				t.Fatal(err)
			}
		}},
		{"password changed", func(account, _ string) {
			if err := a.SetPassword(ctx, account, pw+" new"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			account := "person" + string(rune('a'+i))
			session := signedIn(account)
			tt.revoke(account, session)
			if _, _, err := b.SessionAccount(ctx, session, cfg); !errors.Is(err, ErrNoSession) {
				t.Fatalf("the other replica still accepts the session right after the %s: %v", tt.name, err)
			}
		})
	}

	t.Run("token revoked", func(t *testing.T) {
		if _, err := a.CreateAccount(ctx, "robot", pw, Viewer); err != nil {
			t.Fatal(err)
		}
		token := tokenOf("robot")
		tokens, err := a.Tokens(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.RevokeToken(ctx, tokens[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.CheckToken(ctx, token, ip); !errors.Is(err, ErrBadToken) {
			t.Fatalf("the other replica still accepts the token right after its revocation: %v", err)
		}
	})
	t.Run("token's account disabled", func(t *testing.T) {
		if _, err := a.CreateAccount(ctx, "robot2", pw, Viewer); err != nil {
			t.Fatal(err)
		}
		token := tokenOf("robot2")
		if err := a.SetDisabled(ctx, "robot2", true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.CheckToken(ctx, token, ip); !errors.Is(err, ErrBadToken) {
			t.Fatalf("the other replica still accepts the token of a disabled account: %v", err)
		}
	})
}

// A good token from an address past the cap of bad tokens is refused, read
// in the same query as the token.
func TestGoodTokenFromAThrottledAddressIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateAccount(ctx, "robot", pw, Viewer); err != nil {
		t.Fatal(err)
	}
	token, _, err := s.CreateToken(ctx, "robot", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	const ip = "198.51.100.9"
	for range MaxTokenFailuresPerAddress {
		if _, _, err := s.CheckToken(ctx, TokenPrefix+"not-a-token", ip); !errors.Is(err, ErrBadToken) {
			t.Fatalf("a bad token before the cap: %v", err)
		}
	}
	var throttled *ThrottledError
	if _, _, err := s.CheckToken(ctx, token, ip); !errors.As(err, &throttled) {
		t.Fatalf("a good token from a throttled address: %v, want *ThrottledError", err)
	}
	if _, _, err := s.CheckToken(ctx, token, "198.51.100.10"); err != nil {
		t.Fatalf("a good token from another address: %v", err)
	}
}

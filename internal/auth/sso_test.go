package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const issuer = "https://id.example.com/realms/net"

func ident(subject, preferred, display string) SSOIdentity {
	return SSOIdentity{Issuer: issuer, Subject: subject, PreferredName: preferred, DisplayName: display}
}

func ssoAccount(name, subject, display string, role Role, projects map[string]Role) *Account {
	if projects == nil {
		projects = map[string]Role{}
	}
	return &Account{Name: name, Role: role, Source: SourceOIDC, Issuer: issuer, Subject: subject, DisplayName: display, Projects: projects}
}

func localAccount(name string, role Role) *Account {
	return &Account{Name: name, Role: role, Source: SourceLocal, Projects: map[string]Role{}}
}

// ignoreMade leaves out what the database chooses; tests check IDs and
// sign-in times themselves.
var ignoreMade = cmpopts.IgnoreFields(Account{}, "ID", "CreatedAt", "LastLoginAt")

// ssoStep is one sign-in through the provider, after disabling an account
// when disable names one.
type ssoStep struct {
	disable string
	id      SSOIdentity
	role    Role
	grants  map[string]Role
	want    *Account // the account returned, when wantErr is nil
	wantErr error
}

func TestSignInSSO(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		local []string // local editors made first
		steps []ssoStep
		// every account at the end, by name: what a refused sign-in did
		// not change, and local accounts never taken over
		wantAccounts []*Account
	}{
		{
			name: "a first sign-in makes an oidc account",
			steps: []ssoStep{{
				id: ident("sub-1", "Alice.Smith@example.com", "Alice Smith"), role: Editor, grants: map[string]Role{"beijing": Viewer},
				want: ssoAccount("alice.smith", "sub-1", "Alice Smith", Editor, map[string]Role{"beijing": Viewer}),
			}},
			wantAccounts: []*Account{ssoAccount("alice.smith", "sub-1", "Alice Smith", Editor, map[string]Role{"beijing": Viewer})},
		},
		{
			name: "signing in again replaces the role, the grants and the display name",
			steps: []ssoStep{
				{
					id: ident("sub-1", "alice", "Alice"), role: Viewer, grants: map[string]Role{"beijing": Editor, "singapore": NoAccess},
					want: ssoAccount("alice", "sub-1", "Alice", Viewer, map[string]Role{"beijing": Editor, "singapore": NoAccess}),
				},
				{
					// the provider's name changed too: the account keeps its name
					id: ident("sub-1", "alice.new", "Alice Jones"), role: Admin, grants: map[string]Role{"frankfurt": Viewer},
					want: ssoAccount("alice", "sub-1", "Alice Jones", Admin, map[string]Role{"frankfurt": Viewer}),
				},
			},
			wantAccounts: []*Account{ssoAccount("alice", "sub-1", "Alice Jones", Admin, map[string]Role{"frankfurt": Viewer})},
		},
		{
			name: "leaving a group takes its grants away",
			steps: []ssoStep{
				{
					id: ident("sub-1", "carol", ""), role: Editor, grants: map[string]Role{"beijing": Editor},
					want: ssoAccount("carol", "sub-1", "", Editor, map[string]Role{"beijing": Editor}),
				},
				{
					id: ident("sub-1", "carol", ""), role: Viewer, grants: nil,
					want: ssoAccount("carol", "sub-1", "", Viewer, nil),
				},
			},
			wantAccounts: []*Account{ssoAccount("carol", "sub-1", "", Viewer, nil)},
		},
		{
			name: "a disabled account is refused and left as it was",
			steps: []ssoStep{
				{
					id: ident("sub-1", "dave", "Dave"), role: Viewer, grants: map[string]Role{"beijing": Editor},
					want: ssoAccount("dave", "sub-1", "Dave", Viewer, map[string]Role{"beijing": Editor}),
				},
				{
					disable: "dave",
					id:      ident("sub-1", "dave", "Dave Admin"), role: Admin, grants: map[string]Role{"singapore": Editor},
					wantErr: ErrDisabled,
				},
			},
			wantAccounts: []*Account{func() *Account {
				a := ssoAccount("dave", "sub-1", "Dave", Viewer, map[string]Role{"beijing": Editor})
				a.Disabled = true
				return a
			}()},
		},
		{
			name:  "a local account's name is never taken over",
			local: []string{"erin"},
			steps: []ssoStep{{
				id: ident("sub-1", "erin", "Erin"), role: Admin,
				want: ssoAccount("erin-2", "sub-1", "Erin", Admin, nil),
			}},
			wantAccounts: []*Account{localAccount("erin", Editor), ssoAccount("erin-2", "sub-1", "Erin", Admin, nil)},
		},
		{
			name: "two people with one preferred name get two accounts",
			steps: []ssoStep{
				{id: ident("sub-1", "frank", "Frank A"), role: Viewer, want: ssoAccount("frank", "sub-1", "Frank A", Viewer, nil)},
				{id: ident("sub-2", "frank", "Frank B"), role: Editor, want: ssoAccount("frank-2", "sub-2", "Frank B", Editor, nil)},
				{id: ident("sub-1", "frank", "Frank A"), role: Viewer, want: ssoAccount("frank", "sub-1", "Frank A", Viewer, nil)},
				// the same subject at another issuer is another person
				{
					id: SSOIdentity{Issuer: "https://other.example.com", Subject: "sub-1", PreferredName: "frank"}, role: Viewer,
					want: &Account{Name: "frank-3", Role: Viewer, Source: SourceOIDC, Issuer: "https://other.example.com", Subject: "sub-1", Projects: map[string]Role{}},
				},
			},
			wantAccounts: []*Account{
				ssoAccount("frank", "sub-1", "Frank A", Viewer, nil),
				ssoAccount("frank-2", "sub-2", "Frank B", Editor, nil),
				{Name: "frank-3", Role: Viewer, Source: SourceOIDC, Issuer: "https://other.example.com", Subject: "sub-1", Projects: map[string]Role{}},
			},
		},
		{
			name: "bad input changes nothing",
			steps: []ssoStep{
				{id: SSOIdentity{Issuer: issuer, PreferredName: "gina"}, role: Viewer, wantErr: errAny},
				{id: ident("sub-1", "gina", ""), role: NoAccess, wantErr: errAny},
				{id: ident("sub\x00", "gina", ""), role: Viewer, wantErr: errAny},
				{id: ident("sub\xff", "gina", ""), role: Viewer, wantErr: errAny},
				{id: ident(strings.Repeat("s", 1025), "gina", ""), role: Viewer, wantErr: errAny},
				{id: ident("sub-1", "gina", ""), role: Viewer, grants: map[string]Role{"beijing": "owner"}, wantErr: errAny},
				{id: ident("sub-1", "gina", ""), role: Viewer, grants: map[string]Role{"": Viewer}, wantErr: errAny},
			},
			wantAccounts: []*Account{},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newStore(t)
			for _, name := range tt.local {
				if _, err := s.CreateAccount(ctx, name, pw, Editor); err != nil {
					t.Fatal(err)
				}
			}
			ids := map[[2]string]int64{} // each identity's account, once made
			for i, step := range tt.steps {
				if step.disable != "" {
					if err := s.SetDisabled(ctx, step.disable, true); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.SignInSSO(ctx, step.id, step.role, step.grants)
				if step.wantErr != nil {
					if err == nil || (step.wantErr != errAny && !errors.Is(err, step.wantErr)) {
						t.Fatalf("step %d: got %+v, %v; want error %v", i, got, err, step.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if diff := cmp.Diff(step.want, got, ignoreMade); diff != "" {
					t.Errorf("step %d: account mismatch (-want +got):\n%s", i, diff)
				}
				if got.LastLoginAt == nil {
					t.Errorf("step %d: no last sign-in recorded", i)
				}
				key := [2]string{step.id.Issuer, step.id.Subject}
				if id, ok := ids[key]; ok && id != got.ID {
					t.Errorf("step %d: signed in to account %d, the identity's is %d", i, got.ID, id)
				}
				ids[key] = got.ID
			}
			all, err := s.Accounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantAccounts, all, ignoreMade, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("accounts at the end (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")

// TestPasswordSignInOfSSOAccount: an account from the provider has no
// password; trying one fails, is counted and throttled exactly like a
// wrong password, and the error still says why to the security log.
func TestPasswordSignInOfSSOAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	s.SetFirstDelay(time.Minute) // no wait runs out while the test runs
	a, err := s.SignInSSO(ctx, ident("sub-1", "hana", "Hana"), Admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, password := range []string{pw, noPassword, ""} {
		got, subject, err := s.SignIn(ctx, a.Name, password, "192.0.2.1")
		if got != nil || subject != a.Name || !errors.Is(err, ErrBadCredential) || !errors.Is(err, ErrSSOAccount) {
			t.Errorf("attempt %d with %q: %v %q %v", i, password, got, subject, err)
		}
	}
	if n, _ := countFailures(ctx, s, a.Name); n != freeFailures {
		t.Errorf("%d failures counted, want %d", n, freeFailures)
	}
	var throttled *ThrottledError
	if _, _, err := s.SignIn(ctx, a.Name, pw, "192.0.2.2"); !errors.As(err, &throttled) {
		t.Errorf("after %d failures: %v, want throttled", freeFailures, err)
	}
	// No password can be set either, and the stored marker is no hash.
	if err := s.SetPassword(ctx, a.Name, pw); !errors.Is(err, ErrSSOAccount) {
		t.Errorf("set password: %v", err)
	}
	if err := s.SetPassword(ctx, "nobody", pw); !errors.Is(err, ErrNotFound) {
		t.Errorf("set password of no account: %v", err)
	}
	var hash string
	if err := s.pool.QueryRow(ctx, `SELECT password_hash FROM accounts WHERE id = $1`, a.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if ok, _ := VerifyPassword(noPassword, hash); ok || strings.HasPrefix(hash, "$argon2id$") {
		t.Errorf("an SSO account's password hash %q", hash)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE accounts SET password_hash = $2 WHERE id = $1`, a.ID, dummyHash); err == nil {
		t.Error("the schema let an SSO account have a password hash")
	}
}

// TestDisableSSOAccount: an admin disables an account from the provider
// as a local one: its sessions end, and the provider cannot sign it in.
// Its session reads the provider's identity with the account.
func TestDisableSSOAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, err := s.SignInSSO(ctx, ident("sub-1", "ivan", "Ivan I."), Editor, map[string]Role{"beijing": Viewer})
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.StartSession(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{Idle: time.Hour, Absolute: time.Hour}
	got, _, err := s.SessionAccount(ctx, token, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got, cmpopts.IgnoreFields(Account{}, "LastLoginAt")); diff != "" {
		t.Errorf("session's account (-want +got):\n%s", diff)
	}
	byName, err := s.AccountByName(ctx, "ivan")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, byName); diff != "" {
		t.Errorf("account by name (-session +by name):\n%s", diff)
	}
	if err := s.SetDisabled(ctx, "ivan", true); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.SessionCount(ctx, a.ID); n != 0 {
		t.Errorf("%d sessions left after disabling", n)
	}
	if _, err := s.SignInSSO(ctx, ident("sub-1", "ivan", "Ivan I."), Editor, nil); !errors.Is(err, ErrDisabled) {
		t.Errorf("disabled: %v", err)
	}
	if err := s.SetDisabled(ctx, "ivan", false); err != nil {
		t.Fatal(err)
	}
	if again, err := s.SignInSSO(ctx, ident("sub-1", "ivan", "Ivan I."), Editor, nil); err != nil || again.ID != a.ID {
		t.Errorf("enabled again: %+v %v", again, err)
	}
}

// TestParallelFirstSignIns: one person's first sign-ins at once make one
// account; people of one preferred name at once get one account each.
func TestParallelFirstSignIns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	const n = 6
	var wg sync.WaitGroup
	same := make([]*Account, n)
	others := make([]*Account, n)
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			a, err := s.SignInSSO(ctx, ident("same", "jo", ""), Viewer, nil)
			same[i] = a
			errs <- err
		}()
		go func() {
			defer wg.Done()
			a, err := s.SignInSSO(ctx, ident("other-"+string(rune('a'+i)), "jo", ""), Viewer, nil)
			others[i] = a
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for _, a := range same {
		if a.ID != same[0].ID {
			t.Errorf("one identity got accounts %d and %d", same[0].ID, a.ID)
		}
	}
	names[same[0].Name] = true
	for _, a := range others {
		if names[a.Name] {
			t.Errorf("name %q given twice", a.Name)
		}
		names[a.Name] = true
	}
	if all, _ := s.Accounts(ctx); len(all) != n+1 {
		t.Errorf("%d accounts, want %d", len(all), n+1)
	}
}

func TestSSOName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ preferred, subject, want string }{
		{"alice", "x", "alice"},
		{"Alice.Smith@example.com", "x", "alice.smith"},
		{"John  Smith", "x", "john-smith"},
		{"--_.bob._", "x", "bob"},
		{"josé", "x", "jos"},
		{"张伟", "f81d4fae-7dec-11d0", "f81d4fae-7dec-11d0"},
		{"", "Subject/With Slashes", "subject-with-slashes"},
		{"@", "@", "user"},
		{strings.Repeat("a", 80), "x", strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "-b", "x", strings.Repeat("a", 62)},
	} {
		got := ssoName(tt.preferred, tt.subject)
		if got != tt.want || !nameRE.MatchString(got) {
			t.Errorf("ssoName(%q, %q) = %q, want %q", tt.preferred, tt.subject, got, tt.want)
		}
	}
	for _, tt := range []struct {
		base string
		n    int
		want string
	}{
		{"bob", 1, "bob"},
		{"bob", 2, "bob-2"},
		{"bob", 20, "bob-20"},
		{strings.Repeat("a", 63), 2, strings.Repeat("a", 61) + "-2"},
		{strings.Repeat("a", 60) + ".xx", 12, strings.Repeat("a", 60) + "-12"},
	} {
		if got := nameWithSuffix(tt.base, tt.n); got != tt.want {
			t.Errorf("nameWithSuffix(%q, %d) = %q, want %q", tt.base, tt.n, got, tt.want)
		}
	}
	if got := nameWithSuffix(strings.Repeat("a", 63), maxNumberedNames+1); len(got) != 63 || !nameRE.MatchString(got) {
		t.Errorf("a random suffix: %q", got)
	}
	if got := displayName(" Ann\nO'Neil\x00 "); got == nil || *got != "Ann O'Neil" {
		t.Errorf("display name %v", got)
	}
}

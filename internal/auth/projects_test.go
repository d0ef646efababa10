package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseGrant(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"none", NoAccess, false},
		{"viewer", Viewer, false},
		{"editor", Editor, false},
		{"admin", "", true}, // admin is console-wide
		{"", "", true},
		{"owner", "", true},
		{"Viewer", "", true},
	} {
		got, err := ParseGrant(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseGrant(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	// An account's own role is never "none".
	if _, err := ParseRole("none"); err == nil {
		t.Error(`ParseRole("none") accepted a grant as an account's role`)
	}
}

func TestRoleIn(t *testing.T) {
	t.Parallel()
	grants := map[string]Role{"beijing": Editor, "singapore": NoAccess, "frankfurt": Admin}
	for _, tt := range []struct {
		name    string
		role    Role
		project string
		want    Role
		allows  Role // a role RoleIn's answer must allow; "" when it allows nothing
	}{
		{"a grant raises", Viewer, "beijing", Editor, Editor},
		{"a grant lowers", Admin, "singapore", Admin, Admin}, // a console admin is admin everywhere
		{"none takes the project away", Editor, "singapore", NoAccess, ""},
		{"an admin grant makes no admin", Viewer, "frankfurt", Editor, Editor},
		{"no grant: the account's role", Editor, "paris", Editor, Editor},
		{"a console admin without grants", Admin, "paris", Admin, Admin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &Account{Role: tt.role, Projects: grants}
			got := a.RoleIn(tt.project)
			if got != tt.want {
				t.Errorf("RoleIn(%q) = %q, want %q", tt.project, got, tt.want)
			}
			if tt.allows == "" && got.Allows(Viewer) {
				t.Errorf("RoleIn(%q) = %q allows viewing", tt.project, got)
			}
			if tt.allows != "" && !got.Allows(tt.allows) {
				t.Errorf("RoleIn(%q) = %q does not allow %q", tt.project, got, tt.allows)
			}
		})
	}
}

// Grants are stored, replaced and removed, and come with the account
// wherever the store returns one: by name, in the list, at sign-in, from a
// session and from an API token.
func TestProjectGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateAccount(ctx, "ada", pw, Viewer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, "bob", pw, Editor); err != nil {
		t.Fatal(err)
	}
	sessionToken := func() string {
		a, _, err := s.SignIn(ctx, "ada", pw, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.StartSession(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	apiToken, _, err := s.CreateReadOnlyToken(ctx, "ada", "script", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SessionConfig{Idle: time.Hour, Absolute: time.Hour}
	// every way the store returns ada's account
	reads := map[string]func() (*Account, error){
		"AccountByName": func() (*Account, error) { return s.AccountByName(ctx, "ada") },
		"Accounts": func() (*Account, error) {
			all, err := s.Accounts(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range all {
				if a.Name == "ada" {
					return a, nil
				}
			}
			return nil, ErrNotFound
		},
		"SignIn": func() (*Account, error) {
			a, _, err := s.SignIn(ctx, "ada", pw, "192.0.2.1")
			return a, err
		},
		"SessionAccount": func() (*Account, error) {
			a, _, err := s.SessionAccount(ctx, sessionToken, cfg)
			return a, err
		},
		"TokenAccount": func() (*Account, error) {
			a, _, err := s.TokenAccount(ctx, apiToken)
			return a, err
		},
		"CheckToken": func() (*Account, error) {
			a, _, err := s.CheckToken(ctx, apiToken, "192.0.2.1")
			return a, err
		},
	}

	steps := []struct {
		name          string
		project       string
		role          Role
		want          map[string]Role
		wantBeijingIn Role
		wantSingapIn  Role
	}{
		{"no grants yet", "", "", map[string]Role{}, Viewer, Viewer},
		{"editor in beijing", "beijing", Editor, map[string]Role{"beijing": Editor}, Editor, Viewer},
		{"none in singapore", "singapore", NoAccess, map[string]Role{"beijing": Editor, "singapore": NoAccess}, Editor, NoAccess},
		{"beijing replaced by viewer", "beijing", Viewer, map[string]Role{"beijing": Viewer, "singapore": NoAccess}, Viewer, NoAccess},
		{"beijing removed", "beijing", "", map[string]Role{"singapore": NoAccess}, Viewer, NoAccess},
	}
	for _, step := range steps {
		if step.project != "" {
			if err := s.SetProjectRole(ctx, "ada", step.project, step.role); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		for how, read := range reads {
			a, err := read()
			if err != nil {
				t.Fatalf("%s, %s: %v", step.name, how, err)
			}
			if diff := cmp.Diff(step.want, a.Projects); diff != "" {
				t.Errorf("%s, %s: grants (-want +got):\n%s", step.name, how, diff)
			}
			if got := a.RoleIn("beijing"); got != step.wantBeijingIn {
				t.Errorf("%s, %s: RoleIn(beijing) = %q, want %q", step.name, how, got, step.wantBeijingIn)
			}
			if got := a.RoleIn("singapore"); got != step.wantSingapIn {
				t.Errorf("%s, %s: RoleIn(singapore) = %q, want %q", step.name, how, got, step.wantSingapIn)
			}
		}
	}
	// Another account's grants are its own.
	if b, err := s.AccountByName(ctx, "bob"); err != nil || len(b.Projects) != 0 {
		t.Errorf("bob's grants: %+v, %v", b, err)
	}
	// Removing a grant that is not there is no error.
	if err := s.SetProjectRole(ctx, "ada", "paris", ""); err != nil {
		t.Errorf("removing an absent grant: %v", err)
	}

	// Refused: unknown account, unknown role, no project.
	for _, tt := range []struct {
		name, account, project string
		role                   Role
		want                   error // nil: any error
	}{
		{"unknown account", "nobody", "beijing", Viewer, ErrNotFound},
		{"unknown account, removing", "nobody", "beijing", "", ErrNotFound},
		{"unknown role", "ada", "beijing", "owner", nil},
		{"no project", "ada", "", Viewer, nil},
	} {
		err := s.SetProjectRole(ctx, tt.account, tt.project, tt.role)
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: SetProjectRole = %v, want %v", tt.name, err, tt.want)
		}
	}

	// A disabled account's grants keep it out nowhere: it is out everywhere.
	if err := s.SetDisabled(ctx, "ada", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CheckToken(ctx, apiToken, "192.0.2.1"); !errors.Is(err, ErrBadToken) {
		t.Errorf("a disabled account's token: %v, want ErrBadToken", err)
	}
	if a, err := s.AccountByName(ctx, "ada"); err != nil || !a.Disabled || a.Projects["singapore"] != NoAccess {
		t.Errorf("disabled account: %+v, %v", a, err)
	}
	// Grants go with their account.
	if _, err := s.pool.Exec(ctx, `DELETE FROM accounts WHERE name = 'ada'`); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM account_project_roles`).Scan(&left); err != nil || left != 0 {
		t.Errorf("grants left after their account: %d, %v", left, err)
	}
}

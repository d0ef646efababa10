package sso

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const secretValue = "s3cr3t-Value!"

// env is a fake environment and file system for ConfigFromEnv.
type env map[string]string

func (e env) getenv(name string) string { return e[name] }

func (e env) readFile(path string) ([]byte, error) {
	if v, ok := e["file:"+path]; ok {
		return []byte(v), nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

// base is a complete configuration, the secret in a file.
func base() env {
	return env{
		"OIDC_ISSUER":              "https://idp.example.com/realms/ops",
		"OIDC_CLIENT_ID":           "vpcep-console",
		"OIDC_CLIENT_SECRET_FILE":  "/run/secrets/oidc",
		"file:/run/secrets/oidc":   secretValue + "\n",
		"OIDC_REDIRECT_URL":        "https://console.example.com/sso/callback",
		"OIDC_GROUP_ROLES":         "netops=editor",
		"UNRELATED_BUT_SET_SECRET": secretValue,
	}
}

func with(e env, kv ...string) env {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(e, kv[i])
		} else {
			e[kv[i]] = kv[i+1]
		}
	}
	return e
}

func TestConfigFromEnvUnset(t *testing.T) {
	c, err := ConfigFromEnv(env{"OIDC_CLIENT_ID": "x"}.getenv, env{}.readFile)
	if c != nil || err != nil {
		t.Errorf("ConfigFromEnv without OIDC_ISSUER = %v, %v; want nil, nil", c, err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  env
		want Config
	}{
		{"defaults, the secret from a file", base(), Config{
			Name: "single sign-on", Issuer: "https://idp.example.com/realms/ops", ClientID: "vpcep-console",
			ClientSecret: secretValue, RedirectURL: "https://console.example.com/sso/callback",
			Scopes: []string{"openid", "profile", "email"}, GroupsClaim: "groups",
		}},
		{"every variable, the secret from a variable", with(base(),
			"OIDC_CLIENT_SECRET_FILE", "", "OIDC_CLIENT_SECRET_ENV", "MY_OIDC_SECRET", "MY_OIDC_SECRET", secretValue,
			"OIDC_SCOPES", "openid,groups email", "OIDC_GROUPS_CLAIM", "roles", "OIDC_NAME", "Keycloak",
			"OIDC_ONLY", "true", "OIDC_ISSUER", "http://127.0.0.1:8081", "OIDC_REDIRECT_URL", "http://localhost:8080/sso/callback"),
			Config{
				Name: "Keycloak", Issuer: "http://127.0.0.1:8081", ClientID: "vpcep-console",
				ClientSecret: secretValue, RedirectURL: "http://localhost:8080/sso/callback",
				Scopes: []string{"openid", "groups", "email"}, GroupsClaim: "roles", Only: true,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromEnv(tc.env.getenv, tc.env.readFile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *c, cmpopts.IgnoreFields(Config{}, "Mapping")); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			if c.Mapping.String() != "netops=editor" {
				t.Errorf("mapping %q, want netops=editor", c.Mapping.String())
			}
		})
	}
}

func TestConfigFromEnvRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  env
		want []string // each in the error
	}{
		{"no client id", with(base(), "OIDC_CLIENT_ID", ""), []string{"OIDC_CLIENT_ID is required"}},
		{"no redirect URL", with(base(), "OIDC_REDIRECT_URL", ""), []string{"OIDC_REDIRECT_URL is required"}},
		{"issuer not a URL", with(base(), "OIDC_ISSUER", "idp.example.com"), []string{"OIDC_ISSUER:"}},
		{"issuer over plain http", with(base(), "OIDC_ISSUER", "http://idp.example.com"), []string{"OIDC_ISSUER:", "https"}},
		{"no secret", with(base(), "OIDC_CLIENT_SECRET_FILE", ""), []string{"OIDC_CLIENT_SECRET_FILE or OIDC_CLIENT_SECRET_ENV is required"}},
		{"two secrets", with(base(), "OIDC_CLIENT_SECRET_ENV", "X"), []string{"both set"}},
		{"secret file missing", with(base(), "OIDC_CLIENT_SECRET_FILE", "/nowhere"), []string{"OIDC_CLIENT_SECRET_FILE: cannot read /nowhere: file does not exist"}},
		{"secret file empty", with(base(), "file:/run/secrets/oidc", "\n"), []string{"OIDC_CLIENT_SECRET_FILE: /run/secrets/oidc is empty"}},
		{"secret variable unset", with(base(), "OIDC_CLIENT_SECRET_FILE", "", "OIDC_CLIENT_SECRET_ENV", "NOT_SET"),
			[]string{"OIDC_CLIENT_SECRET_ENV: the variable it names is not set or empty"}},
		{"the secret itself in OIDC_CLIENT_SECRET_ENV", with(base(), "OIDC_CLIENT_SECRET_FILE", "", "OIDC_CLIENT_SECRET_ENV", secretValue),
			[]string{"OIDC_CLIENT_SECRET_ENV is not a variable name"}},
		{"scopes without openid", with(base(), "OIDC_SCOPES", "profile email"), []string{"OIDC_SCOPES:", "lacks openid"}},
		{"OIDC_ONLY not a bool", with(base(), "OIDC_ONLY", "yes please"), []string{"OIDC_ONLY:"}},
		{"no group roles", with(base(), "OIDC_GROUP_ROLES", ""), []string{"OIDC_GROUP_ROLES is required"}},
		{"bad group roles", with(base(), "OIDC_GROUP_ROLES", "netops=root"), []string{"OIDC_GROUP_ROLES:", `"root"`}},
		{"every problem at once", with(base(), "OIDC_CLIENT_ID", "", "OIDC_GROUP_ROLES", ""),
			[]string{"OIDC_CLIENT_ID", "OIDC_GROUP_ROLES"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ConfigFromEnv(tc.env.getenv, tc.env.readFile)
			if err == nil {
				t.Fatalf("ConfigFromEnv = %v, want an error", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// The secret reference may be wrong; the secret never shows.
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// TestSecretNeverPrinted: fmt and slog print the configuration without
// its secret.
func TestSecretNeverPrinted(t *testing.T) {
	c, err := ConfigFromEnv(base().getenv, base().readFile)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "sso", c, "value", *c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", *c, *c, *c, c), logged.String()} {
		if strings.Contains(out, secretValue) {
			t.Errorf("the secret is printed: %s", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("the secret's presence is not shown: %s", out)
		}
	}
}

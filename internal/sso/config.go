package sso

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the single sign-on's settings, read by ConfigFromEnv.
type Config struct {
	Name         string // shown on the sign-in page: "Sign in with <Name>"
	Issuer       string // the provider's issuer URL, discovery is read under it
	ClientID     string
	ClientSecret string // read through a reference, never printed (see String)
	RedirectURL  string // the console's callback, as registered at the provider
	Scopes       []string
	GroupsClaim  string // the claim holding the groups; default "groups"
	Only         bool   // hide the password form
	Mapping      Mapping

	// Now is the clock the ID token's times are checked against; nil: time.Now.
	Now func() time.Time
}

// String describes c without its secret, for %v and %s.
func (c Config) String() string {
	secret := "unset"
	if c.ClientSecret != "" {
		secret = "[REDACTED]"
	}
	return fmt.Sprintf("sso.Config{Name:%q Issuer:%q ClientID:%q ClientSecret:%s RedirectURL:%q Scopes:%q GroupsClaim:%q Only:%t Mapping:%q}",
		c.Name, c.Issuer, c.ClientID, secret, c.RedirectURL, c.Scopes, c.GroupsClaim, c.Only, c.Mapping.String())
}

// GoString describes c without its secret, for %#v.
func (c Config) GoString() string { return c.String() }

// LogValue describes c without its secret, for slog.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Defaults of the variables ConfigFromEnv reads.
const (
	DefaultScopes      = "openid profile email"
	DefaultGroupsClaim = "groups"
	DefaultName        = "single sign-on"
)

// envNamePattern is an environment variable's name.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ConfigFromEnv reads the single sign-on's settings; nil, nil when
// OIDC_ISSUER is unset (no single sign-on). The client secret is read by
// reference: OIDC_CLIENT_SECRET_FILE names a file (read with readFile),
// OIDC_CLIENT_SECRET_ENV names the variable holding it. Every bad setting is
// reported, each naming its variable; no error holds the secret.
func ConfigFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	issuer := getenv("OIDC_ISSUER")
	if issuer == "" {
		return nil, nil
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	c := &Config{
		Issuer:      issuer,
		ClientID:    getenv("OIDC_CLIENT_ID"),
		RedirectURL: getenv("OIDC_REDIRECT_URL"),
		GroupsClaim: orDefault(getenv("OIDC_GROUPS_CLAIM"), DefaultGroupsClaim),
		Name:        orDefault(getenv("OIDC_NAME"), DefaultName),
	}
	if err := checkURL(issuer); err != nil {
		fail("OIDC_ISSUER: %v", err)
	}
	if c.ClientID == "" {
		fail("OIDC_CLIENT_ID is required with OIDC_ISSUER")
	}
	switch {
	case c.RedirectURL == "":
		fail("OIDC_REDIRECT_URL is required with OIDC_ISSUER (the console's callback URL, as registered at the provider)")
	default:
		if err := checkURL(c.RedirectURL); err != nil {
			fail("OIDC_REDIRECT_URL: %v", err)
		}
	}

	file, env := getenv("OIDC_CLIENT_SECRET_FILE"), getenv("OIDC_CLIENT_SECRET_ENV")
	switch {
	case file != "" && env != "":
		fail("OIDC_CLIENT_SECRET_FILE and OIDC_CLIENT_SECRET_ENV are both set: set one")
	case file != "":
		data, err := readFile(file)
		if err != nil {
			// The path is printed only when it looks like one: a secret pasted
			// here by mistake must not end up in the log.
			what := "the file it names"
			if strings.ContainsAny(file, `/\`) {
				what = file
			}
			fail("OIDC_CLIENT_SECRET_FILE: cannot read %s: %v (it names the file that holds the secret, not the secret)", what, unwrapPathError(err))
			break
		}
		if c.ClientSecret = trimLineBreaks(string(data)); c.ClientSecret == "" {
			fail("OIDC_CLIENT_SECRET_FILE: %s is empty", file)
		}
	case env != "":
		if !envNamePattern.MatchString(env) {
			fail("OIDC_CLIENT_SECRET_ENV is not a variable name (it names the variable that holds the secret, not the secret)")
			break
		}
		if c.ClientSecret = trimLineBreaks(getenv(env)); c.ClientSecret == "" {
			fail("OIDC_CLIENT_SECRET_ENV: the variable it names is not set or empty (put the secret in a variable and name that variable here)")
		}
	default:
		fail("OIDC_CLIENT_SECRET_FILE or OIDC_CLIENT_SECRET_ENV is required with OIDC_ISSUER (the secret is read by reference, from a file or a variable)")
	}

	c.Scopes = strings.FieldsFunc(orDefault(getenv("OIDC_SCOPES"), DefaultScopes), func(r rune) bool { return r == ' ' || r == ',' })
	if !slices.Contains(c.Scopes, "openid") {
		fail("OIDC_SCOPES: %q lacks openid", strings.Join(c.Scopes, " "))
	}

	if v := getenv("OIDC_ONLY"); v != "" {
		only, err := strconv.ParseBool(v)
		if err != nil {
			fail("OIDC_ONLY: %q is not true or false", v)
		}
		c.Only = only
	}

	if v := getenv("OIDC_GROUP_ROLES"); v == "" {
		fail("OIDC_GROUP_ROLES is required with OIDC_ISSUER (e.g. netops=editor,auditors=viewer@prod): without it nobody could sign in")
	} else if m, err := ParseMapping(v); err != nil {
		fail("OIDC_GROUP_ROLES: %v", err)
	} else {
		c.Mapping = m
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// checkURL accepts an absolute https URL, or http to a loopback host (a
// provider on the same machine, as in the demo).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q must use https (http only to localhost)", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// trimLineBreaks drops the line breaks around a secret (a file's final
// newline), and nothing else: a space may belong to it.
func trimLineBreaks(s string) string { return strings.Trim(s, "\r\n") }

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

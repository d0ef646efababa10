// Package projects reads which Huawei Cloud projects the console serves:
// from a configuration file (Load), from today's single-project environment
// variables (FromConfig) or as the built-in demo (Demo). Each project has a
// name that becomes its URL prefix (/p/{name}/), a region, a project id, the
// endpoints it is reached at, and credentials that are read from where the
// file points (an environment variable or a file), never from the file
// itself.
package projects

import (
	"fmt"
	"log/slog"
	"regexp"
)

// Config is every project the console serves, in the order given.
type Config struct {
	Projects []Project
}

// Project is one Huawei Cloud project: one region, one project id.
type Project struct {
	// Name is unique and URL-safe (a slug): it is the project's path
	// prefix, /p/{name}/.
	Name      string
	Region    string // e.g. cn-north-4; may be empty in FromConfig when an endpoint is given
	ProjectID string // 32 hex digits
	// Endpoint is the VPCEP base URL: the file's endpoint when given, else
	// the SDK's for Region.
	Endpoint string
	// IAMEndpoint is where IAM tokens are obtained for CredentialIAMUser
	// (and fixed tokens validated): the file's iam_endpoint when given,
	// else the SDK's IAM endpoint for Region; "" when neither is known.
	IAMEndpoint string
	// CTSEndpoint is the Cloud Trace Service's base URL, when given.
	CTSEndpoint string
	Credentials Credentials
	// Line is where the project starts in the file; 0 when not from a file.
	Line int
}

// CredentialKind says how a project authenticates.
type CredentialKind string

// The kinds of credentials a project can use.
const (
	CredentialAKSK    CredentialKind = "aksk"     // AK/SK request signing
	CredentialToken   CredentialKind = "token"    // a fixed IAM token (it expires: see vpcep.TokenExpiry)
	CredentialIAMUser CredentialKind = "iam_user" // a token obtained and renewed from an IAM user's password
)

// Credentials are a project's resolved secrets. Only the fields of Kind are
// set. They print and log as their kind only.
type Credentials struct {
	Kind    CredentialKind
	AK, SK  Secret
	Token   Secret
	IAMUser IAMUser
}

// IAMUser is an IAM user that can obtain a project-scoped token.
type IAMUser struct {
	Name     string
	Password Secret
	// Domain is the account (domain) name the user belongs to.
	Domain string
}

// String says the kind of the credentials and nothing secret.
func (c Credentials) String() string {
	if c.Kind == CredentialIAMUser {
		return fmt.Sprintf("%s(%s@%s)", c.Kind, c.IAMUser.Name, c.IAMUser.Domain)
	}
	return string(c.Kind)
}

// LogValue keeps the secrets out of logs.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Secret is a secret value read from where the configuration points. It
// prints and logs as [REDACTED]; Reveal gives the value, for the one place
// that sends it.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String hides the secret from fmt's %v and %s.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString hides the secret from fmt's %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue hides the secret from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText hides the secret from encoders (JSON, YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// slugPattern is a project name: lower-case letters, digits and inner
// hyphens, at most 63 characters, so it fits a URL path segment (and a DNS
// label) unescaped.
var slugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// projectIDPattern is a Huawei Cloud project id.
var projectIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidName reports whether name can be a project's name.
func ValidName(name string) bool { return slugPattern.MatchString(name) }

// Package config reads the console's settings from the environment and the
// command line (a flag overrides its variable) and validates them before
// anything starts, naming the variable at fault.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdkregion "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/vpcep/v1/region"
)

// Config is everything `web serve` needs.
type Config struct {
	Listen          string        // LISTEN_ADDR, --listen
	DatabaseURL     string        // DATABASE_URL
	NoMigrate       bool          // --no-migrate
	Demo            bool          // VPCEP_DEMO, --demo
	DemoEndpoints   int           // VPCEP_DEMO_ENDPOINTS: generated endpoints instead of the demo set
	Region          string        // VPCEP_REGION
	ProjectID       string        // VPCEP_PROJECT_ID
	Endpoint        string        // VPCEP_ENDPOINT
	AK, SK          string        // HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK
	Token           string        // VPCEP_AUTH_TOKEN
	Timeout         time.Duration // VPCEP_TIMEOUT, per upstream call
	RefreshInterval time.Duration // INVENTORY_REFRESH_INTERVAL
	LogLevel        string        // LOG_LEVEL
	SessionIdle     time.Duration // SESSION_IDLE_TIMEOUT
	SessionLifetime time.Duration // SESSION_LIFETIME
	CookieSecure    bool          // COOKIE_SECURE; off only with --demo
	TrustedProxies  []*net.IPNet  // TRUSTED_PROXIES: CIDRs allowed to set X-Forwarded-For
	TLSCert         string        // TLS_CERT_FILE, --tls-cert
	TLSKey          string        // TLS_KEY_FILE, --tls-key
}

// Load parses args (after the subcommand) over the environment read by getenv.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var errs []error
	envDuration := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 30s, 2m)", name, v))
			return def
		}
		return d
	}
	envBool := func(name string) bool {
		v := getenv(name)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
		}
		return b
	}
	envInt := func(name string) int {
		v := getenv(name)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number", name, v))
		}
		return n
	}
	orDefault := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}

	c := Config{
		Listen:          orDefault(getenv("LISTEN_ADDR"), ":8080"),
		DatabaseURL:     getenv("DATABASE_URL"),
		Demo:            envBool("VPCEP_DEMO"),
		DemoEndpoints:   envInt("VPCEP_DEMO_ENDPOINTS"),
		Region:          getenv("VPCEP_REGION"),
		ProjectID:       getenv("VPCEP_PROJECT_ID"),
		Endpoint:        getenv("VPCEP_ENDPOINT"),
		AK:              getenv("HUAWEICLOUD_SDK_AK"),
		SK:              getenv("HUAWEICLOUD_SDK_SK"),
		Token:           getenv("VPCEP_AUTH_TOKEN"),
		Timeout:         envDuration("VPCEP_TIMEOUT", 30*time.Second),
		RefreshInterval: envDuration("INVENTORY_REFRESH_INTERVAL", 60*time.Second),
		LogLevel:        orDefault(getenv("LOG_LEVEL"), "info"),
		SessionIdle:     envDuration("SESSION_IDLE_TIMEOUT", 30*time.Minute),
		SessionLifetime: envDuration("SESSION_LIFETIME", 12*time.Hour),
		TLSCert:         getenv("TLS_CERT_FILE"),
		TLSKey:          getenv("TLS_KEY_FILE"),
	}
	cookieSecure := getenv("COOKIE_SECURE")
	for _, item := range strings.FieldsFunc(getenv("TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		cidr := item
		if ip := net.ParseIP(item); ip != nil {
			cidr = item + "/128"
			if ip.To4() != nil {
				cidr = item + "/32"
			}
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is not an address or CIDR range", item))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}

	fs := flag.NewFlagSet("web serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve on (LISTEN_ADDR)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "serve the built-in simulator's demo data (VPCEP_DEMO)")
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "do not apply pending migrations at start; refuse to serve if any are pending")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS with this certificate file (TLS_CERT_FILE)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the certificate's key file (TLS_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Cookies are Secure unless this is a plain-http demo: COOKIE_SECURE=false
	// is refused anywhere else.
	c.CookieSecure = true
	switch cookieSecure {
	case "":
		c.CookieSecure = !c.Demo || c.TLSCert != ""
	default:
		b, err := strconv.ParseBool(cookieSecure)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("COOKIE_SECURE: %q is not true or false", cookieSecure))
		case !b && !c.Demo:
			errs = append(errs, errors.New("COOKIE_SECURE=false is only allowed with --demo (plain-http local demo)"))
		default:
			c.CookieSecure = b
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE (--tls-cert) and TLS_KEY_FILE (--tls-key) go together"))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	errs = append(errs, c.validate()...)
	return c, errors.Join(errs...)
}

func (c *Config) validate() []error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (e.g. postgres://user@localhost:5432/vpcep)"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.Demo {
		// The demo brings its own simulator, project and credentials.
		return errs
	}
	if c.ProjectID == "" {
		errs = append(errs, errors.New("VPCEP_PROJECT_ID is required unless --demo"))
	}
	switch {
	case c.Endpoint != "":
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("VPCEP_ENDPOINT: %q is not an http(s) URL", c.Endpoint))
		}
	case c.Region == "":
		errs = append(errs, errors.New("VPCEP_REGION (e.g. cn-north-4) or VPCEP_ENDPOINT is required unless --demo"))
	default:
		if _, err := sdkregion.SafeValueOf(c.Region); err != nil {
			errs = append(errs, fmt.Errorf("VPCEP_REGION: unknown region %q", c.Region))
		}
	}
	switch {
	case c.AK != "" && c.SK == "":
		errs = append(errs, errors.New("HUAWEICLOUD_SDK_SK is required when HUAWEICLOUD_SDK_AK is set"))
	case c.SK != "" && c.AK == "":
		errs = append(errs, errors.New("HUAWEICLOUD_SDK_AK is required when HUAWEICLOUD_SDK_SK is set"))
	case c.AK == "" && c.Token == "":
		errs = append(errs, errors.New("credentials are required unless --demo: set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, or VPCEP_AUTH_TOKEN"))
	}
	return errs
}

// DatabaseURL returns DATABASE_URL for the commands that need only the database.
func DatabaseURL(getenv func(string) string) (string, error) {
	u := getenv("DATABASE_URL")
	if u == "" {
		return "", errors.New("DATABASE_URL is required (e.g. postgres://user@localhost:5432/vpcep)")
	}
	return u, nil
}

// Package config reads the console's settings from the environment and the
// command line (a flag overrides its variable) and validates them before
// anything starts, naming the variable at fault.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Config is everything `web serve` needs.
type Config struct {
	Listen        string // LISTEN_ADDR, --listen
	MetricsAddr   string // METRICS_ADDR, --metrics-addr: /metrics on its own listener; off when ""
	DatabaseURL   string // DATABASE_URL
	NoMigrate     bool   // --no-migrate
	Demo          bool   // VPCEP_DEMO, --demo
	DemoEndpoints int    // VPCEP_DEMO_ENDPOINTS: generated endpoints instead of the demo set
	// ProjectsFile lists the projects served (VPCEP_CONFIG, --config); when
	// empty, the single-project variables below are the one project.
	ProjectsFile    string
	Region          string        // VPCEP_REGION
	ProjectID       string        // VPCEP_PROJECT_ID
	Endpoint        string        // VPCEP_ENDPOINT
	AK, SK          string        // HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK
	Token           string        // VPCEP_AUTH_TOKEN
	Timeout         time.Duration // VPCEP_TIMEOUT, per upstream call
	RefreshInterval time.Duration // INVENTORY_REFRESH_INTERVAL
	// RefreshConcurrency bounds how many projects' refreshes read their
	// upstream at once (INVENTORY_REFRESH_CONCURRENCY; 4 when unset).
	RefreshConcurrency int
	// ChangeDeadline bounds a change's PUT, read-back and finalise
	// (CHANGE_DEADLINE; 2 x VPCEP_TIMEOUT + 15 s when unset).
	ChangeDeadline time.Duration
	// ReconcileInterval is how often entries left pending are looked for
	// (RECONCILE_INTERVAL).
	ReconcileInterval time.Duration
	LogLevel          string // LOG_LEVEL
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (MEMORY_LIMIT; DefaultMemoryLimit when unset, 0 for none). GOMEMLIMIT,
	// read by the runtime itself, wins over it.
	MemoryLimit     int64
	SessionIdle     time.Duration // SESSION_IDLE_TIMEOUT
	SessionLifetime time.Duration // SESSION_LIFETIME
	CookieSecure    bool          // COOKIE_SECURE; off only with --demo
	TrustedProxies  []*net.IPNet  // TRUSTED_PROXIES: CIDRs allowed to set X-Forwarded-For
	TLSCert         string        // TLS_CERT_FILE, --tls-cert
	TLSKey          string        // TLS_KEY_FILE, --tls-key
	// CTSEnabled asks Cloud Trace Service who changed an endpoint outside
	// the console (CTS_ENABLED); CTSEndpoint overrides the region's CTS
	// endpoint (CTS_ENDPOINT), as Endpoint does for VPCEP.
	CTSEnabled  bool
	CTSEndpoint string
}

// Load parses args (after the subcommand) over the environment read by
// getenv. Every bad setting is reported, each naming its variable.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := &envReader{getenv: getenv}
	var c Config
	env.readServer(&c)
	env.readUpstream(&c)
	env.readWebSecurity(&c)
	extra, err := parseFlags(&c, args, stderr)
	if err != nil {
		return c, err
	}
	c = c.WithDefaults()
	errs := env.errs
	if err := c.setCookieSecure(getenv("COOKIE_SECURE")); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.validate(extra)...)
	return c, errors.Join(errs...)
}

// envReader reads typed variables, keeping an error that names each bad one
// so that one start reports them all.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (e *envReader) stringOr(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 30s, 2m)", name, v))
		return def
	}
	return d
}

func (e *envReader) bool(name string) bool {
	v := e.getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not true or false", name, v))
	}
	return b
}

func (e *envReader) int(name string) int {
	v := e.getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a whole number", name, v))
	}
	return n
}

// DefaultMemoryLimit is the soft memory limit when MEMORY_LIMIT is unset:
// it keeps the console's peak memory, with the whole inventory in memory
// and a refresh under way, well under 64 MB, at the cost of more garbage
// collection near the limit.
const DefaultMemoryLimit = 48 << 20

// byteSizeUnits are the suffixes byteSize takes, as GOMEMLIMIT does.
var byteSizeUnits = []struct {
	suffix string
	bytes  int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// byteSize reads a size in bytes written as GOMEMLIMIT is (a whole number
// with an optional B, KiB, MiB, GiB or TiB), or "off" (0).
func (e *envReader) byteSize(name string, def int64) int64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	if v == "off" {
		return 0
	}
	number, unit := v, int64(1)
	for _, u := range byteSizeUnits {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			number, unit = n, u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/unit {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a size (e.g. 48MiB, 1GiB, or off)", name, v))
		return def
	}
	return n * unit
}

// readServer reads the process's own settings: where it listens, its
// database, its log and the demo switch.
func (e *envReader) readServer(c *Config) {
	c.Listen = e.stringOr("LISTEN_ADDR", ":8080")
	c.MetricsAddr = e.getenv("METRICS_ADDR")
	c.DatabaseURL = e.getenv("DATABASE_URL")
	c.Demo = e.bool("VPCEP_DEMO")
	c.ProjectsFile = e.getenv("VPCEP_CONFIG")
	c.DemoEndpoints = e.int("VPCEP_DEMO_ENDPOINTS")
	c.LogLevel = e.stringOr("LOG_LEVEL", "info")
}

// readUpstream reads where the VPCEP API is, how to sign in to it, and how
// long to wait for it and between inventory refreshes.
func (e *envReader) readUpstream(c *Config) {
	c.Region = e.getenv("VPCEP_REGION")
	c.ProjectID = e.getenv("VPCEP_PROJECT_ID")
	c.Endpoint = e.getenv("VPCEP_ENDPOINT")
	c.AK = e.getenv("HUAWEICLOUD_SDK_AK")
	c.SK = e.getenv("HUAWEICLOUD_SDK_SK")
	c.Token = e.getenv("VPCEP_AUTH_TOKEN")
	c.Timeout = e.duration("VPCEP_TIMEOUT", 30*time.Second)
	c.CTSEnabled = e.bool("CTS_ENABLED")
	c.CTSEndpoint = e.getenv("CTS_ENDPOINT")
	c.RefreshInterval = e.duration("INVENTORY_REFRESH_INTERVAL", 60*time.Second)
	c.RefreshConcurrency = e.int("INVENTORY_REFRESH_CONCURRENCY")
	c.MemoryLimit = e.byteSize("MEMORY_LIMIT", DefaultMemoryLimit)
	c.ChangeDeadline = e.duration("CHANGE_DEADLINE", 0)       // WithDefaults when unset
	c.ReconcileInterval = e.duration("RECONCILE_INTERVAL", 0) // WithDefaults when unset
}

// WithDefaults is c with the settings that default from others, or to a
// constant, filled in where unset (zero): ChangeDeadline from Timeout
// (DefaultChangeDeadline) and ReconcileInterval (DefaultReconcileInterval).
// Load applies it; a Config built by hand (the tests') should too.
func (c Config) WithDefaults() Config {
	if c.ChangeDeadline == 0 {
		c.ChangeDeadline = DefaultChangeDeadline(c.Timeout)
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = DefaultReconcileInterval
	}
	if c.RefreshConcurrency <= 0 {
		c.RefreshConcurrency = DefaultRefreshConcurrency
	}
	return c
}

// DefaultRefreshConcurrency is how many projects' refreshes read their
// upstream at once when the configuration does not say.
const DefaultRefreshConcurrency = 4

// DefaultChangeDeadline is a change's deadline for an upstream timeout:
// past the timeout of the PUT and of the read-back, with time to spare for
// the audit log.
func DefaultChangeDeadline(upstreamTimeout time.Duration) time.Duration {
	return 2*upstreamTimeout + 15*time.Second
}

// DefaultReconcileInterval is how often, by default, entries left pending
// are looked for.
const DefaultReconcileInterval = time.Minute

// readWebSecurity reads the sessions, TLS and trusted proxies. COOKIE_SECURE
// waits for the flags: its default depends on --demo and --tls-cert.
func (e *envReader) readWebSecurity(c *Config) {
	c.SessionIdle = e.duration("SESSION_IDLE_TIMEOUT", 30*time.Minute)
	c.SessionLifetime = e.duration("SESSION_LIFETIME", 12*time.Hour)
	c.TLSCert = e.getenv("TLS_CERT_FILE")
	c.TLSKey = e.getenv("TLS_KEY_FILE")
	c.TrustedProxies = e.trustedProxies("TRUSTED_PROXIES")
}

// trustedProxies reads a list of addresses and CIDR ranges, separated by
// commas or spaces; an address is a range of one.
func (e *envReader) trustedProxies(name string) []*net.IPNet {
	var nets []*net.IPNet
	for _, item := range strings.FieldsFunc(e.getenv(name), func(r rune) bool { return r == ',' || r == ' ' }) {
		cidr := item
		if ip := net.ParseIP(item); ip != nil {
			cidr = item + "/128"
			if ip.To4() != nil {
				cidr = item + "/32"
			}
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s: %q is not an address or CIDR range", name, item))
			continue
		}
		nets = append(nets, n)
	}
	return nets
}

// parseFlags lets the flags override what c read from the environment, and
// returns the arguments left over.
func parseFlags(c *Config, args []string, stderr io.Writer) ([]string, error) {
	fs := flag.NewFlagSet("web serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve on (LISTEN_ADDR)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "serve /metrics on this address of its own; off when empty (METRICS_ADDR)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "serve the built-in simulators' demo data, two projects (VPCEP_DEMO)")
	fs.StringVar(&c.ProjectsFile, "config", c.ProjectsFile, "serve the projects listed in this YAML file (VPCEP_CONFIG)")
	fs.BoolVar(&c.NoMigrate, "no-migrate", false, "do not apply pending migrations at start; refuse to serve if any are pending")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "serve HTTPS with this certificate file (TLS_CERT_FILE)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "the certificate's key file (TLS_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// setCookieSecure settles CookieSecure from COOKIE_SECURE's value v. Cookies
// are Secure unless this is a plain-http demo: COOKIE_SECURE=false is
// refused anywhere else.
func (c *Config) setCookieSecure(v string) error {
	c.CookieSecure = true
	if v == "" {
		c.CookieSecure = !c.Demo || c.TLSCert != ""
		return nil
	}
	b, err := strconv.ParseBool(v)
	switch {
	case err != nil:
		return fmt.Errorf("COOKIE_SECURE: %q is not true or false", v)
	case !b && !c.Demo:
		return errors.New("COOKIE_SECURE=false is only allowed with --demo (plain-http local demo)")
	}
	c.CookieSecure = b
	return nil
}

// validate checks the settings together, extra being the arguments the
// flags left over.
func (c *Config) validate(extra []string) []error {
	var errs []error
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE (--tls-cert) and TLS_KEY_FILE (--tls-key) go together"))
	}
	if len(extra) > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", extra[0]))
	}
	if c.MetricsAddr != "" {
		// Metrics never share the public listener: they are for the
		// operators' network, not for whoever reaches the console.
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_ADDR (--metrics-addr): %q is not a host:port address (e.g. 127.0.0.1:9100)", c.MetricsAddr))
		} else if c.MetricsAddr == c.Listen {
			errs = append(errs, fmt.Errorf("METRICS_ADDR (--metrics-addr) must differ from LISTEN_ADDR (--listen): metrics are never served on the public listener"))
		}
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (e.g. postgres://user@localhost:5432/vpcep)"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel))
	}
	if c.ProjectsFile != "" {
		return append(errs, c.validateProjectsFile()...)
	}
	return append(errs, c.validateUpstream()...)
}

// validateProjectsFile checks that a projects file is the only place the
// projects are given: a single-project variable beside it would be
// silently ignored, so it is refused, by name.
func (c Config) validateProjectsFile() []error {
	if c.Demo {
		return []error{errors.New("--demo and VPCEP_CONFIG (--config) exclude each other: the demo brings its own projects")}
	}
	var set []string
	for _, v := range []struct{ name, value string }{
		{"VPCEP_PROJECT_ID", c.ProjectID}, {"VPCEP_REGION", c.Region}, {"VPCEP_ENDPOINT", c.Endpoint},
		{"HUAWEICLOUD_SDK_AK", c.AK}, {"HUAWEICLOUD_SDK_SK", c.SK}, {"VPCEP_AUTH_TOKEN", c.Token},
		{"CTS_ENDPOINT", c.CTSEndpoint},
	} {
		if v.value != "" {
			set = append(set, v.name)
		}
	}
	if len(set) > 0 {
		return []error{fmt.Errorf("VPCEP_CONFIG (--config) lists the projects: unset %s (a project's settings go in the file)", strings.Join(set, ", "))}
	}
	return nil
}

// validateUpstream checks the upstream's settings, each error naming its
// variable.
func (c Config) validateUpstream() []error {
	var errs []error
	if c.CTSEndpoint != "" && !isHTTPURL(c.CTSEndpoint) {
		errs = append(errs, fmt.Errorf("CTS_ENDPOINT: %q is not an http(s) URL", c.CTSEndpoint))
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
		if !isHTTPURL(c.Endpoint) {
			errs = append(errs, fmt.Errorf("VPCEP_ENDPOINT: %q is not an http(s) URL", c.Endpoint))
		}
	case c.Region == "":
		errs = append(errs, errors.New("VPCEP_REGION (e.g. cn-north-4) or VPCEP_ENDPOINT is required unless --demo"))
	default:
		if _, err := vpcep.VPCEPEndpoint(c.Region); err != nil {
			errs = append(errs, fmt.Errorf("VPCEP_REGION: unknown region %q", c.Region))
		}
	}
	if c.CTSEnabled && c.CTSEndpoint == "" && c.Region != "" {
		// A region the SDK's VPCEP table knows may still be missing from
		// its CTS table.
		if _, err := vpcep.CTSEndpoint(c.Region); err != nil {
			errs = append(errs, fmt.Errorf("CTS_ENDPOINT is required with CTS_ENABLED: the SDK knows no CTS endpoint for region %q", c.Region))
		}
	}
	if c.CTSEnabled && c.CTSEndpoint == "" && c.Region == "" {
		errs = append(errs, errors.New("CTS_ENDPOINT is required with CTS_ENABLED when VPCEP_REGION is not set"))
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

// isHTTPURL reports whether v is an absolute http(s) URL with a host.
func isHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// DatabaseURL returns DATABASE_URL for the commands that need only the database.
func DatabaseURL(getenv func(string) string) (string, error) {
	u := getenv("DATABASE_URL")
	if u == "" {
		return "", errors.New("DATABASE_URL is required (e.g. postgres://user@localhost:5432/vpcep)")
	}
	return u, nil
}

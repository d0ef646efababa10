package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"DATABASE_URL":       "postgres://localhost/vpcep",
		"VPCEP_PROJECT_ID":   "p1",
		"VPCEP_REGION":       "cn-north-4",
		"HUAWEICLOUD_SDK_AK": "AK",
		"HUAWEICLOUD_SDK_SK": "SK",
	}
	with := func(changes map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string // substring; "" means valid
	}{
		{"valid AK/SK", base, nil, ""},
		{"valid token", with(map[string]string{"HUAWEICLOUD_SDK_AK": "", "HUAWEICLOUD_SDK_SK": "", "VPCEP_AUTH_TOKEN": "tok"}), nil, ""},
		{"demo needs only the database", map[string]string{"DATABASE_URL": "postgres://x/y"}, []string{"--demo"}, ""},
		{"demo from the environment", map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_DEMO": "true"}, nil, ""},
		{"no database", with(map[string]string{"DATABASE_URL": ""}), nil, "DATABASE_URL is required"},
		{"no project", with(map[string]string{"VPCEP_PROJECT_ID": ""}), nil, "VPCEP_PROJECT_ID is required unless --demo"},
		{"no region nor endpoint", with(map[string]string{"VPCEP_REGION": ""}), nil, "VPCEP_REGION (e.g. cn-north-4) or VPCEP_ENDPOINT is required"},
		{"unknown region", with(map[string]string{"VPCEP_REGION": "mars-1"}), nil, `VPCEP_REGION: unknown region "mars-1"`},
		{"endpoint instead of region", with(map[string]string{"VPCEP_REGION": "", "VPCEP_ENDPOINT": "http://127.0.0.1:9090"}), nil, ""},
		{"bad endpoint", with(map[string]string{"VPCEP_ENDPOINT": "ftp://x"}), nil, "VPCEP_ENDPOINT"},
		{"AK without SK", with(map[string]string{"HUAWEICLOUD_SDK_SK": ""}), nil, "HUAWEICLOUD_SDK_SK is required when HUAWEICLOUD_SDK_AK is set"},
		{"no credentials", with(map[string]string{"HUAWEICLOUD_SDK_AK": "", "HUAWEICLOUD_SDK_SK": ""}), nil, "VPCEP_AUTH_TOKEN"},
		{"bad timeout", with(map[string]string{"VPCEP_TIMEOUT": "soon"}), nil, "VPCEP_TIMEOUT"},
		{"bad change deadline", with(map[string]string{"CHANGE_DEADLINE": "-1s"}), nil, "CHANGE_DEADLINE"},
		{"bad reconcile interval", with(map[string]string{"RECONCILE_INTERVAL": "often"}), nil, "RECONCILE_INTERVAL"},
		{"bad refresh interval", with(map[string]string{"INVENTORY_REFRESH_INTERVAL": "-1s"}), nil, "INVENTORY_REFRESH_INTERVAL"},
		{"bad demo flag", with(map[string]string{"VPCEP_DEMO": "maybe"}), nil, "VPCEP_DEMO"},
		{"bad log level", with(map[string]string{"LOG_LEVEL": "loud"}), nil, "LOG_LEVEL"},
		{"stray argument", base, []string{"extra"}, `unexpected argument "extra"`},
		{"insecure cookies outside the demo", with(map[string]string{"COOKIE_SECURE": "false"}), nil, "COOKIE_SECURE=false is only allowed with --demo"},
		{"insecure cookies in the demo", map[string]string{"DATABASE_URL": "postgres://x/y", "COOKIE_SECURE": "false"}, []string{"--demo"}, ""},
		{"bad proxy", with(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, not-an-ip"}), nil, `TRUSTED_PROXIES: "not-an-ip"`},
		{"proxies", with(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8 192.0.2.7 2001:db8::1"}), nil, ""},
		{"certificate without key", with(map[string]string{"TLS_CERT_FILE": "c.pem"}), nil, "TLS_KEY_FILE"},
		{"bad idle timeout", with(map[string]string{"SESSION_IDLE_TIMEOUT": "forever"}), nil, "SESSION_IDLE_TIMEOUT"},
		{"metrics listener", with(map[string]string{"METRICS_ADDR": "127.0.0.1:9100"}), nil, ""},
		{"metrics listener from the flag", base, []string{"--metrics-addr", ":9100"}, ""},
		{"bad metrics address", with(map[string]string{"METRICS_ADDR": "9100"}), nil, "METRICS_ADDR (--metrics-addr)"},
		{"metrics on the public listener", with(map[string]string{"METRICS_ADDR": ":8080"}), nil, "must differ from LISTEN_ADDR"},
		{"CTS from the region table", with(map[string]string{"CTS_ENABLED": "true"}), nil, ""},
		{"CTS endpoint", with(map[string]string{"CTS_ENABLED": "true", "CTS_ENDPOINT": "https://cts.example.test"}), nil, ""},
		{"bad CTS switch", with(map[string]string{"CTS_ENABLED": "sometimes"}), nil, `CTS_ENABLED: "sometimes" is not true or false`},
		{"bad CTS endpoint", with(map[string]string{"CTS_ENDPOINT": "cts.example.test"}), nil, `CTS_ENDPOINT: "cts.example.test" is not an http(s) URL`},
		{"bad CTS endpoint in the demo", map[string]string{"DATABASE_URL": "postgres://x/y", "CTS_ENDPOINT": "ftp://x"}, []string{"--demo"}, "CTS_ENDPOINT"},
		{"CTS without a region", with(map[string]string{"CTS_ENABLED": "true", "VPCEP_REGION": "", "VPCEP_ENDPOINT": "http://127.0.0.1:9090"}), nil, "CTS_ENDPOINT is required with CTS_ENABLED"},
		{"CTS with the endpoint alone", with(map[string]string{"CTS_ENABLED": "true", "VPCEP_REGION": "", "VPCEP_ENDPOINT": "http://127.0.0.1:9090", "CTS_ENDPOINT": "http://127.0.0.1:9090"}), nil, ""},
		{"CTS in an unknown region", with(map[string]string{"CTS_ENABLED": "true", "VPCEP_REGION": "mars-1", "VPCEP_ENDPOINT": "http://127.0.0.1:9090"}), nil, `CTS_ENDPOINT is required with CTS_ENABLED: the SDK knows no CTS endpoint for region "mars-1"`},
		{"projects file", map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_CONFIG": "projects.yaml"}, nil, ""},
		{"projects file from the flag", map[string]string{"DATABASE_URL": "postgres://x/y"}, []string{"--config", "projects.yaml"}, ""},
		{"projects file and the single-project variables", with(map[string]string{"VPCEP_CONFIG": "projects.yaml"}), nil,
			"VPCEP_CONFIG (--config) lists the projects: unset VPCEP_PROJECT_ID, VPCEP_REGION, HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK"},
		{"projects file and the demo", map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_CONFIG": "projects.yaml"}, []string{"--demo"}, "--demo and VPCEP_CONFIG (--config) exclude each other"},
		{"refresh concurrency", with(map[string]string{"INVENTORY_REFRESH_CONCURRENCY": "2"}), nil, ""},
		{"bad refresh concurrency", with(map[string]string{"INVENTORY_REFRESH_CONCURRENCY": "many"}), nil, "INVENTORY_REFRESH_CONCURRENCY"},
		{"CTS off in an unknown region", with(map[string]string{"VPCEP_REGION": "mars-1", "VPCEP_ENDPOINT": "http://127.0.0.1:9090"}), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.args, env(tt.env), io.Discard)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load() = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--listen", "127.0.0.1:9999", "--no-migrate", "--metrics-addr", "127.0.0.1:9200"},
		env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_DEMO": "1", "LISTEN_ADDR": ":7000", "VPCEP_TIMEOUT": "5s", "METRICS_ADDR": "127.0.0.1:9100"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || !c.NoMigrate || !c.Demo || c.Timeout != 5*time.Second || c.RefreshInterval != time.Minute ||
		c.MetricsAddr != "127.0.0.1:9200" || c.ChangeDeadline != 25*time.Second || c.ReconcileInterval != time.Minute {
		t.Fatalf("config = %+v", c)
	}
}

func TestCookieSecurityDefaults(t *testing.T) {
	t.Parallel()
	prod, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p", "VPCEP_REGION": "cn-north-4", "VPCEP_AUTH_TOKEN": "t"}), io.Discard)
	if err != nil || !prod.CookieSecure || prod.SessionIdle != 30*time.Minute || prod.SessionLifetime != 12*time.Hour {
		t.Fatalf("production defaults: %+v %v", prod, err)
	}
	demo, err := Load([]string{"--demo"}, env(map[string]string{"DATABASE_URL": "postgres://x/y"}), io.Discard)
	if err != nil || demo.CookieSecure {
		t.Fatalf("a plain-http demo gets Secure cookies: %v", err)
	}
	quick, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p", "VPCEP_REGION": "cn-north-4",
		"VPCEP_AUTH_TOKEN": "t", "CHANGE_DEADLINE": "2s", "RECONCILE_INTERVAL": "5s"}), io.Discard)
	if err != nil || quick.ChangeDeadline != 2*time.Second || quick.ReconcileInterval != 5*time.Second {
		t.Fatalf("change deadline and reconcile interval: %+v %v", quick, err)
	}
	proxies, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p", "VPCEP_REGION": "cn-north-4",
		"VPCEP_AUTH_TOKEN": "t", "TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.7"}), io.Discard)
	if err != nil || len(proxies.TrustedProxies) != 2 || proxies.TrustedProxies[1].String() != "192.0.2.7/32" {
		t.Fatalf("proxies: %v %v", proxies.TrustedProxies, err)
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	got := Config{Timeout: 5 * time.Second}.WithDefaults()
	if got.ChangeDeadline != 25*time.Second || got.ReconcileInterval != DefaultReconcileInterval {
		t.Errorf("defaults: %v, %v", got.ChangeDeadline, got.ReconcileInterval)
	}
	set := Config{Timeout: 5 * time.Second, ChangeDeadline: time.Second, ReconcileInterval: 2 * time.Second}.WithDefaults()
	if set.ChangeDeadline != time.Second || set.ReconcileInterval != 2*time.Second {
		t.Errorf("set values replaced: %v, %v", set.ChangeDeadline, set.ReconcileInterval)
	}
}

func TestCTSSettings(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p", "VPCEP_REGION": "cn-north-4",
		"VPCEP_AUTH_TOKEN": "t", "CTS_ENABLED": "true", "CTS_ENDPOINT": "http://127.0.0.1:9090"}), io.Discard)
	if err != nil || !c.CTSEnabled || c.CTSEndpoint != "http://127.0.0.1:9090" {
		t.Fatalf("CTS settings: %v %v %v", c.CTSEnabled, c.CTSEndpoint, err)
	}
	off, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p", "VPCEP_REGION": "cn-north-4", "VPCEP_AUTH_TOKEN": "t"}), io.Discard)
	if err != nil || off.CTSEnabled || off.CTSEndpoint != "" {
		t.Fatalf("CTS is off by default: %v %v %v", off.CTSEnabled, off.CTSEndpoint, err)
	}
}

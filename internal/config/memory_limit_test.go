package config

import (
	"io"
	"strings"
	"testing"
)

// MEMORY_LIMIT is read as GOMEMLIMIT is written; unset is the default, and
// "off" or 0 is no limit. A bad one names the variable.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value   string
		want    int64
		wantErr bool
	}{
		{"", DefaultMemoryLimit, false},
		{"48MiB", 48 << 20, false},
		{"1GiB", 1 << 30, false},
		{"512KiB", 512 << 10, false},
		{"2TiB", 2 << 40, false},
		{"50000000", 50000000, false},
		{"50000000B", 50000000, false},
		{"off", 0, false},
		{"0", 0, false},
		{"lots", 0, true},
		{"48MB", 0, true},
		{"-1MiB", 0, true},
		{"9999999999TiB", 0, true},
	} {
		t.Run(tt.value, func(t *testing.T) {
			cfg, err := Load(nil, env(map[string]string{"DATABASE_URL": "postgres://x/y", "VPCEP_PROJECT_ID": "p",
				"VPCEP_REGION": "cn-north-4", "VPCEP_AUTH_TOKEN": "t", "MEMORY_LIMIT": tt.value}), io.Discard)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "MEMORY_LIMIT") {
					t.Fatalf("Load with MEMORY_LIMIT=%q = %v, want an error naming MEMORY_LIMIT", tt.value, err)
				}
				return
			}
			if err != nil || cfg.MemoryLimit != tt.want {
				t.Fatalf("MEMORY_LIMIT=%q: %d, %v; want %d", tt.value, cfg.MemoryLimit, err, tt.want)
			}
		})
	}
}

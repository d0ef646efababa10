package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// MEMORY_LIMIT becomes the runtime's soft memory limit, unless GOMEMLIMIT
// is set (the runtime applied that one, and it wins) or the limit is off.
// Not parallel: the limit is the whole process's.
func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	const fromGOMEMLIMIT = 300 << 20
	for _, tt := range []struct {
		name       string
		limit      int64
		gomemlimit string
		want       int64
	}{
		{"MEMORY_LIMIT applies", 48 << 20, "", 48 << 20},
		{"GOMEMLIMIT wins", 48 << 20, "300MiB", fromGOMEMLIMIT},
		{"off leaves the runtime's", 0, "", math.MaxInt64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// As the runtime would have started: with GOMEMLIMIT's limit, or none.
			start := int64(math.MaxInt64)
			if tt.gomemlimit != "" {
				start = fromGOMEMLIMIT
			}
			debug.SetMemoryLimit(start)
			got := applyMemoryLimit(tt.limit, envOf(map[string]string{"GOMEMLIMIT": tt.gomemlimit}))
			if inForce := debug.SetMemoryLimit(-1); got != tt.want || inForce != tt.want {
				t.Errorf("applyMemoryLimit(%d) with GOMEMLIMIT=%q = %d, in force %d; want %d", tt.limit, tt.gomemlimit, got, inForce, tt.want)
			}
		})
	}
}

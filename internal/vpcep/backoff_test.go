package vpcep

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	t.Parallel()
	r := Retry{}.withDefaults()
	for n, ceiling := range map[int]time.Duration{
		1:  DefaultBaseDelay,
		2:  2 * DefaultBaseDelay,
		3:  4 * DefaultBaseDelay,
		10: DefaultMaxDelay,
		64: DefaultMaxDelay, // no overflow however many retries
	} {
		for range 100 {
			if got := r.backoff(n); got < ceiling/2 || got > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, ceiling/2, ceiling)
			}
		}
	}
}

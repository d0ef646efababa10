package auth

import (
	"strings"
	"testing"
)

// The hash an unknown name's password is checked against costs what a real
// account's does: same algorithm, version, parameters, salt and key sizes.
// It is built from the parameters rather than computed, so that no process
// pays an argon2 hash at start; nothing verifies against it.
func TestDummyHashCostsWhatARealOneDoes(t *testing.T) {
	realHash, err := HashPassword("a real password for the comparison")
	if err != nil {
		t.Fatal(err)
	}
	realParts, dummyParts := strings.Split(realHash, "$"), strings.Split(dummyHash, "$")
	if len(dummyParts) != len(realParts) {
		t.Fatalf("dummy hash %q has %d parts, a real one %d", dummyHash, len(dummyParts), len(realParts))
	}
	for i := range 4 {
		if dummyParts[i] != realParts[i] {
			t.Errorf("part %d: dummy %q, real %q", i, dummyParts[i], realParts[i])
		}
	}
	for i := 4; i < 6; i++ {
		if len(dummyParts[i]) != len(realParts[i]) {
			t.Errorf("part %d: dummy is %d characters, real %d", i, len(dummyParts[i]), len(realParts[i]))
		}
	}
	for _, password := range []string{"", "not a real password, only for timing", "a real password for the comparison"} {
		ok, err := VerifyPassword(password, dummyHash)
		if err != nil || ok {
			t.Errorf("VerifyPassword(%q, dummyHash) = %v, %v; want false, nil", password, ok, err)
		}
	}
}

package sqlwhere

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWhere(t *testing.T) {
	t.Parallel()
	var w Where
	if got := w.Clause(); got != "" {
		t.Errorf("empty Clause() = %q, want empty", got)
	}
	w.Add("a = $?", 1)
	w.Add("(b, c) > ($?, $?)", "x", "y")
	w.Add("d IS NULL")
	w.Equal("e", "")  // an empty filter adds nothing
	w.Equal("f", "z") // f = $4
	limit := w.Param(10)
	if want := "WHERE a = $1 AND (b, c) > ($2, $3) AND d IS NULL AND f = $4"; w.Clause() != want {
		t.Errorf("Clause() = %q, want %q", w.Clause(), want)
	}
	if limit != "$5" {
		t.Errorf("Param() = %q, want $5", limit)
	}
	if diff := cmp.Diff([]any{1, "x", "y", "z", 10}, w.Args()); diff != "" {
		t.Errorf("Args() mismatch (-want +got):\n%s", diff)
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`50%_off\`: `50\%\_off\\`, "plain": "plain"} {
		if got := EscapeLike(in); got != want {
			t.Errorf("EscapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}

package audit

import "testing"

func TestPrefixUpperBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, want string
		ok           bool
	}{
		{"4a1e", "4a1f", true},
		{"ep-", "ep.", true},
		{"a\u007f", "a\u0080", true},
		{"a\ud7ff", "a\ue000", true},
		{"a\U0010ffff", "b", true},
		{"\U0010ffff", "", false},
	}
	for _, tt := range tests {
		got, ok := prefixUpperBound(tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("prefixUpperBound(%q) = %q, %v; want %q, %v", tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}

package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// Invisible reports whether r is a character that changes how text reads
// without showing itself: format characters (Unicode category Cf: the
// bidirectional overrides and isolates U+202A–U+202E and U+2066–U+2069, the
// zero-width characters U+200B–U+200F, U+FEFF, the soft hyphen, ...), the
// line and paragraph separators U+2028 and U+2029, and control characters.
// A right-to-left override in a Sid or a reason can make it read as
// something else; the console shows such characters as ⟨U+202E⟩ instead.
func Invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || unicode.IsControl(r)
}

// ShowInvisible returns s with every Invisible character except line breaks
// and tabs replaced by a visible marker such as ⟨U+202E⟩, and every invalid
// UTF-8 byte by ⟨0xFF⟩. Everything else is kept.
func ShowInvisible(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '\uFFFD' || (Invisible(r) && r != '\n' && r != '\t' && r != '\r') }) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "⟨0x%02X⟩", s[i])
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteRune(r)
		case Invisible(r):
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisibleIn returns the first invisible character in s, if any.
func invisibleIn(s string) (rune, bool) {
	for _, r := range s {
		if Invisible(r) {
			return r, true
		}
	}
	return 0, false
}

// conditionInvisible returns the first invisible character in a
// Condition's keys and strings. A Condition that is not JSON has none.
func conditionInvisible(raw json.RawMessage) (rune, bool) {
	var v any
	if decodeNumbers(raw, &v) != nil {
		return 0, false
	}
	var found rune
	ok := conditionStrings(v, func(s string) bool {
		r, ok := invisibleIn(s)
		found = r
		return ok
	})
	return found, ok
}

// conditionStrings reports whether pred holds for any key or string in a
// decoded Condition (numbers are json.Number: decodeNumbers).
func conditionStrings(v any, pred func(string) bool) bool {
	switch v := v.(type) {
	case string:
		return pred(v)
	case []any:
		for _, x := range v {
			if conditionStrings(x, pred) {
				return true
			}
		}
	case map[string]any:
		for k, x := range v {
			if pred(k) || conditionStrings(x, pred) {
				return true
			}
		}
	}
	return false
}

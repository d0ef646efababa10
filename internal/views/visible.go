package views

import "github.com/vpcep-console/vpcep-console/internal/policy"

// visible is text as the page shows it: invisible and bidirectional
// control characters (a right-to-left override in a reason or a Sid,
// zero-width spaces, ...) appear as markers such as ⟨U+202E⟩, so that text
// cannot read as something it is not. Textareas keep the text as it is, so
// that a form sends back what it was given; lint warns of such characters
// in a policy.
func visible(s string) string {
	if plainASCII(s) {
		return s // nothing to mark: most of what a page shows
	}
	return policy.ShowInvisible(s)
}

// plainASCII reports whether s is printable ASCII only (space to '~'): no
// byte of it is invisible, a control or part of a multi-byte character.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

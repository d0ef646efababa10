package views

import "github.com/vpcep-console/vpcep-console/internal/policy"

// visible is text as the page shows it: invisible and bidirectional
// control characters (a right-to-left override in a reason or a Sid,
// zero-width spaces, ...) appear as markers such as ⟨U+202E⟩, so that text
// cannot read as something it is not. Textareas keep the text as it is, so
// that a form sends back what it was given; lint warns of such characters
// in a policy.
func visible(s string) string { return policy.ShowInvisible(s) }

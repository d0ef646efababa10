package views

import (
	"testing"
	"unicode/utf8"

	"github.com/vpcep-console/vpcep-console/internal/policy"
)

// visibleCases are texts for visible: plain ASCII (the fast path) and
// everything around it that must be marked or kept.
var visibleCases = []string{
	"", "plain", "com.myhuaweicloud.cn-north-4.obs", " ~!\"#$%&'()*+,-./0-9:;<=>?@A-Z[\\]^_`a-z{|}", "<b>&amp;</b>",
	"tab\there", "line\nbreak", "cr\rlf", "nul\x00", "del\x7f", "esc\x1b[31m", "\x1f",
	"é", "über", "日本", "rtl\u202Eevil", "zw\u200Bsp", "bom\uFEFF", "ls\u2028ps\u2029", "nbsp\u00A0", "soft\u00ADhyphen",
	"bad\xffutf8", "\xc3", "replacement \uFFFD itself", "\u0085next line", "mixed\x01é\u202E\xfe",
}

// visible is policy.ShowInvisible, with or without its fast path.
func TestVisibleIsShowInvisible(t *testing.T) {
	for _, s := range visibleCases {
		if got, want := visible(s), policy.ShowInvisible(s); got != want {
			t.Errorf("visible(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzVisibleIsShowInvisible(f *testing.F) {
	for _, s := range visibleCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := visible(s), policy.ShowInvisible(s); got != want {
			t.Errorf("visible(%q) = %q, want %q", s, got, want)
		}
		if plainASCII(s) && !utf8.ValidString(s) {
			t.Errorf("plainASCII(%q) on invalid UTF-8", s)
		}
	})
}

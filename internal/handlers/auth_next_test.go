package handlers

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// TestSafeNext feeds safeNext the known ways out of a site: each must give
// /endpoints; local paths come back as they were.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ next, want string }{
		{"/audit?actor=x", "/audit?actor=x"},
		{"/endpoints/ep-1/history", "/endpoints/ep-1/history"},
		{"/audit.csv?since=2026-01-01", "/audit.csv?since=2026-01-01"},
		{"", "/endpoints"},
		{"/\t/evil.example", "/endpoints"},
		{"/\n/evil.example", "/endpoints"},
		{"/\r/evil.example", "/endpoints"},
		{"/\r\n/evil.example", "/endpoints"},
		{"\t//evil.example", "/endpoints"},
		{"/%09/evil.example", "/endpoints"},
		{"/%0a/evil.example", "/endpoints"},
		{"/%0d/evil.example", "/endpoints"},
		{"/%2509/evil.example", "/endpoints"},
		{"//evil.example", "/endpoints"},
		{"///evil.example", "/endpoints"},
		{"/\\evil.example", "/endpoints"},
		{"/\\/evil.example", "/endpoints"},
		{"\\\\evil.example", "/endpoints"},
		{"\\/evil.example", "/endpoints"},
		{"/%2f/evil.example", "/endpoints"},
		{"/%2F/evil.example", "/endpoints"},
		{"%2f%2fevil.example", "/endpoints"},
		{"%2F%2Fevil.example", "/endpoints"},
		{"/%252f/evil.example", "/endpoints"},
		{"/%5c/evil.example", "/endpoints"},
		{"/%5Cevil.example", "/endpoints"},
		{"/%25252f/evil.example", "/endpoints"},
		{"/%", "/endpoints"},
		{"javascript:alert(1)", "/endpoints"},
		{"JavaScript:alert(1)", "/endpoints"},
		{"/javascript:alert(1)", "/javascript:alert(1)"}, // a path on this site
		{"http://evil.example", "/endpoints"},
		{"https://evil.example/", "/endpoints"},
		{"https:evil.example", "/endpoints"},
		{"//user@evil.example", "/endpoints"},
		{"evil.example", "/endpoints"},
		{" /endpoints", "/endpoints"},
		{"/ /evil.example", "/endpoints"},
		{"/\u00a0/evil.example", "/endpoints"},
		{"/\u2028/evil.example", "/endpoints"},
		{"/\u3000/evil.example", "/endpoints"},
		{"/\ufeff/evil.example", "/endpoints"},
		{"/%e2%80%a8/evil.example", "/endpoints"},
		{"/\uff0f/evil.example", "/endpoints"}, // fullwidth solidus
		{"/\x00/evil.example", "/endpoints"},
		{"/\x7f", "/endpoints"},
		{"/login", "/endpoints"},
		{"/login/", "/endpoints"},
		{"/login?next=/login", "/endpoints"},
		{"/login?next=%2Flogin%3Fnext%3D", "/endpoints"},
		{"/logout", "/endpoints"},
		{"/" + strings.Repeat("a", 3000), "/endpoints"},
	} {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

// FuzzSafeNext checks that whatever comes in, safeNext gives /endpoints or
// a path that stays on this site by every reading: one leading '/', no
// backslash, control character or space in it or in any decoding of it, no
// scheme or host, and the same host when a browser resolves it.
func FuzzSafeNext(f *testing.F) {
	for _, seed := range []string{"/audit?actor=x", "/\t/evil.example", "//evil.example", "/%2f%2fevil", "/\\evil", "http://evil.example", "/%E3%80%80/x"} {
		f.Add(seed)
	}
	base, _ := url.Parse("https://console.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "/endpoints" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /endpoints", next, got)
		}
		for form, i := got, 0; i < 8; i++ {
			if !strings.HasPrefix(form, "/") || strings.HasPrefix(form, "//") {
				t.Fatalf("safeNext(%q) = %q: decodes to %q, not one leading slash", next, got, form)
			}
			for _, r := range form {
				if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r > unicode.MaxASCII {
					t.Fatalf("safeNext(%q) = %q: decodes to %q, with %q", next, got, form, r)
				}
			}
			decoded, err := url.PathUnescape(form)
			if err != nil || decoded == form {
				break
			}
			form = decoded
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Fatalf("safeNext(%q) = %q: parses as %v, %v", next, got, u, err)
		}
		if r := base.ResolveReference(u); r.Host != "console.example" || r.Scheme != "https" {
			t.Fatalf("safeNext(%q) = %q: resolves to %s", next, got, r)
		}
		if p := strings.TrimRight(u.Path, "/"); p == "/login" {
			t.Fatalf("safeNext(%q) = %q: back to the sign-in page", next, got)
		}
	})
}

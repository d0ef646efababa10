package vpcepsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The SDK's own test vector (core/auth/signer/signer_test.go): AK AccessKey,
// SK SecretKey, GET /path?limit=1 with only X-Sdk-Date signed.
func TestSignMatchesSDKTestVector(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "http://example.com/path?limit=1", nil)
	r.Header = http.Header{}
	r.Header.Set("X-Sdk-Date", "20060102T150405Z")
	got := sign(canonicalRequest(r, nil, []string{"x-sdk-date"}), "20060102T150405Z", "SecretKey")
	const want = "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"
	if got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	now := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	signed := func(mutate func(r *http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/path?limit=1", nil)
		r.Header = http.Header{}
		r.Header.Set("X-Sdk-Date", "20060102T150405Z")
		r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, "+
			"Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624")
		if mutate != nil {
			mutate(r)
		}
		return r
	}
	tests := []struct {
		name    string
		r       *http.Request
		at      time.Time
		wantErr bool
	}{
		{"valid", signed(nil), now, false},
		{"wrong access key", signed(func(r *http.Request) {
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=Other, SignedHeaders=x-sdk-date, Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624")
		}), now, true},
		{"query changed", signed(func(r *http.Request) { r.URL.RawQuery = "limit=2" }), now, true},
		{"method changed", signed(func(r *http.Request) { r.Method = http.MethodDelete }), now, true},
		{"clock skew over 15 minutes", signed(nil), now.Add(16 * time.Minute), true},
		{"clock skew under 15 minutes", signed(nil), now.Add(14 * time.Minute), false},
		{"malformed header", signed(func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") }), now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifySignature(tt.r, nil, "AccessKey", "SecretKey", tt.at)
			if (err != nil) != tt.wantErr {
				t.Fatalf("verifySignature() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

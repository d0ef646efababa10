package vpcepsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The SDK-HMAC-SHA256 scheme of Huawei Cloud's API gateway, re-implemented
// from the SDK's signer (core/auth/signer/signer.go) so the simulator checks
// signatures independently of the code that makes them.

const (
	signingAlgorithm = "SDK-HMAC-SHA256"
	sdkDateFormat    = "20060102T150405Z"
	maxClockSkew     = 15 * time.Minute
	unsignedPayload  = "UNSIGNED-PAYLOAD"
)

// authorization is a parsed "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=..." header.
type authorization struct {
	access        string
	signedHeaders []string
	signature     string
}

func parseAuthorization(value string) (authorization, error) {
	rest, ok := strings.CutPrefix(value, signingAlgorithm+" ")
	if !ok {
		return authorization{}, errors.New("unsupported signing algorithm")
	}
	var a authorization
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authorization{}, errors.New("malformed authorization header")
		}
		switch k {
		case "Access":
			a.access = v
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.access == "" || a.signature == "" || len(a.signedHeaders) == 0 {
		return authorization{}, errors.New("malformed authorization header")
	}
	return a, nil
}

// verifySignature checks r (whose body has been read into body) against the
// AK/SK pair at time now.
func verifySignature(r *http.Request, body []byte, ak, sk string, now time.Time) error {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	if a.access != ak {
		return errors.New("unknown access key")
	}
	date := r.Header.Get("X-Sdk-Date")
	t, err := time.Parse(sdkDateFormat, date)
	if err != nil {
		return errors.New("missing or malformed X-Sdk-Date")
	}
	if skew := now.Sub(t); skew > maxClockSkew || skew < -maxClockSkew {
		return errors.New("X-Sdk-Date is more than 15 minutes from server time")
	}
	want := sign(canonicalRequest(r, body, a.signedHeaders), date, sk)
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return errors.New("verify aksk signature fail")
	}
	return nil
}

// sign returns the hex signature of a canonical request.
func sign(canonical, date, sk string) string {
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := fmt.Sprintf("%s\n%s\n%s", signingAlgorithm, date, hex.EncodeToString(sum[:]))
	mac := hmac.New(sha256.New, []byte(sk))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

func canonicalRequest(r *http.Request, body []byte, signedHeaders []string) string {
	payloadHash := r.Header.Get("X-Sdk-Content-Sha256")
	if payloadHash != unsignedPayload {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL.Path),
		canonicalQuery(r.URL.Query()),
		canonicalHeaders(r, signedHeaders),
		strings.Join(signedHeaders, ";"),
		payloadHash,
	}, "\n")
}

func canonicalURI(path string) string {
	segments := strings.Split(path, "/")
	for i, s := range segments {
		segments[i] = escape(s)
	}
	uri := strings.Join(segments, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	return uri
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		values := append([]string(nil), q[k]...)
		sort.Strings(values)
		for _, v := range values {
			pairs = append(pairs, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(pairs, "&")
}

func canonicalHeaders(r *http.Request, signedHeaders []string) string {
	var lines []string
	for _, name := range signedHeaders {
		values := r.Header.Values(name)
		if name == "host" {
			values = []string{r.Host}
		}
		values = append([]string(nil), values...)
		sort.Strings(values)
		for _, v := range values {
			lines = append(lines, name+":"+strings.TrimSpace(v))
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// escape percent-encodes every byte but A-Z a-z 0-9 - _ . ~, as the SDK does.
func escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

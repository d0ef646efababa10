package vpcepsim

import (
	"crypto/rand"
	"net"
	"net/http"
	"time"
)

// NewCredentials returns a random AK/SK pair in the shape Huawei Cloud issues
// (20 and 40 characters).
func NewCredentials() (ak, sk string) {
	return randomString(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
		randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Listen serves s on addr (":0" picks a free port) in the background and
// returns the base URL and the server, which the caller shuts down.
func Listen(s *Server, addr string) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

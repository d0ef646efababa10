package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestClientThatWentAwayIsNoError: a request whose client closed it (an
// aborted sign-in, a closed tab) is answered 499 and logged at info: no
// 5xx, no error in the log, whatever part of the work it cut short.
func TestClientThatWentAwayIsNoError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, target string
		form                 url.Values
	}{
		{"a page", http.MethodGet, "/audit", nil},
		{"a sign-in", http.MethodPost, "/login", url.Values{"name": {"admin"}, "password": {"not the password, 16+"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var body *strings.Reader
			if tc.form != nil {
				body = strings.NewReader(tc.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(tc.method, tc.target, body).WithContext(ctx)
			if tc.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := a.send(req, nil)
			if rec.Code != 499 {
				t.Errorf("answered %d, want 499", rec.Code)
			}
			if logs := a.logs.String(); strings.Contains(logs, "level=ERROR") {
				t.Errorf("logged an error:\n%s", logs)
			}
		})
	}
}

package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// loginRequest is a sign-in form post with the double-submit CSRF token
// csrf, built without the app's cookie jar so goroutines can send many at
// once.
func loginRequest(name, password, csrf string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"name": {name}, "password": {password}, "_csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "__Host-csrf", Value: csrf})
	return req
}

// memoryPeak samples the process's memory until stop is called, and
// returns the highest HeapInuse and Sys seen.
func memoryPeak() (stop func() (heapInuse, sys uint64)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var heap, sys uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			heap, sys = max(heap, m.HeapInuse), max(sys, m.Sys)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) { close(done); wg.Wait(); return heap, sys }
}

// TestParallelSignInsAreCountedBeforeTheirCheck sends 40 sign-ins for one
// account at once, the right password last. Each attempt is counted before
// its password is checked, so only the free tries are checked at all, the
// right password sent after them is refused, and no more argon2 checks run
// at once than the gate allows.
func TestParallelSignInsAreCountedBeforeTheirCheck(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	// A long first delay: however slow the machine, the burst ends within
	// it, so exactly the free tries are checked.
	a.auth.SetFirstDelay(time.Hour)
	name := a.account(t, auth.Editor)
	a.get(t, "/login")
	csrf := a.cookies["__Host-csrf"]

	stop := memoryPeak()
	const wrong = 39
	codes := make(chan int, wrong+1)
	start := make(chan struct{})
	var wg sync.WaitGroup
	send := func(password string) {
		defer wg.Done()
		<-start
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, loginRequest(name, password, csrf))
		codes <- rec.Code
	}
	for range wrong {
		wg.Add(1)
		go send("a wrong guess, long enough")
	}
	close(start)
	// The right password goes once the free tries are counted, while the
	// wrong ones are still being answered.
	deadline := time.Now().Add(10 * time.Second)
	for countRows(t, a, `SELECT count(*) FROM login_failures WHERE account_name = $1`, name) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the free tries were not counted within 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	right := httptest.NewRecorder()
	a.handler.ServeHTTP(right, loginRequest(name, testPassword, csrf))
	wg.Wait()
	close(codes)
	heap, sys := stop()

	checked, limited := 0, 0
	for code := range codes {
		switch code {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Errorf("a wrong password answered %d", code)
		}
	}
	if checked != 3 || limited != wrong-3 {
		t.Errorf("%d of %d parallel wrong passwords were checked and %d throttled; want exactly the 3 free tries checked and the other %d throttled",
			checked, wrong, limited, wrong-3)
	}
	if right.Code != http.StatusTooManyRequests || right.Header().Get("Retry-After") == "" {
		t.Errorf("the right password after the free tries: %d %q, want 429 with Retry-After", right.Code, right.Header().Get("Retry-After"))
	}
	if peak, limit := a.auth.PeakPasswordChecks(), a.auth.PasswordCheckLimit(); peak > limit || limit > 2*runtime.GOMAXPROCS(0)+2 {
		t.Errorf("%d password checks ran at once; the limit is %d", peak, limit)
	}
	t.Logf("40 parallel sign-ins: %d checked, %d throttled; peak %d concurrent argon2 checks (limit %d); peak HeapInuse %d MiB, Sys %d MiB",
		checked, limited, a.auth.PeakPasswordChecks(), a.auth.PasswordCheckLimit(), heap>>20, sys>>20)
}

// TestManyParallelSignInsWaitForTheGate sends 120 sign-ins at once under
// 120 names no account has (so no throttle stops them): each costs an
// argon2 check, but no more run at once than the gate allows; the rest wait
// or are told to come back (429, Retry-After), never a 5xx. The names are
// kept nowhere, only their keyed hashes.
func TestManyParallelSignInsWaitForTheGate(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)), signedOut())
	a.get(t, "/login")
	csrf := a.cookies["__Host-csrf"]

	stop := memoryPeak()
	const n = 120
	codes := make(chan *httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, loginRequest(fmt.Sprintf("nosuchname-%d", i), "a wrong guess, long enough", csrf))
			codes <- rec
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	heap, sys := stop()
	checked, busy := 0, 0
	for rec := range codes {
		switch {
		case rec.Code == http.StatusUnauthorized:
			checked++
		case rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "":
			busy++
		default:
			t.Errorf("answered %d", rec.Code)
		}
	}
	peak, limit := a.auth.PeakPasswordChecks(), a.auth.PasswordCheckLimit()
	if peak > limit || peak == 0 {
		t.Errorf("%d password checks ran at once; the limit is %d", peak, limit)
	}
	if n := countRows(t, a, `SELECT count(*) FROM login_failures WHERE account_name NOT LIKE 'name-hmac1:%'`); n != 0 {
		t.Errorf("%d sign-in failures keep a name no account has as text", n)
	}
	if n := countRows(t, a, `SELECT count(*) FROM security_events WHERE actor LIKE '%nosuchname%' OR subject LIKE '%nosuchname%'`); n != 0 {
		t.Errorf("%d security events keep a name no account has as text", n)
	}
	t.Logf("120 parallel sign-ins: %d checked, %d told to come back; peak %d concurrent argon2 checks (limit %d); peak HeapInuse %d MiB, Sys %d MiB",
		checked, busy, peak, limit, heap>>20, sys>>20)
}

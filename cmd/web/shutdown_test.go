package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// buildBinaries builds web and vpcep-sim into a directory of the test's own,
// so the test runs them as an operator would: separate processes, signals
// and exit codes included.
func buildBinaries(t *testing.T) (web, sim string) {
	t.Helper()
	dir := t.TempDir()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds cmd/web and cmd/vpcep-sim and needs the go command on PATH: %v", err)
	}
	const module = "github.com/vpcep-console/vpcep-console"
	cmd := exec.Command(goTool, "build", "-o", dir+string(filepath.Separator), module+"/cmd/web", module+"/cmd/vpcep-sim")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "web"), filepath.Join(dir, "vpcep-sim")
}

// simProcess is a running vpcep-sim: what a console needs to reach it, and
// the requests it logs as they arrive.
type simProcess struct {
	env      []string // VPCEP_ENDPOINT, VPCEP_PROJECT_ID, HUAWEICLOUD_SDK_AK/SK
	sk       string
	arrivals chan string // "METHOD /path" of each request, as it arrives
}

// startSimulator runs vpcep-sim with args (and --log-requests) until t ends.
func startSimulator(t *testing.T, bin string, args ...string) *simProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0", "--log-requests"}, args...)...)
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	p := &simProcess{arrivals: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "vpcep-sim: "); ok {
				select {
				case p.arrivals <- line:
				default: // nobody is waiting for it
				}
			}
		}
	}()
	// It prints the variables that point a console at it, then nothing.
	sc := bufio.NewScanner(stdout)
	for len(p.env) < 4 && sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"VPCEP_ENDPOINT=", "VPCEP_PROJECT_ID=", "HUAWEICLOUD_SDK_AK=", "HUAWEICLOUD_SDK_SK="} {
			if strings.HasPrefix(line, name) {
				p.env = append(p.env, line)
			}
		}
		if sk, ok := strings.CutPrefix(line, "HUAWEICLOUD_SDK_SK="); ok {
			p.sk = sk
		}
	}
	if len(p.env) < 4 {
		t.Fatalf("vpcep-sim printed only %q", p.env)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return p
}

// freeAddr is a loopback address with a port nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// webCommand runs `web args...` with env and stdin, and returns its stdout.
func webCommand(t *testing.T, bin string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("web %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// waitReady waits until base/readyz answers 200: the schema is current and
// the inventory was read.
func waitReady(t *testing.T, base string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("web serve exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("web serve not ready after 15s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSIGTERMFinishesTheChangeInFlight runs the console and the simulator
// as processes, holds a policy change's PUT at the simulator, and sends the
// console SIGTERM: the listener must close at once while the change runs
// on, is answered 200 and finalised, and the process exits 0.
func TestSIGTERMFinishesTheChangeInFlight(t *testing.T) {
	t.Parallel()
	webBin, simBin := buildBinaries(t)
	// Only the PUT is held; the reads around it answer at once.
	sim := startSimulator(t, simBin, "--latency", "4s", "--latency-route", vpcepsim.RouteUpdatePolicy)
	dbURL := testdb.Migrated(t)
	addr := freeAddr(t)
	env := append([]string{"DATABASE_URL=" + dbURL, "LISTEN_ADDR=" + addr, "PATH=" + os.Getenv("PATH")}, sim.env...)

	webCommand(t, webBin, env, "a good long password\n", "user", "add", "alice", "--role", "editor")
	token := strings.TrimSpace(webCommand(t, webBin, env, "", "token", "create", "alice", "--name", "shutdown-test"))

	var logs lockedBuffer
	serve := exec.Command(webBin, "serve")
	serve.Env, serve.Stdout, serve.Stderr = env, io.Discard, &logs
	serve.SysProcAttr = childAttr()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		if t.Failed() {
			t.Logf("web serve's log:\n%s", logs.String())
		}
	})
	base := "http://" + addr
	waitReady(t, base, exited)

	// The change: an editable gateway of the simulator's demo data.
	var target string
	for _, ep := range vpcepsim.DemoEndpoints(1, time.Now()) {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) > 0 {
			target = ep.ID
			break
		}
	}
	type answer struct {
		status int
		body   []byte
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		body := `{"policy_statement":[{"Effect":"Allow","Action":["obs:object:GetObject"],"Resource":["obs:*:*:object:shutdown-test/*"]}],"reason":"graceful shutdown test"}`
		req, _ := http.NewRequest(http.MethodPut, base+"/api/v1/endpoints/"+target+"/policy", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: b, err: err}
	}()

	// SIGTERM once the PUT has reached the simulator, where it is held.
	waitArrival(t, sim, "PUT /v1/")
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// The listener closes at once: a new connection is refused while the
	// change is still in flight.
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNRESET) {
			continue // queued as the listener closed, then reset: not served; look again
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial after SIGTERM: %v, want connection refused", err)
		}
		refused = true
		break
	}
	select {
	case a := <-answered:
		t.Fatalf("the change was answered (%d) before the listener was seen closed: the PUT latency is too short to watch the drain", a.status)
	case err := <-exited:
		t.Fatalf("web serve exited (%v) with the change in flight", err)
	default:
	}
	if !refused {
		t.Fatal("a new connection was still accepted 3s after SIGTERM")
	}

	// The client gets its answer, and the process exits 0.
	a := waitFor(t, answered, 20*time.Second, "the change's answer")
	if a.err != nil {
		t.Fatalf("the change got no answer: %v", a.err)
	}
	var got struct {
		Entry struct {
			ID      int64  `json:"id"`
			Outcome string `json:"outcome"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(a.body, &got); err != nil || a.status != http.StatusOK || got.Entry.Outcome != "succeeded" {
		t.Fatalf("the change answered %d %s", a.status, a.body)
	}
	if err := waitFor(t, exited, 20*time.Second, "web serve to exit"); err != nil {
		t.Fatalf("web serve exited with %v, want 0", err)
	}

	// The entry is finalised, not left pending for the reconciler.
	pool := testdb.Pool(t, dbURL)
	var outcome string
	var pending int
	if err := pool.QueryRow(context.Background(), `SELECT outcome, (SELECT count(*) FROM audit_entries WHERE outcome = 'pending') FROM audit_entries WHERE id = $1`, got.Entry.ID).Scan(&outcome, &pending); err != nil {
		t.Fatal(err)
	}
	if outcome != "succeeded" || pending != 0 {
		t.Errorf("entry #%d is %s; %d entries pending", got.Entry.ID, outcome, pending)
	}

	// The shutdown went in order, and said so; no secret reached the log.
	out := logs.String()
	last := -1
	for _, step := range []string{"shutting down", "requests in flight answered", "background workers stopped"} {
		i := strings.Index(out, step)
		if i < last {
			t.Errorf("log line %q missing or out of order", step)
		}
		last = i
	}
	for _, secret := range []string{sim.sk, token} {
		if strings.Contains(out, secret) {
			t.Error("a secret reached the log")
		}
	}
}

// waitArrival waits until a request starting with prefix reached sim.
func waitArrival(t *testing.T, sim *simProcess, prefix string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case line := <-sim.arrivals:
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s reached the simulator in 15s", prefix)
		}
	}
}

// waitFor receives from ch, failing t after timeout.
func waitFor[T any](t *testing.T, ch <-chan T, timeout time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("waited %s for %s", timeout, what)
		panic("unreachable")
	}
}

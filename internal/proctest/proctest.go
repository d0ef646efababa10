// Package proctest runs `web serve` as a real process for tests: built once
// per test binary, pointed at a database and an upstream, reached over
// HTTP with an API token, and stopped (SIGTERM) or killed (SIGKILL) as an
// operator or an outage would.
package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/simtest"
)

// build is the web binary, built once per test process.
var build struct {
	once sync.Once
	dir  string
	err  error
}

// Main runs the tests (run, e.g. func() int { return m.Run() }) and then
// removes the binaries it built. Use it from TestMain around the package's
// other setup.
func Main(run func() int) int {
	defer func() {
		if build.dir != "" {
			_ = os.RemoveAll(build.dir)
		}
	}()
	return run()
}

// Binary is the path of a freshly built cmd/web.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("these tests build cmd/web and need the go command on PATH: %w", err)
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "vpcep-proctest-"); build.err != nil {
			return
		}
		out, err := exec.Command(goTool, "build", "-o", build.dir+string(filepath.Separator),
			"github.com/vpcep-console/vpcep-console/cmd/web").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build cmd/web: %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return filepath.Join(build.dir, "web")
}

// Options configure a console process.
type Options struct {
	DBURL    string            // a migrated database
	Upstream *simtest.Upstream // the simulator it talks to
	Env      map[string]string // more settings, e.g. CHANGE_DEADLINE
}

// Console is a running (or stopped) `web serve`.
type Console struct {
	URL  string // http://127.0.0.1:port
	addr string
	env  []string
	bin  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
	logs   *LockedBuffer
}

// Start starts a console and waits until it is ready; it is killed when t
// ends.
func Start(t testing.TB, o Options) *Console {
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + o.DBURL,
		"VPCEP_ENDPOINT=" + o.Upstream.URL,
		"VPCEP_PROJECT_ID=" + simtest.ProjectID,
		"VPCEP_REGION=cn-north-4",
		"HUAWEICLOUD_SDK_AK=" + o.Upstream.AK,
		"HUAWEICLOUD_SDK_SK=" + o.Upstream.SK,
	}
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	addr := FreeAddr(t)
	c := &Console{URL: "http://" + addr, addr: addr, env: append(env, "LISTEN_ADDR="+addr), bin: Binary(t)}
	t.Cleanup(func() { c.Kill() })
	c.Restart(t)
	return c
}

// Restart starts the console again (after Kill or Stop) on the same
// address and waits until it is ready.
func (c *Console) Restart(t testing.TB) {
	t.Helper()
	if err := c.Launch(); err != nil {
		t.Fatal(err)
	}
}

// Launch is Restart for a goroutine other than the test's: it returns
// what went wrong instead of failing the test.
func (c *Console) Launch() error {
	c.mu.Lock()
	cmd := exec.Command(c.bin, "serve")
	cmd.Env = c.env
	cmd.SysProcAttr = childAttr()
	c.logs = &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = c.logs, c.logs
	if err := cmd.Start(); err != nil {
		c.mu.Unlock()
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	return c.waitReady(exited)
}

func (c *Console) waitReady(exited chan error) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("web serve exited before it was ready: %v\n%s", err, c.Logs())
		default:
		}
		resp, err := http.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("web serve not ready after 20s: %v\n%s", err, c.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (c *Console) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
}

// Stop sends SIGTERM and returns how the process exited (nil: status 0).
func (c *Console) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return errors.New("proctest: the console is not running")
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	err := <-c.exited
	c.cmd = nil
	return err
}

// Signal sends sig to the process without waiting for it; Wait waits.
func (c *Console) Signal(sig os.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return errors.New("proctest: the console is not running")
	}
	return c.cmd.Process.Signal(sig)
}

// Wait waits up to timeout for the process to exit and returns how it did
// (nil: status 0); ok is false when it is still running.
func (c *Console) Wait(timeout time.Duration) (err error, ok bool) {
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	select {
	case err := <-exited:
		c.mu.Lock()
		c.cmd = nil
		c.mu.Unlock()
		return err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Running reports whether the process has not exited yet.
func (c *Console) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case err := <-c.exited:
		c.exited <- err
		return false
	default:
		return true
	}
}

// Addr is the host:port the console listens on.
func (c *Console) Addr() string { return c.addr }

// Logs is everything the console has written since it was last started.
func (c *Console) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logs == nil {
		return ""
	}
	return c.logs.String()
}

// Command runs `web args...` with the console's settings and stdin, and
// returns its stdout.
func (c *Console) Command(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env, cmd.Stdin = c.env, strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("web %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// Token creates an account with role and returns an API token of it.
func (c *Console) Token(t testing.TB, name, role string) string {
	t.Helper()
	c.Command(t, "a long enough test password\n", "user", "add", name, "--role", role)
	lines := strings.Split(strings.TrimSpace(c.Command(t, "", "token", "create", name, "--name", "test")), "\n")
	return strings.TrimSpace(lines[len(lines)-1]) // the token is printed last, alone

}

// Do sends a request with the token and returns the status and body. A
// transport error (the process died mid-request) is status 0.
func Do(ctx context.Context, method, url, token, body string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// FreeAddr is a loopback address with a port nothing listens on (yet).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers and readers,
// such as a process's stdout and stderr and the test reading them.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

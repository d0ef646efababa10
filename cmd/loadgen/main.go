// Command loadgen measures how many page views a second a running console
// answers, and how fast: for each path, first with many connections at once
// for a while (views/s, p50, p99), then one request at a time (p50, p99).
// The first path is the floor the others are compared with (/healthz).
// It is what `make bench-load` runs; it talks only to the address it is given.
//
// Each path is first requested for -warm without measuring, so the figures
// are the console's steady state, not its first fill of a cache; the warm-up
// also refuses any answer but 200 (wrk would count a redirect to the sign-in
// page as an answer). With -wrk,
// the many-connection runs are wrk's (C, epoll): on a two-core machine a Go
// client takes CPU the console would otherwise have, and wrk is what the
// figures the console is compared with were measured with.
//
//	loadgen -base http://127.0.0.1:18080 -cookie 'vpcep_session=...' -c 16 -d 4s -wrk wrk /healthz /endpoints
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:18080", "the console's base URL")
	cookie := flag.String("cookie", "", "Cookie header sent with page requests (a signed-in session)")
	token := flag.String("token", "", "API token sent as Authorization: Bearer to /api/ paths")
	conns := flag.Int("c", 16, "connections at once")
	loaded := flag.Duration("d", 4*time.Second, "how long each path is loaded with -c connections")
	single := flag.Duration("d1", 2*time.Second, "how long each path is requested one at a time")
	warm := flag.Duration("warm", time.Second, "how long each path is requested, unmeasured, before its runs")
	wrk := flag.String("wrk", "", "run the many-connection runs with this wrk binary instead of Go's client")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [flags] PATH...")
		os.Exit(2)
	}
	g := &generator{base: strings.TrimRight(*base, "/"), cookie: *cookie, token: *token,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: *conns + 1, MaxConnsPerHost: *conns + 1, DisableCompression: true,
		}}}
	fmt.Printf("| page | views/s | p50 | p99 | one at a time: p50 / p99 | ratio to %s |\n|---|---|---|---|---|---|\n", flag.Arg(0))
	var floor float64
	for i, path := range flag.Args() {
		if *warm > 0 {
			if _, err := g.run(path, *conns, *warm); err != nil {
				fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", path, err)
				os.Exit(1)
			}
		}
		var many result
		var err error
		if *wrk != "" {
			many, err = g.runWrk(*wrk, path, *conns, *loaded)
		} else {
			many, err = g.run(path, *conns, *loaded)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", path, err)
			os.Exit(1)
		}
		one, err := g.run(path, 1, *single)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %v\n", path, err)
			os.Exit(1)
		}
		if i == 0 {
			floor = many.rate
		}
		fmt.Printf("| `%s` | %.0f | %s | %s | %s / %s | %.1f%% |\n", path, many.rate, ms(many.p50), ms(many.p99),
			ms(one.p50), ms(one.p99), 100*many.rate/floor)
	}
}

// generator sends requests to one console.
type generator struct {
	base, cookie, token string
	client              *http.Client
}

// result is one path's figures at one concurrency.
type result struct {
	rate     float64 // answers a second
	p50, p99 time.Duration
}

// run requests path from conns goroutines for d and measures every answer.
// Any answer but 200 stops the run: a page that fails fast is no figure.
func (g *generator) run(path string, conns int, d time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				took, err := g.get(path)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					break
				}
				mine = append(mine, took)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(all) == 0 {
		return result{}, errors.New("no answer in time")
	}
	slices.Sort(all)
	return result{rate: float64(len(all)) / elapsed.Seconds(), p50: quantile(all, 0.50), p99: quantile(all, 0.99)}, nil
}

// get requests path once, reading the whole body, and says how long it took.
func (g *generator) get(path string) (time.Duration, error) {
	req, err := http.NewRequest(http.MethodGet, g.base+path, nil)
	if err != nil {
		return 0, err
	}
	if name, value, ok := strings.Cut(g.header(path), ": "); ok {
		req.Header.Set(name, value)
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("answered %d", resp.StatusCode)
	}
	return took, nil
}

// runWrk loads path with wrk at conns connections for d and reads its
// figures. Any answer but 2xx or 3xx, or a socket error, fails the run.
func (g *generator) runWrk(wrk, path string, conns int, d time.Duration) (result, error) {
	args := []string{"-t", "2", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", max(1, int(d.Seconds()))), "--latency"}
	if h := g.header(path); h != "" {
		args = append(args, "-H", h)
	}
	out, err := exec.Command(wrk, append(args, g.base+path)...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	return parseWrk(string(out))
}

// parseWrk reads requests/s and the 50% and 99% latencies from wrk
// --latency output.
func parseWrk(out string) (result, error) {
	var r result
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"), strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			return result{}, fmt.Errorf("wrk: %s", strings.TrimSpace(line))
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.rate, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return result{}, fmt.Errorf("wrk: latency %q: %w", f[1], err)
			}
			if f[0] == "50%" {
				r.p50 = d
			} else {
				r.p99 = d
			}
		}
	}
	if r.rate == 0 || r.p50 == 0 {
		return result{}, fmt.Errorf("wrk: no figures in its output: %s", out)
	}
	return r, nil
}

// header is the credential a path is requested with, as a header line.
func (g *generator) header(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/") && g.token != "":
		return "Authorization: Bearer " + g.token
	case g.cookie != "":
		return "Cookie: " + g.cookie
	}
	return ""
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// Command loadgen measures how many page views a second a running console
// answers, and how fast: for each path, first with many connections at once
// for a while (views/s, p50, p99), then one request at a time (p50, p99).
// The first path is the floor the others are compared with (/healthz).
// It is what `make bench-load` runs; it talks only to the address it is given.
//
//	loadgen -base http://127.0.0.1:18080 -cookie 'vpcep_session=...' -c 16 -d 4s /healthz /endpoints
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
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
		many, err := g.run(path, *conns, *loaded)
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
	if strings.HasPrefix(path, "/api/") && g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	} else if g.cookie != "" {
		req.Header.Set("Cookie", g.cookie)
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

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

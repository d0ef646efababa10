// Command vpcep-sim runs the VPCEP API simulator on its own, for trying the
// console or a client against something that behaves like the real API.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

func main() {
	var (
		listen     = flag.String("listen", "127.0.0.1:9090", "address to serve on")
		seed       = flag.Int("seed", 0, "serve N generated endpoints instead of the 36 demo endpoints")
		project    = flag.String("project", "0605767a3300d5762fb7c0186d9e1779", "project id to accept")
		token      = flag.String("token", "", "also accept this X-Auth-Token")
		latency    = flag.Duration("latency", 0, "delay every answer by this much (with --latency-route, only that route's)")
		latRoute   = flag.String("latency-route", "", `delay only this route's answers by --latency: "GET endpoints", "GET endpoint", "PUT policy"`)
		logReqs    = flag.Bool("log-requests", false, "print the method and path of each request on stderr as it arrives")
		failStatus = flag.Int("fail-status", 0, "answer with this HTTP status (with --fail-code)")
		failCode   = flag.String("fail-code", "EndPoint.0001", "error code of forced failures")
		failCount  = flag.Int("fail-count", 0, "force the failure for the next N calls (0 with --fail-status: every call to --fail-route)")
		failRoute  = flag.String("fail-route", vpcepsim.RouteUpdatePolicy, `route for a standing failure: "GET endpoints", "GET endpoint", "PUT policy"`)
		drop       = flag.Int("drop", 0, "close the connection without answering for the next N calls")
		nested     = flag.Bool("nested-errors", false, `answer errors as {"error":{"code","message"}}`)
		fixedAK    = flag.String("ak", os.Getenv("VPCEP_SIM_AK"), "accept this AK instead of a random one (VPCEP_SIM_AK)")
		fixedSK    = flag.String("sk", os.Getenv("VPCEP_SIM_SK"), "accept this SK instead of a random one (VPCEP_SIM_SK)")
	)
	flag.Parse()

	ak, sk := vpcepsim.NewCredentials()
	if *fixedAK != "" && *fixedSK != "" {
		ak, sk = *fixedAK, *fixedSK
	}
	endpoints := vpcepsim.DemoEndpoints(1, time.Now())
	if *seed > 0 {
		endpoints = vpcepsim.GeneratedEndpoints(1, *seed, time.Now())
	}
	sim := vpcepsim.New(vpcepsim.Options{ProjectID: *project, AK: ak, SK: sk, Token: *token, Endpoints: endpoints})
	if *latRoute != "" {
		sim.SetRouteLatency(*latRoute, *latency)
	} else {
		sim.SetLatency(*latency)
	}
	sim.SetNestedErrorBody(*nested)
	sim.DropNext(*drop)
	if *failStatus != 0 {
		f := vpcepsim.Fault{Status: *failStatus, Code: *failCode}
		if *failCount > 0 {
			sim.FailNext(*failCount, f)
		} else {
			sim.FailRoute(*failRoute, f)
		}
	}

	var handler http.Handler = sim
	if *logReqs {
		handler = logRequests(sim)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpcep-sim:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	// These are the simulator's own throwaway credentials, printed so a
	// client can be pointed at it.
	fmt.Printf("VPCEP simulator serving %d endpoints at %s\n\n", len(endpoints), url)
	fmt.Printf("VPCEP_ENDPOINT=%s\nVPCEP_PROJECT_ID=%s\nHUAWEICLOUD_SDK_AK=%s\nHUAWEICLOUD_SDK_SK=%s\n", url, *project, ak, sk)
	if *token != "" {
		fmt.Printf("VPCEP_AUTH_TOKEN=%s\n", *token)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "vpcep-sim:", err)
	}
}

// logRequests prints each request's method and path on stderr as it
// arrives, before any latency holds it: a test or a person can see that a
// call reached the simulator. Headers (credentials) are never printed.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "vpcep-sim: %s %s\n", r.Method, r.URL.Path)
		next.ServeHTTP(w, r)
	})
}

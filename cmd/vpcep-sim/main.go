// Command vpcep-sim runs the VPCEP API simulator on its own, for trying the
// console or a client against something that behaves like the real API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// settings are vpcep-sim's flags.
type settings struct {
	listen     string
	seed       int
	project    string
	token      string
	latency    time.Duration
	latRoute   string
	logReqs    bool
	failStatus int
	failCode   string
	failCount  int
	failRoute  string
	drop       int
	nested     bool
	ak, sk     string

	ctsUser string
	ctsLag  time.Duration

	region   string // names the services
	dataSeed int    // another seed, other endpoint ids: a second simulator's
	// iamUser (NAME@DOMAIN) may obtain project-scoped tokens from the
	// simulated IAM, with iamPassword; they live tokenLifetime.
	iamUser       string
	iamPassword   string
	tokenLifetime time.Duration

	outOfBand      string // endpoint id, "demo", or "" for none
	outOfBandAfter time.Duration
	outOfBandUser  string
	outOfBandIP    string
}

const usageIntro = `usage: vpcep-sim [flags]

Serves the VPCEP API (/v1/{project_id}/vpc-endpoints...) and the Cloud Trace
Service query the console uses (GET /v3/{project_id}/traces), recording a
modifyEndpointPolicy trace for every policy it changes.

A policy can also be changed "out of band", as if in Huawei Cloud's console
or by Terraform, for the console to detect as drift:

  --out-of-band demo --out-of-band-after 30s
      30 s after start (time for the console to record its baseline), grant
      or withdraw read access to the terraform-state bucket on a demo gateway
      endpoint, as terraform-ci from 10.0.8.15.

  POST /sim/admin/endpoints/{id}/policy
      {"policy_statement": [...], "user": "...", "source_ip": "..."}
      the same at any time; without policy_statement the terraform-state
      edit is applied; source_ip defaults to the caller's. It takes the API's
      credentials (not the caller's address: the simulator may listen beyond
      loopback). With --token T:
        curl -X POST -H 'X-Auth-Token: T' -d '{"user":"alice"}' \
          http://127.0.0.1:9090/sim/admin/endpoints/ID/policy

flags:
`

// parseFlags reads args over the environment read by getenv.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("vpcep-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageIntro)
		fs.PrintDefaults()
	}
	routes := `"GET endpoints", "GET endpoint", "PUT policy", "DELETE policy", "ListTraces"`
	fs.StringVar(&s.listen, "listen", "127.0.0.1:9090", "address to serve on")
	fs.IntVar(&s.seed, "seed", 0, "serve N generated endpoints instead of the 36 demo endpoints")
	fs.StringVar(&s.project, "project", "0605767a3300d5762fb7c0186d9e1779", "project id to accept")
	fs.StringVar(&s.token, "token", "", "also accept this X-Auth-Token")
	fs.StringVar(&s.region, "region", "cn-north-4", "the region the services are named for")
	fs.IntVar(&s.dataSeed, "data-seed", 1, "seed of the endpoints served: another gives other endpoint ids (a second simulator's, for a second project)")
	fs.StringVar(&s.iamUser, "iam-user", "", "serve IAM tokens (POST /v3/auth/tokens) to this user, NAME@DOMAIN, with VPCEP_SIM_IAM_PASSWORD (random when unset)")
	fs.DurationVar(&s.tokenLifetime, "token-lifetime", vpcepsim.DefaultTokenLifetime, "how long an IAM token lives")
	fs.DurationVar(&s.latency, "latency", 0, "delay every answer by this much (with --latency-route, only that route's)")
	fs.StringVar(&s.latRoute, "latency-route", "", "delay only this route's answers by --latency: "+routes)
	fs.BoolVar(&s.logReqs, "log-requests", false, "print the method and path of each request on stderr as it arrives")
	fs.IntVar(&s.failStatus, "fail-status", 0, "answer with this HTTP status (with --fail-code)")
	fs.StringVar(&s.failCode, "fail-code", "EndPoint.0001", "error code of forced failures")
	fs.IntVar(&s.failCount, "fail-count", 0, "force the failure for the next N calls (0 with --fail-status: every call to --fail-route)")
	fs.StringVar(&s.failRoute, "fail-route", vpcepsim.RouteUpdatePolicy, "route for a standing failure: "+routes)
	fs.IntVar(&s.drop, "drop", 0, "close the connection without answering for the next N calls")
	fs.BoolVar(&s.nested, "nested-errors", false, `answer errors as {"error":{"code","message"}}`)
	fs.StringVar(&s.ak, "ak", getenv("VPCEP_SIM_AK"), "accept this AK instead of a random one (VPCEP_SIM_AK)")
	fs.StringVar(&s.sk, "sk", getenv("VPCEP_SIM_SK"), "accept this SK instead of a random one (VPCEP_SIM_SK)")
	fs.StringVar(&s.ctsUser, "cts-user", vpcepsim.DefaultCTSUser, "the IAM user CTS names for calls made with the simulator's credentials")
	fs.DurationVar(&s.ctsLag, "cts-lag", 0, "CTS shows a trace only this long after the operation (real CTS: minutes)")
	fs.StringVar(&s.outOfBand, "out-of-band", "", `change this endpoint's policy out of band ("demo": a demo gateway endpoint with a policy)`)
	fs.DurationVar(&s.outOfBandAfter, "out-of-band-after", 30*time.Second, "wait this long after start before the --out-of-band change")
	fs.StringVar(&s.outOfBandUser, "out-of-band-user", vpcepsim.DemoOutOfBandUser, "the user CTS names for the --out-of-band change")
	fs.StringVar(&s.outOfBandIP, "out-of-band-ip", vpcepsim.DemoOutOfBandIP, "the source IP CTS records for the --out-of-band change")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if s.ctsLag < 0 {
		errs = append(errs, errors.New("--cts-lag must not be negative"))
	}
	if s.dataSeed < 1 {
		errs = append(errs, errors.New("--data-seed must be at least 1"))
	}
	if s.tokenLifetime <= 0 {
		errs = append(errs, errors.New("--token-lifetime must be positive"))
	}
	if s.iamUser != "" {
		if name, domain, ok := strings.Cut(s.iamUser, "@"); !ok || name == "" || domain == "" {
			errs = append(errs, fmt.Errorf("--iam-user: %q is not NAME@DOMAIN", s.iamUser))
		}
		s.iamPassword = getenv("VPCEP_SIM_IAM_PASSWORD")
	}
	if s.outOfBand != "" {
		if s.outOfBandAfter < 0 {
			errs = append(errs, errors.New("--out-of-band-after must not be negative"))
		}
		if s.outOfBandUser == "" {
			errs = append(errs, errors.New("--out-of-band-user must not be empty"))
		}
		if net.ParseIP(s.outOfBandIP) == nil {
			errs = append(errs, fmt.Errorf("--out-of-band-ip: %q is not an IP address", s.outOfBandIP))
		}
	}
	return s, errors.Join(errs...)
}

func main() {
	s, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpcep-sim:", err)
		os.Exit(2)
	}

	ak, sk := vpcepsim.NewCredentials()
	if s.ak != "" && s.sk != "" {
		ak, sk = s.ak, s.sk
	}
	endpoints := vpcepsim.RegionDemoEndpoints(s.region, uint64(s.dataSeed), time.Now())
	if s.seed > 0 {
		endpoints = vpcepsim.RegionGeneratedEndpoints(s.region, uint64(s.dataSeed), s.seed, time.Now())
	}
	iam := vpcepsim.IAMOptions{ProjectName: s.region, TokenLifetime: s.tokenLifetime}
	if s.iamUser != "" {
		name, domain, _ := strings.Cut(s.iamUser, "@")
		if s.iamPassword == "" {
			_, s.iamPassword = vpcepsim.NewCredentials()
		}
		iam.Users = []vpcepsim.IAMUser{{Name: name, Password: s.iamPassword, Domain: domain}}
	}
	sim := vpcepsim.New(vpcepsim.Options{
		ProjectID: s.project, AK: ak, SK: sk, Token: s.token, Endpoints: endpoints,
		CTSUser: s.ctsUser, CTSLag: s.ctsLag, IAM: iam,
	})
	if s.latRoute != "" {
		sim.SetRouteLatency(s.latRoute, s.latency)
	} else {
		sim.SetLatency(s.latency)
	}
	sim.SetNestedErrorBody(s.nested)
	sim.DropNext(s.drop)
	if s.failStatus != 0 {
		f := vpcepsim.Fault{Status: s.failStatus, Code: s.failCode}
		if s.failCount > 0 {
			sim.FailNext(s.failCount, f)
		} else {
			sim.FailRoute(s.failRoute, f)
		}
	}
	outOfBandID, err := outOfBandTarget(sim, s.outOfBand)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpcep-sim:", err)
		os.Exit(2)
	}

	var handler http.Handler = sim
	if s.logReqs {
		handler = logRequests(sim)
	}
	ln, err := net.Listen("tcp", s.listen)
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
	fmt.Printf("VPCEP_ENDPOINT=%s\nVPCEP_PROJECT_ID=%s\nHUAWEICLOUD_SDK_AK=%s\nHUAWEICLOUD_SDK_SK=%s\n", url, s.project, ak, sk)
	if s.token != "" {
		fmt.Printf("VPCEP_AUTH_TOKEN=%s\n", s.token)
	}
	fmt.Printf("CTS_ENABLED=true\nCTS_ENDPOINT=%s\n", url)
	if len(iam.Users) > 0 {
		u := iam.Users[0]
		// A project of a projects file (web serve --config), the password
		// in VPCEP_SIM_IAM_PASSWORD's place.
		fmt.Printf("\nVPCEP_SIM_IAM_PASSWORD=%s\n\n  - name: sim-%s\n    region: %s\n    project_id: %s\n    endpoint: %s\n    iam_endpoint: %s\n    cts_endpoint: %s\n    credentials:\n      iam_user:\n        name: %s\n        domain: %s\n        password: {env: VPCEP_SIM_IAM_PASSWORD}\n",
			u.Password, s.region, s.region, s.project, url, url, url, u.Name, u.Domain)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if outOfBandID != "" {
		fmt.Fprintf(os.Stderr, "vpcep-sim: endpoint %s will be changed out of band in %s\n", outOfBandID, s.outOfBandAfter)
		go func() {
			if err := changeOutOfBand(ctx, sim, outOfBandID, s, time.After(s.outOfBandAfter)); err != nil {
				fmt.Fprintln(os.Stderr, "vpcep-sim: out-of-band change:", err)
			}
		}()
	}
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "vpcep-sim:", err)
	}
}

// outOfBandTarget resolves --out-of-band: "" none, "demo" the demo
// target, else an endpoint that must exist.
func outOfBandTarget(sim *vpcepsim.Server, flagValue string) (string, error) {
	switch flagValue {
	case "":
		return "", nil
	case "demo":
		id := vpcepsim.OutOfBandTarget(sim)
		if id == "" {
			return "", errors.New("--out-of-band demo: no gateway endpoint with a policy")
		}
		return id, nil
	}
	if _, ok := sim.Endpoint(flagValue); !ok {
		return "", fmt.Errorf("--out-of-band: no endpoint %s", flagValue)
	}
	return flagValue, nil
}

// changeOutOfBand makes the --out-of-band change once at fires, unless ctx
// ends first.
func changeOutOfBand(ctx context.Context, sim *vpcepsim.Server, id string, s settings, at <-chan time.Time) error {
	select {
	case <-ctx.Done():
		return nil
	case <-at:
	}
	if err := sim.OutOfBandEditAs(id, s.outOfBandUser, s.outOfBandIP); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "vpcep-sim: changed the policy of endpoint %s out of band as %s from %s\n", id, s.outOfBandUser, s.outOfBandIP)
	return nil
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

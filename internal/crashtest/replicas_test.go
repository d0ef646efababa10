package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/proctest"
	"github.com/vpcep-console/vpcep-console/internal/simtest"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

// Three replicas share one database. Editors spread their changes over
// them while each replica in turn is stopped (SIGTERM) and started again:
// every PUT the upstream received has exactly one entry, no update is lost,
// nothing stays pending, the chain verifies, and no one is signed out.
func TestReplicasUnderRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := testdb.Migrated(t)
	pool := testdb.Pool(t, dbURL)
	sim := simtest.Start(t, simtest.Options{})
	var replicas []*proctest.Console
	for range 3 {
		replicas = append(replicas, proctest.Start(t, proctest.Options{DBURL: dbURL, Upstream: sim, Env: quickSettings}))
	}
	token := replicas[0].Token(t, "replica-editor", "editor")
	admin := signIn(t, replicas[0], "replica-admin", "admin")

	var gateways []*vpcepsim.Endpoint
	for _, ep := range sim.Endpoints() {
		if ep.Service.PolicyKind == vpcepsim.PolicyStatementKind && len(ep.Statements) > 0 {
			gateways = append(gateways, ep)
		}
	}
	editors, rounds := 6, 5
	if simtest.SoakRuns(0) > 0 { // a soak: the full campaign
		editors, rounds = 20, 25
	}

	// Restart each replica in turn (twice over in a soak) while the editors work.
	restarts := make(chan error, 100)
	restarting := make(chan struct{})
	go func() {
		defer close(restarting)
		cycles := 1
		if simtest.SoakRuns(0) > 0 {
			cycles = 2
		}
		for i := range cycles * len(replicas) {
			time.Sleep(150 * time.Millisecond)
			r := replicas[i%len(replicas)]
			if err := r.Stop(); err != nil {
				restarts <- fmt.Errorf("replica %d did not exit 0 on SIGTERM: %w", i%len(replicas), err)
			}
			if err := r.Launch(); err != nil {
				restarts <- fmt.Errorf("replica %d did not start again: %w", i%len(replicas), err)
				return
			}
			restarts <- nil
		}
	}()

	var mu sync.Mutex
	answers := map[int]int{}
	applied := map[string]bool{} // canonical policies answered 200
	var wg sync.WaitGroup
	for e := range editors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each editor makes its rounds, and goes on until every
			// replica was restarted.
			for round := 0; ; round++ {
				if round >= rounds {
					select {
					case <-restarting:
						return
					default:
					}
				}
				r := replicas[(e+round)%len(replicas)]
				ep := gateways[(e+round)%len(gateways)]
				p := readOnly(fmt.Sprintf("editor-%d-round-%d", e, round))
				status := changeAgainstLive(ctx, r.URL, token, ep.ID, p)
				mu.Lock()
				answers[status]++
				if status == http.StatusOK {
					applied[policy.CanonicalJSON(p)] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(restarts)
	n := 0
	for err := range restarts {
		if err != nil {
			t.Error(err)
			continue
		}
		n++
	}
	t.Logf("%d editors, at least %d rounds each, over 3 replicas, %d restarts: answers %v", editors, rounds, n, answers)
	if n == 0 || answers[http.StatusOK] == 0 {
		t.Fatalf("no restart or no change got through (%d restarts, answers %v): the test tested nothing", n, answers)
	}

	h := &harness{sim: sim, pool: pool, console: replicas[0]}
	h.waitSettled(t)
	byRequested := sim.CheckRecord(t, audit.New(pool))
	for p := range applied {
		if got := byRequested[p]; len(got) != 1 || got[0].Outcome != audit.OutcomeSucceeded {
			t.Errorf("a change answered 200 (%s) is not one succeeded entry", p)
		}
	}
	h.verify(t)
	for i, r := range replicas {
		if status := admin.get(t, r.URL+"/account"); status != http.StatusOK {
			t.Errorf("the admin is signed out on replica %d after the restarts: %d", i, status)
		}
	}
}

// changeAgainstLive reads the endpoint's fingerprint and sends a change
// made against it, as an editor's script would; 0 when a replica was down.
func changeAgainstLive(ctx context.Context, base, token, id string, p policy.Policy) int {
	status, body := proctest.Do(ctx, "GET", base+"/api/v1/endpoints/"+id, token, "")
	if status != http.StatusOK {
		return status
	}
	var ep struct{ Fingerprint string }
	_ = json.Unmarshal(body, &ep)
	req, _ := json.Marshal(map[string]any{"policy_statement": p, "reason": "replica run", "fingerprint": ep.Fingerprint})
	status, _ = proctest.Do(ctx, "PUT", base+"/api/v1/endpoints/"+id+"/policy", token, string(req))
	return status
}

// browser is a signed-in browser session: its cookies, sent by hand since
// they are Secure and the test speaks plain HTTP on loopback.
type browser struct{ cookies []*http.Cookie }

// signIn creates an account with role and signs it in through the form on c.
func signIn(t *testing.T, c *proctest.Console, name, role string) *browser {
	t.Helper()
	c.Command(t, "a long enough test password\n", "user", "add", name, "--role", role)
	b := &browser{}
	resp := b.do(t, http.MethodGet, c.URL+"/login", nil)
	csrf := ""
	for _, ck := range resp.Cookies() {
		b.cookies = append(b.cookies, ck)
		if strings.Contains(ck.Name, "csrf") {
			csrf = ck.Value
		}
	}
	form := url.Values{"name": {name}, "password": {"a long enough test password"}, "_csrf": {csrf}}
	resp = b.do(t, http.MethodPost, c.URL+"/login", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	b.cookies = append(b.cookies, resp.Cookies()...)
	return b
}

func (b *browser) do(t *testing.T, method, u string, form url.Values) *http.Response {
	t.Helper()
	var body strings.Reader
	if form != nil {
		body = *strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, &body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", strings.TrimSuffix(u, "/login"))
	}
	for _, ck := range b.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (b *browser) get(t *testing.T, u string) int { return b.do(t, http.MethodGet, u, nil).StatusCode }

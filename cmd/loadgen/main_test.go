package main

import (
	"strings"
	"testing"
	"time"
)

const wrkOutput = `Running 4s test @ http://127.0.0.1:18081/endpoints
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.21ms    3.10ms  41.20ms   80.12%
    Req/Sec     1.55k   120.33     1.80k    70.00%
  Latency Distribution
     50%    4.61ms
     75%    6.02ms
     90%    8.77ms
     99%   17.03ms
  12345 requests in 4.00s, 120.50MB read
Requests/sec:   3086.25
Transfer/sec:     30.12MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.rate != 3086.25 || r.p50 != 4610*time.Microsecond || r.p99 != 17030*time.Microsecond {
		t.Fatalf("parseWrk = %+v", r)
	}
	fast := strings.NewReplacer("4.61ms", "613.00us").Replace(wrkOutput)
	if r, err := parseWrk(fast); err != nil || r.p50 != 613*time.Microsecond {
		t.Fatalf("parseWrk(us) = %+v, %v", r, err)
	}
}

func TestParseWrkRefusesFailedRuns(t *testing.T) {
	for name, out := range map[string]string{
		"non-2xx":  wrkOutput + "  Non-2xx or 3xx responses: 12\n",
		"sockets":  strings.Replace(wrkOutput, "  Latency Distribution", "  Socket errors: connect 0, read 3, write 0, timeout 0\n  Latency Distribution", 1),
		"no rate":  "wrk: connection refused\n",
		"bad time": strings.Replace(wrkOutput, "4.61ms", "4.61parsecs", 1),
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: parseWrk accepted %q", name, out)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/vpcepsim"
)

func noEnv(string) string { return "" }

func TestParseFlags(t *testing.T) {
	t.Parallel()
	s, err := parseFlags(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.outOfBand != "" || s.outOfBandAfter != 30*time.Second || s.outOfBandUser != "terraform-ci" ||
		s.outOfBandIP != "10.0.8.15" || s.ctsUser != vpcepsim.DefaultCTSUser || s.ctsLag != 0 || s.listen != "127.0.0.1:9090" {
		t.Fatalf("defaults: %+v", s)
	}
	s, err = parseFlags([]string{"--out-of-band", "demo", "--out-of-band-after", "2m", "--out-of-band-user", "alice",
		"--out-of-band-ip", "2001:db8::7", "--cts-user", "svc", "--cts-lag", "3m", "--fail-route", "ListTraces"},
		func(k string) string { return map[string]string{"VPCEP_SIM_AK": "AKENV"}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.outOfBand != "demo" || s.outOfBandAfter != 2*time.Minute || s.outOfBandUser != "alice" || s.outOfBandIP != "2001:db8::7" ||
		s.ctsUser != "svc" || s.ctsLag != 3*time.Minute || s.failRoute != vpcepsim.RouteListTraces || s.ak != "AKENV" {
		t.Fatalf("flags: %+v", s)
	}

	s, err = parseFlags([]string{"--iam-user", "console@acme", "--token-lifetime", "2m", "--region", "ap-southeast-1", "--data-seed", "2"},
		func(k string) string { return map[string]string{"VPCEP_SIM_IAM_PASSWORD": "pw"}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.iamUser != "console@acme" || s.iamPassword != "pw" || s.tokenLifetime != 2*time.Minute || s.region != "ap-southeast-1" || s.dataSeed != 2 {
		t.Fatalf("IAM and data flags: %+v", s)
	}

	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--iam-user", "console"}, `--iam-user: "console" is not NAME@DOMAIN`},
		{[]string{"--token-lifetime", "0s"}, "--token-lifetime must be positive"},
		{[]string{"--data-seed", "0"}, "--data-seed must be at least 1"},
		{[]string{"--out-of-band", "x", "--out-of-band-ip", "10.0.8"}, `--out-of-band-ip: "10.0.8" is not an IP address`},
		{[]string{"--out-of-band", "x", "--out-of-band-after", "-1s"}, "--out-of-band-after must not be negative"},
		{[]string{"--out-of-band", "x", "--out-of-band-user", ""}, "--out-of-band-user must not be empty"},
		{[]string{"--cts-lag", "-1m"}, "--cts-lag must not be negative"},
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"--out-of-band-after", "soon"}, "invalid value"},
	} {
		if _, err := parseFlags(tc.args, noEnv, io.Discard); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestUsageDocumentsOutOfBand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, noEnv, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"/v3/{project_id}/traces", "POST /sim/admin/endpoints/{id}/policy", "-out-of-band", "-out-of-band-after", "-out-of-band-user", "-out-of-band-ip", "-cts-lag", "-cts-user", "ListTraces"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestOutOfBandFlagChangesThePolicy(t *testing.T) {
	t.Parallel()
	sim := vpcepsim.New(vpcepsim.Options{ProjectID: "p", Token: "t", Endpoints: vpcepsim.DemoEndpoints(1, time.Now().Add(-time.Hour))})
	if _, err := outOfBandTarget(sim, "no-such-endpoint"); err == nil {
		t.Fatal("an unknown --out-of-band endpoint was accepted")
	}
	if id, err := outOfBandTarget(sim, ""); err != nil || id != "" {
		t.Fatalf("no --out-of-band: %q, %v", id, err)
	}
	id, err := outOfBandTarget(sim, "demo")
	if err != nil || id != vpcepsim.OutOfBandTarget(sim) {
		t.Fatalf("demo target: %q, %v", id, err)
	}
	s, _ := parseFlags([]string{"--out-of-band", id, "--out-of-band-user", "alice", "--out-of-band-ip", "192.0.2.1"}, noEnv, io.Discard)

	// Nothing happens before the time comes, nor once the simulator stops.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := changeOutOfBand(ctx, sim, id, s, make(chan time.Time)); err != nil || len(sim.Traces()) != 0 {
		t.Fatalf("stopped before the time: %v, %d traces", err, len(sim.Traces()))
	}
	fire := make(chan time.Time, 1)
	fire <- time.Now()
	if err := changeOutOfBand(context.Background(), sim, id, s, fire); err != nil {
		t.Fatal(err)
	}
	tr := sim.Traces()
	if len(tr) != 1 || tr[0].ResourceID != id || tr[0].User != "alice" || tr[0].SourceIP != "192.0.2.1" {
		t.Fatalf("traces %+v", tr)
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrorsNameTheVariableBeforeAnythingStarts(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"DATABASE_URL": dbURL, "VPCEP_REGION": "cn-north-4"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "VPCEP_PROJECT_ID is required unless --demo") {
		t.Fatalf("err = %v", err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, envOf(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run(context.Background(), []string{"migrate", "sideways"}, envOf(map[string]string{"DATABASE_URL": dbURL}), io.Discard, io.Discard); err == nil {
		t.Fatal("unknown migrate command accepted")
	}
}

func TestMigrateCommands(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": testdb.Empty(t)})
	var out strings.Builder
	for _, step := range []struct{ cmd, want string }{
		{"status", "pending"},
		{"up", "applied 2 migration(s)"},
		{"status", "applied 20"},
		{"down", ""},
		{"status", "pending"},
	} {
		out.Reset()
		if err := run(context.Background(), []string{"migrate", step.cmd}, env, &out, io.Discard); err != nil {
			t.Fatalf("migrate %s: %v", step.cmd, err)
		}
		if !strings.Contains(out.String(), step.want) {
			t.Fatalf("migrate %s printed %q, want %q", step.cmd, out.String(), step.want)
		}
	}
}

func TestServeRefusesABehindSchemaWithNoMigrate(t *testing.T) {
	env := envOf(map[string]string{"DATABASE_URL": testdb.Empty(t)})
	err := run(context.Background(), []string{"serve", "--demo", "--no-migrate", "--listen", "127.0.0.1:0"}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to serve") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeDemo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	dbURL := testdb.Migrated(t)
	go func() {
		done <- run(ctx, []string{"--demo", "--listen", addr}, envOf(map[string]string{"DATABASE_URL": dbURL}), io.Discard, io.Discard)
	}()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(base + "/endpoints")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), `data-testid="endpoint-row"`); n < 30 {
		t.Errorf("demo lists %d endpoints, want at least 30", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	url := testdb.Migrated(t)
	pool := testdb.Pool(t, url)
	log := audit.New(pool)
	var ids []int64
	for i := range 3 {
		e, err := log.Begin(ctx, audit.Start{Actor: "alice", ProjectID: "p", Region: "r", EndpointID: fmt.Sprintf("ep-%d", i),
			Action: audit.ActionUpdate, Reason: "r", PolicyBefore: "[]", PolicyRequested: "[]"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	env := envOf(map[string]string{"DATABASE_URL": url})
	var out strings.Builder
	if err := run(ctx, []string{"audit", "verify"}, env, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ok: 3 entries") {
		t.Fatalf("verify: %v %q", err, out.String())
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_entries SET actor = 'mallory' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"audit", "verify"}, env, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry #%d", ids[1])) {
		t.Fatalf("verify after tampering: %v", err)
	}
}

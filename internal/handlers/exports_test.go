package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

// An export answers its status only once the first entry is read: a log
// that cannot be read is a 503 (audit_unavailable), never a 200 with an
// empty file.
func TestExportsAnswer503WhenTheLogCannotBeRead(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	seedEntries(t, a, 3)
	// The table is gone; sessions, in another table, still work.
	if _, err := a.pool.Exec(context.Background(), `ALTER TABLE audit_entries RENAME TO audit_entries_elsewhere`); err != nil {
		t.Fatal(err)
	}

	r := a.get(t, "/audit.csv")
	if r.Code != http.StatusServiceUnavailable || r.Header().Get("Retry-After") == "" ||
		r.text(testid("error-heading")) != "The audit log is unavailable" || strings.Contains(r.Body.String(), "started_at") {
		t.Errorf("CSV: %d, Retry-After %q, heading %q", r.Code, r.Header().Get("Retry-After"), r.text(testid("error-heading")))
	}
	j := a.api(t, http.MethodGet, "/audit.json", "", nil)
	if j.code != http.StatusServiceUnavailable || j.errField("code") != "audit_unavailable" {
		t.Errorf("JSON: %d %s", j.code, j.raw)
	}
	if strings.Contains(r.Body.String()+j.raw, "audit_entries") || !strings.Contains(a.logs.String(), "audit_entries") {
		t.Errorf("the detail belongs in the log, not the answer:\n%s", a.logs.String())
	}
}

// An empty log, or a filter nothing matches, is still a 200 with the header
// row or [].
func TestExportsOfAnEmptyLog(t *testing.T) {
	t.Parallel()
	a := newApp(t, withDB(testdb.Migrated(t)))
	r := a.get(t, "/audit.csv")
	rows, err := csv.NewReader(strings.NewReader(r.Body.String())).ReadAll()
	if r.Code != http.StatusOK || err != nil || len(rows) != 1 || rows[0][0] != "id" {
		t.Errorf("CSV: %d %v %q", r.Code, err, r.Body.String())
	}
	seedEntries(t, a, 2)
	r = a.get(t, "/audit.json?actor=nobody")
	var entries []json.RawMessage
	if err := json.Unmarshal(r.Body.Bytes(), &entries); r.Code != http.StatusOK || err != nil || entries == nil || len(entries) != 0 {
		t.Errorf("JSON: %d %v %q", r.Code, err, r.Body.String())
	}
}

// An export that the database breaks off midway, after its status was
// sent, ends so that the client can tell: the CSV with a last line saying
// it is incomplete, the JSON array unclosed, and both connections aborted. Over
// a real HTTP server: only net/http can abort a connection.
func TestExportsBrokenMidway(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, withDB(testdb.Migrated(t)))
			// 600 entries, newest first: the export reads ids 600..101 in its
			// first batch and 100..1 in the next. Each is large (40 kB), so
			// the first batch cannot fit in the sockets' buffers and the
			// export is still writing it while the database goes away.
			if _, err := a.pool.Exec(context.Background(), `
				INSERT INTO audit_entries (id, started_at, actor, project_id, region, endpoint_id, endpoint_service_name,
					action, reason, policy_before, policy_requested, prev_hash, hash, outcome, finished_at, response_status, final_hash)
				SELECT g, now() - ((600 - g) || ' seconds')::interval, 'alice', 'p1', 'cn-north-4', 'ep-' || (g % 5),
					'com.myhuaweicloud.cn-north-4.obs', 'update', repeat('x', 40000), '[]', '[]',
					md5(g::text), md5((g + 1)::text), 'succeeded', now(), 200, md5(g::text)
				FROM generate_series(1, 600) g`); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.handler)
			t.Cleanup(srv.Close)
			// A small receive buffer, fixed before connecting (so the kernel
			// does not grow it), keeps the export writing its first batch.
			dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) {
					_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10)
				})
			}}
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}, Timeout: time.Minute}
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/audit."+format, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Cookie", "__Host-session="+a.cookies["__Host-session"])
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			// The first batch has been read (the headers went out with its
			// first bytes); the database goes away before the second.
			a.pool.Close()
			body, readErr := io.ReadAll(resp.Body)
			srv.Close() // waits for the request to finish: its log lines are written

			switch format {
			case "csv":
				if readErr == nil || !strings.Contains(readErr.Error(), "unexpected EOF") {
					t.Errorf("reading the CSV: %v, want the connection aborted after the last line", readErr)
				}
				lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
				if last := lines[len(lines)-1]; last != "# export incomplete: the audit log could not be read past entry #101" {
					t.Errorf("last line %.200q", last)
				}
				if n := len(lines); n != 1+500+1 {
					t.Errorf("%d lines, want the header, 500 entries and the last line", n)
				}
			case "json":
				if readErr == nil || !strings.Contains(readErr.Error(), "unexpected EOF") {
					t.Errorf("reading the JSON: %v, want the connection aborted", readErr)
				}
				if trimmed := strings.TrimSpace(string(body)); strings.HasSuffix(trimmed, "]") || len(trimmed) < 500*40000 {
					t.Errorf("JSON of %d bytes ends %q", len(body), trimmed[max(0, len(trimmed)-20):])
				}
				var entries []json.RawMessage
				if err := json.Unmarshal(body, &entries); err == nil {
					t.Error("a broken export parses as complete JSON")
				}
			}
			if logs := a.logs.String(); !strings.Contains(logs, "export incomplete: the audit log could not be read past entry #101") {
				t.Errorf("not logged:\n%s", logs)
			}
		})
	}
}

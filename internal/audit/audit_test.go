package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/testdb"
)

var dbURL string

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, &dbURL)) }

func start(endpoint, actor string) audit.Start {
	return audit.Start{
		Actor: actor, ProjectID: "p1", Region: "cn-north-4", EndpointID: endpoint, EndpointServiceName: "com.myhuaweicloud.cn-north-4.obs",
		Action: audit.ActionUpdate, Reason: "ticket OPS-1",
		PolicyBefore:    `[{"Action":["obs:*"],"Effect":"Allow","Resource":["*"]}]`,
		PolicyRequested: `[{"Action":["obs:object:GetObject"],"Effect":"Allow","Resource":["obs:*:*:object:logs/*"]}]`,
	}
}

func succeeded() audit.Final {
	yes := true
	return audit.Final{Outcome: audit.OutcomeSucceeded, RequestBody: `{"policy_statement":[]}` + "\n",
		ResponseStatus: 200, ResponseBody: `{"id":"e"}`, RequestID: "abc", ReadbackMatches: &yes,
		ReadbackPolicy: `[]`, Duration: 42 * time.Millisecond}
}

func freshLog(t *testing.T) (*audit.Log, *pgxpool.Pool) {
	pool := testdb.Pool(t, testdb.Migrated(t))
	return audit.New(pool), pool
}

func TestBeginFinaliseGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, _ := freshLog(t)
	e, err := log.Begin(ctx, start("ep-1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Outcome != audit.OutcomePending || e.PrevHash != strings.Repeat("0", 64) || len(e.Hash) != 64 ||
		e.FormatVersion != audit.CurrentFormatVersion {
		t.Fatalf("pending entry %+v", e)
	}
	if err := log.Finalise(ctx, e, succeeded()); err != nil {
		t.Fatal(err)
	}
	got, err := log.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != audit.OutcomeSucceeded || *got.ResponseStatus != 200 || *got.DurationMS != 42 || got.FinalHash != e.FinalHash ||
		!*got.ReadbackMatches || got.RequestBody != `{"policy_statement":[]}`+"\n" {
		t.Fatalf("finalised entry %+v", got)
	}
	// AllowUnexported: the attribution text stored is part of what must match.
	if diff := cmp.Diff(e, got, cmp.AllowUnexported(audit.Entry{})); diff != "" {
		t.Errorf("Get mismatch with what Finalise recorded (-want +got):\n%s", diff)
	}
	if err := log.Finalise(ctx, got, succeeded()); err == nil {
		t.Fatal("finalised twice")
	}
	second, err := log.Begin(ctx, start("ep-1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if second.PrevHash != e.Hash {
		t.Errorf("second prev_hash %s, want %s", second.PrevHash, e.Hash)
	}
	if _, err := log.Get(ctx, 999999); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("Get(unknown) = %v", err)
	}
	r, err := log.Verify(ctx)
	if err != nil || !r.OK() || r.Checked != 2 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

func TestSubmissionKeyIsOneTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, _ := freshLog(t)
	s := start("ep-1", "alice")
	s.SubmissionKey = "k-123"
	var wg sync.WaitGroup
	results := make([]error, 5)
	ids := make([]int64, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := log.Begin(ctx, s)
			results[i] = err
			if e != nil {
				ids[i] = e.ID
			}
		}()
	}
	wg.Wait()
	created, dups := 0, 0
	var first int64
	for i, err := range results {
		var dup *audit.ErrDuplicateSubmission
		switch {
		case err == nil:
			created++
			first = ids[i]
		case errors.As(err, &dup):
			dups++
		default:
			t.Fatalf("Begin: %v", err)
		}
	}
	if created != 1 || dups != 4 {
		t.Fatalf("created %d, duplicates %d", created, dups)
	}
	_, err := log.Begin(ctx, s)
	var dup *audit.ErrDuplicateSubmission
	if !errors.As(err, &dup) || dup.Existing != first {
		t.Fatalf("repeat = %v", err)
	}
}

func TestTheDatabaseRefusesEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, pool := freshLog(t)
	done, err := log.Begin(ctx, start("ep-1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Finalise(ctx, done, succeeded()); err != nil {
		t.Fatal(err)
	}
	pending, err := log.Begin(ctx, start("ep-2", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, sql string }{
		{"delete", fmt.Sprintf(`DELETE FROM audit_entries WHERE id = %d`, done.ID)},
		{"delete pending", fmt.Sprintf(`DELETE FROM audit_entries WHERE id = %d`, pending.ID)},
		{"truncate", `TRUNCATE audit_entries`},
		{"edit a final entry", fmt.Sprintf(`UPDATE audit_entries SET reason = 'nothing to see' WHERE id = %d`, done.ID)},
		{"reopen a final entry", fmt.Sprintf(`UPDATE audit_entries SET outcome = 'pending' WHERE id = %d`, done.ID)},
		{"edit a pending entry's start", fmt.Sprintf(`UPDATE audit_entries SET actor = 'mallory' WHERE id = %d`, pending.ID)},
		{"finalise without a final hash", fmt.Sprintf(`UPDATE audit_entries SET outcome = 'failed', finished_at = now() WHERE id = %d`, pending.ID)},
		{"finalise and change the policy", fmt.Sprintf(`UPDATE audit_entries SET outcome = 'failed', finished_at = now(), final_hash = 'x', policy_requested = '[]' WHERE id = %d`, pending.ID)},
		{"finalise and lower the format version", fmt.Sprintf(`UPDATE audit_entries SET outcome = 'failed', finished_at = now(), final_hash = 'x', format_version = 1 WHERE id = %d`, pending.ID)},
		{"lower a final entry's format version", fmt.Sprintf(`UPDATE audit_entries SET format_version = 1 WHERE id = %d`, done.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(ctx, tt.sql)
			if err == nil || !strings.Contains(err.Error(), "audit ") {
				t.Fatalf("%s: err = %v", tt.sql, err)
			}
		})
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("entries = %d, %v", n, err)
	}
	if r, err := log.Verify(ctx); err != nil || !r.OK() {
		t.Fatalf("Verify after refused edits = %+v, %v", r, err)
	}
}

func TestVerifyNamesTheFirstAlteredEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  func(ids []int64) string
		badIdx  int
		problem string
	}{
		{"reason edited", func(ids []int64) string {
			return fmt.Sprintf(`UPDATE audit_entries SET reason = 'approved by CTO' WHERE id = %d`, ids[2])
		}, 2, "does not match its hash"},
		{"outcome edited", func(ids []int64) string {
			return fmt.Sprintf(`UPDATE audit_entries SET outcome = 'failed' WHERE id = %d`, ids[1])
		}, 1, "outcome fields"},
		{"entry deleted", func(ids []int64) string {
			return fmt.Sprintf(`DELETE FROM audit_entries WHERE id = %d`, ids[2])
		}, 3, "is missing"},
		{"first entry deleted", func(ids []int64) string {
			return fmt.Sprintf(`DELETE FROM audit_entries WHERE id = %d`, ids[0])
		}, 1, "start of the chain"},
		{"format version lowered", func(ids []int64) string {
			return fmt.Sprintf(`UPDATE audit_entries SET format_version = 1 WHERE id = %d`, ids[3])
		}, 3, "does not match its hash"},
		{"hash recomputed by hand", func(ids []int64) string {
			return fmt.Sprintf(`UPDATE audit_entries SET reason = 'x', hash = encode(sha256('x'), 'hex') WHERE id = %d`, ids[1])
		}, 1, "does not match its hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, pool := freshLog(t)
			var ids []int64
			for i := range 5 {
				e, err := log.Begin(ctx, start(fmt.Sprintf("ep-%d", i), "alice"))
				if err != nil {
					t.Fatal(err)
				}
				if err := log.Finalise(ctx, e, succeeded()); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, e.ID)
			}
			// By hand, past the triggers, as someone with the database's keys would.
			conn, err := pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, tt.tamper(ids)); err != nil {
				t.Fatal(err)
			}
			_, _ = conn.Exec(ctx, `SET session_replication_role = origin`)
			r, err := log.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.BadEntry != ids[tt.badIdx] || !strings.Contains(r.Problem, tt.problem) {
				t.Fatalf("Verify = %+v, want entry %d (%s)", r, ids[tt.badIdx], tt.problem)
			}
		})
	}
}

func TestListFiltersAndKeysetPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, _ := freshLog(t)
	var all []int64
	for i := range 12 {
		s := start(fmt.Sprintf("ep-%d", i%3), []string{"alice", "bob"}[i%2])
		e, err := log.Begin(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		f := succeeded()
		if i%4 == 0 {
			f.Outcome = audit.OutcomeFailed
		}
		if err := log.Finalise(ctx, e, f); err != nil {
			t.Fatal(err)
		}
		all = append(all, e.ID)
	}
	var got []int64
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := log.List(ctx, audit.Filter{}, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			got = append(got, e.ID)
		}
		if p.NextCursor == "" {
			if pages != 2 {
				t.Errorf("%d pages", pages+1)
			}
			break
		}
		cursor = p.NextCursor
	}
	for i := range got {
		if got[i] != all[len(all)-1-i] {
			t.Fatalf("order %v", got)
		}
	}
	for _, tt := range []struct {
		f    audit.Filter
		want int
	}{
		{audit.Filter{EndpointID: "ep-1"}, 4},
		{audit.Filter{Actor: "bob"}, 6},
		{audit.Filter{Outcome: audit.OutcomeFailed}, 3},
		{audit.Filter{Actor: "alice", EndpointID: "ep-0"}, 2},
		{audit.Filter{Action: audit.ActionRollback}, 0},
		{audit.Filter{From: time.Now().Add(time.Hour)}, 0},
		{audit.Filter{To: time.Now().Add(time.Hour)}, 12},
	} {
		p, err := log.List(ctx, tt.f, "", 100)
		if err != nil || len(p.Entries) != tt.want {
			t.Errorf("%+v: %d entries, %v; want %d", tt.f, len(p.Entries), err, tt.want)
		}
		n := 0
		if err := log.Each(ctx, tt.f, func(*audit.Entry) error { n++; return nil }); err != nil || n != tt.want {
			t.Errorf("Each %+v: %d, %v", tt.f, n, err)
		}
	}
	if _, err := log.List(ctx, audit.Filter{}, "abc", 5); !errors.Is(err, audit.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

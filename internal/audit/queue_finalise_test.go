package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
)

// A finalise queued in the caller's batch records what Finalise would, and
// commits or vanishes with the rest of the batch's transaction.
func TestQueueFinalise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log, pool := freshLog(t)
	finalise := func(e *audit.Entry, f audit.Final, also string) error {
		t.Helper()
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		took, err := log.QueueFinalise(b, e, f)
		if err != nil {
			return err
		}
		if also != "" {
			b.Queue(also)
		}
		b.Queue(`COMMIT`)
		if err := pool.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return took()
	}
	e, err := log.Begin(ctx, start("ep-1", "alice"))
	if err != nil {
		t.Fatal(err)
	}

	// A statement after it fails: the outcome is not recorded either.
	if err := finalise(new(*e), succeeded(), `SELECT 1 / 0`); err == nil {
		t.Fatal("the failing batch succeeded")
	}
	if got, err := log.Get(ctx, e.ID); err != nil || got.Outcome != audit.OutcomePending {
		t.Fatalf("after the failed batch: %+v, %v; want still pending", got, err)
	}

	if err := finalise(e, succeeded(), ""); err != nil {
		t.Fatal(err)
	}
	got, err := log.Get(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got, cmp.AllowUnexported(audit.Entry{})); diff != "" {
		t.Errorf("Get mismatch with what QueueFinalise recorded (-want +got):\n%s", diff)
	}
	if err := finalise(new(*got), succeeded(), ""); !errors.Is(err, audit.ErrNotPending) {
		t.Errorf("finalised twice: %v, want ErrNotPending", err)
	}
	noDuration := succeeded()
	noDuration.Duration = 0
	second, err := log.Begin(ctx, start("ep-1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.QueueFinalise(&pgx.Batch{}, second, noDuration); err == nil {
		t.Error("a queued finalise without a duration was accepted")
	}
	if err := log.Finalise(ctx, second, succeeded()); err != nil {
		t.Fatal(err)
	}
	if r, err := log.Verify(ctx); err != nil || !r.OK() || r.Checked != 2 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/cts"
)

// attributeBatch is how many drifts one attribution pass asks CTS about.
const attributeBatch = 20

// ctsRetention is how far back CTS keeps traces (seven days).
const ctsRetention = 7 * 24 * time.Hour

// attributeLease is how long a claimed question is another replica's: a
// replica that dies while asking leaves it to be asked again after it.
const attributeLease = 2 * time.Minute

// scheduleAttribution makes the drift e a question for CTS, in the
// transaction that records e: the window is [from, detection + margin].
// With CTS not enabled nothing is asked (and e's note says so).
func (d *Detector) scheduleAttribution(ctx context.Context, tx pgx.Tx, e *audit.Entry, from time.Time) error {
	if d.cfg.CTS == nil {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO drift_attributions (drift_entry_id, endpoint_id, window_from, window_to, give_up_at)
		VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.EndpointID, from, e.StartedAt.Add(d.cfg.AttributeMargin), e.StartedAt.Add(d.cfg.AttributeFor))
	if err != nil {
		return fmt.Errorf("schedule the question to CTS: %w", err)
	}
	return nil
}

// Run attributes drifts in the background until ctx ends: a pass at once,
// after each Kick (a drift was recorded), and every interval (CTS lags by
// minutes, so most drifts are found on a later pass). It never runs inside
// a request or under an endpoint's lock. Without CTS it returns at once.
func (d *Detector) Run(ctx context.Context, interval time.Duration) {
	if d.cfg.CTS == nil {
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if _, err := d.AttributePass(ctx); err != nil && ctx.Err() == nil {
			d.logger.Warn("drift attribution pass failed; retried on the next", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-d.kick:
		}
	}
}

// AttributePass asks CTS about the drifts whose turn it is and records
// what it finds: an attribute entry (actor "cts", refers_to the drift) with
// the modifyEndpointPolicy traces but the console's own; nothing yet, to ask again later; or,
// once the retry window is over, an attribute entry saying CTS had no
// record. A failed question keeps its error on the drift and is asked
// again. It returns how many drifts it asked about; only drifts of its
// project (Config.ProjectID) are its to ask. Replicas share the work:
// each question is claimed for a lease, and an answer is recorded once.
func (d *Detector) AttributePass(ctx context.Context) (int, error) {
	if d.cfg.CTS == nil {
		return 0, nil
	}
	type question struct {
		driftID        int64
		endpointID     string
		from, to, upTo time.Time
		now            time.Time
	}
	// Only the drifts of this Detector's project: another project's
	// endpoints are in another CTS, asked by that project's Detector. The
	// drift's entry says its project; only its row of the pair is locked.
	rows, err := d.pool.Query(ctx, `
		UPDATE drift_attributions SET attempts = attempts + 1, next_attempt_at = now() + $2 * interval '1 microsecond'
		WHERE drift_entry_id IN (
			SELECT q.drift_entry_id FROM drift_attributions q JOIN audit_entries a ON a.id = q.drift_entry_id
			WHERE q.state IN ('pending', 'failed') AND q.next_attempt_at <= now() AND a.project_id = $3
			ORDER BY q.next_attempt_at LIMIT $1 FOR UPDATE OF q SKIP LOCKED)
		RETURNING drift_entry_id, endpoint_id, window_from, window_to, give_up_at, now()`,
		attributeBatch, attributeLease.Microseconds(), d.cfg.ProjectID)
	if err != nil {
		return 0, fmt.Errorf("drift: claim attributions: %w", err)
	}
	qs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (question, error) {
		var q question
		err := row.Scan(&q.driftID, &q.endpointID, &q.from, &q.to, &q.upTo, &q.now)
		return q, err
	})
	if err != nil {
		return 0, fmt.Errorf("drift: claim attributions: %w", err)
	}
	var errs []error
	for _, q := range qs {
		// CTS keeps traces for seven days: a window reaching further back
		// (the first drift after an upgrade, measured from a version
		// months old) would fail, or page through what it cannot hold.
		from := q.from
		if oldest := q.now.Add(-ctsRetention); from.Before(oldest) {
			from = oldest
		}
		traces, err := d.cfg.CTS.PolicyTraces(ctx, q.endpointID, from, q.to)
		if err == nil {
			traces, err = d.withoutOurs(ctx, q.endpointID, traces)
		}
		switch {
		case err != nil && !q.now.Before(q.upTo):
			// Failing for the whole retry window: give up as for no record,
			// or it is asked every minute for ever.
			d.logger.Warn("asking CTS who changed an endpoint kept failing; giving up", "endpoint", q.endpointID, "drift", q.driftID, "error", err)
			err = d.recordAttribution(ctx, q.driftID, nil, AttributionNone)
		case err != nil:
			d.logger.Warn("asking CTS who changed an endpoint failed; asked again later", "endpoint", q.endpointID, "drift", q.driftID, "error", err)
			err = d.attributionFailed(ctx, q.driftID, err)
		case len(traces) > 0:
			err = d.recordAttribution(ctx, q.driftID, traces, AttributionFound)
		case !q.now.Before(q.upTo):
			err = d.recordAttribution(ctx, q.driftID, nil, AttributionNone)
		default:
			_, err = d.pool.Exec(ctx, `UPDATE drift_attributions SET state = 'pending', last_error = NULL,
				next_attempt_at = now() + $2 * interval '1 microsecond' WHERE drift_entry_id = $1 AND state IN ('pending', 'failed')`,
				q.driftID, d.cfg.AttributeRetry.Microseconds())
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return len(qs), errors.Join(errs...)
}

// withoutOurs leaves out the traces of the console's own changes: CTS
// records those too (as the console's credentials' user), and the window
// may hold one just before the drift. A trace is the console's when its
// request id is that of a PUT an audit entry of the endpoint recorded.
func (d *Detector) withoutOurs(ctx context.Context, endpointID string, traces []cts.Trace) ([]cts.Trace, error) {
	var ids []string
	for _, t := range traces {
		if t.RequestID != "" {
			ids = append(ids, t.RequestID)
		}
	}
	if len(ids) == 0 {
		return traces, nil
	}
	rows, err := d.pool.Query(ctx, `SELECT DISTINCT request_id FROM audit_entries
		WHERE endpoint_id = $1 AND request_id = ANY($2)`, endpointID, ids)
	if err != nil {
		return nil, fmt.Errorf("drift: the console's own requests: %w", err)
	}
	ours, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("drift: the console's own requests: %w", err)
	}
	out := traces[:0:0]
	for _, t := range traces {
		if !slices.Contains(ours, t.RequestID) {
			out = append(out, t)
		}
	}
	return out, nil
}

// attributionFailed keeps a failed question's error and asks again later.
func (d *Detector) attributionFailed(ctx context.Context, driftID int64, cause error) error {
	_, err := d.pool.Exec(ctx, `UPDATE drift_attributions SET state = 'failed', last_error = $2,
		next_attempt_at = now() + $3 * interval '1 microsecond' WHERE drift_entry_id = $1 AND state IN ('pending', 'failed')`,
		driftID, errorText(cause), d.cfg.AttributeRetry.Microseconds())
	if err != nil {
		return fmt.Errorf("drift: keep the CTS failure of drift %d: %w", driftID, err)
	}
	return nil
}

// recordAttribution records the attribute entry of the drift and closes
// its question, in one transaction: only the first replica to answer
// records one.
func (d *Detector) recordAttribution(ctx context.Context, driftID int64, traces []cts.Trace, state string) error {
	de, err := d.log.Get(ctx, driftID)
	if err != nil {
		return fmt.Errorf("drift: attribute drift %d: %w", driftID, err)
	}
	note := fmt.Sprintf("Cloud Trace Service recorded who changed the policy of entry #%d.", driftID)
	if state == AttributionNone {
		note = fmt.Sprintf("Cloud Trace Service had no record of the change of entry #%d within %s of it: who made it is not known.", driftID, d.cfg.AttributeFor)
	}
	var recorded *audit.Entry
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		recorded = nil
		tag, err := tx.Exec(ctx, `UPDATE drift_attributions SET state = $2, last_error = NULL
			WHERE drift_entry_id = $1 AND state IN ('pending', 'failed')`, driftID, state)
		if err != nil || tag.RowsAffected() == 0 {
			return err // answered by another replica meanwhile
		}
		es, err := d.log.Append(ctx, tx, []audit.Complete{{
			Start: audit.Start{Actor: ActorCTS, ProjectID: de.ProjectID, Region: de.Region,
				EndpointID: de.EndpointID, EndpointServiceName: de.EndpointServiceName, Action: audit.ActionAttribute,
				RefersTo: &de.ID, PolicyBefore: string(de.PolicyBefore), PolicyRequested: string(de.PolicyRequested),
				Attribution: traces},
			Final: audit.Final{Outcome: audit.OutcomeSucceeded, Note: note},
		}})
		if err != nil {
			return err
		}
		recorded = es[0]
		_, err = tx.Exec(ctx, `UPDATE drift_attributions SET attribute_entry_id = $2 WHERE drift_entry_id = $1`, driftID, recorded.ID)
		return err
	})
	var pending *audit.PendingEntryError
	if errors.As(err, &pending) {
		// A change is in flight on the endpoint: the next pass records it.
		_, err = d.pool.Exec(ctx, `UPDATE drift_attributions SET next_attempt_at = now() WHERE drift_entry_id = $1`, driftID)
		return err
	}
	if err != nil {
		return fmt.Errorf("drift: attribute drift %d: %w", driftID, err)
	}
	if recorded != nil {
		d.logger.Info("attributed a change made outside the console", "drift", driftID, "entry", recorded.ID, "state", state, "traces", len(traces))
	}
	return nil
}

package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Summary is what one pass over the inventory did.
type Summary struct {
	Compared  int // editable endpoints whose state differed or was behind the log
	Baselines int // first-sight baselines recorded
	Drifts    int // drift entries recorded
	Busy      int // endpoints left for the next pass (a change held them)
	Failed    int // endpoints whose check failed (kept on their state)
}

// DetectInventory compares the stored inventory (just refreshed) with what
// the console last saw of each editable endpoint. One query finds the
// endpoints that need a look: those never seen, those whose policy's
// fingerprint (stored by the refresh) differs from the last seen one, and
// those whose state is behind the audit log; the rest cost nothing more.
// Endpoints never seen and without history get their baselines in batches
// (one transaction per batch, under the chain lock); each other one is
// checked under its lock, tried and never waited for. A failure on one
// endpoint is kept on its state and does not stop the others.
func (d *Detector) DetectInventory(ctx context.Context) (Summary, error) {
	var sum Summary
	rows, err := d.pool.Query(ctx, `
		SELECT e.id, v.endpoint_id IS NULL AND NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.endpoint_id = e.id)
		FROM inventory_endpoints e LEFT JOIN endpoint_versions v ON v.endpoint_id = e.id
		WHERE e.policy_fingerprint IS NOT NULL
			AND (v.endpoint_id IS NULL OR v.fingerprint IS DISTINCT FROM e.policy_fingerprint
				OR coalesce(v.log_entry_id, 0) > coalesce(v.entry_id, 0))
		ORDER BY e.id`)
	if err != nil {
		return sum, fmt.Errorf("drift: compare the inventory: %w", err)
	}
	var fresh, others []string
	var id string
	var new bool
	_, err = pgx.ForEachRow(rows, []any{&id, &new}, func() error {
		if new {
			fresh = append(fresh, id)
		} else {
			others = append(others, id)
		}
		return nil
	})
	if err != nil {
		return sum, fmt.Errorf("drift: compare the inventory: %w", err)
	}
	sum.Compared = len(fresh) + len(others)
	for start := 0; start < len(fresh); start += d.cfg.BaselineBatch {
		batch := fresh[start:min(start+d.cfg.BaselineBatch, len(fresh))]
		n, rest, err := d.baselines(ctx, batch)
		if err != nil {
			return sum, err
		}
		sum.Baselines += n
		others = append(others, rest...) // gained history meanwhile: checked one by one
	}
	for start := 0; start < len(others); start += 200 {
		eps, err := d.inventoryEndpoints(ctx, others[start:min(start+200, len(others))])
		if err != nil {
			return sum, err
		}
		for i := range eps {
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			recorded, checked, err := d.observe(ctx, &eps[i], ByRefresh, false)
			switch {
			case err != nil:
				sum.Failed++
				d.noteError(ctx, eps[i].ID, err)
			case !checked:
				sum.Busy++
			case recorded != nil && recorded.Action == audit.ActionDrift:
				sum.Drifts++
			case recorded != nil:
				sum.Baselines++
			}
		}
	}
	if sum.Baselines+sum.Drifts+sum.Failed > 0 || sum.Busy > 0 {
		d.logger.Info("compared the inventory with the known versions", "compared", sum.Compared,
			"baselines", sum.Baselines, "drifts", sum.Drifts, "busy", sum.Busy, "failed", sum.Failed)
	}
	return sum, nil
}

// inventoryEndpoints reads the stored endpoints ids names.
func (d *Detector) inventoryEndpoints(ctx context.Context, ids []string) ([]vpcep.Endpoint, error) {
	rows, err := d.pool.Query(ctx, `SELECT body FROM inventory_endpoint_bodies WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("drift: read the inventory: %w", err)
	}
	eps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (vpcep.Endpoint, error) {
		var body []byte
		var ep vpcep.Endpoint
		if err := row.Scan(&body); err != nil {
			return ep, err
		}
		return ep, json.Unmarshal(body, &ep)
	})
	if err != nil {
		return nil, fmt.Errorf("drift: read the inventory: %w", err)
	}
	return eps, nil
}

// baselines records the baselines of endpoints seen for the first time,
// in one transaction: under the chain lock it keeps those still without
// any entry (rest: the others, to be checked one by one), appends their
// baselines and writes their state rows.
func (d *Detector) baselines(ctx context.Context, ids []string) (n int, rest []string, err error) {
	eps, err := d.inventoryEndpoints(ctx, ids)
	if err != nil {
		return 0, nil, err
	}
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		n, rest = 0, nil
		has, err := d.log.WithEntries(ctx, tx, ids)
		if err != nil {
			return err
		}
		var entries []audit.Complete
		var fps []string
		for i := range eps {
			ep := &eps[i]
			if has[ep.ID] {
				rest = append(rest, ep.ID)
				continue
			}
			live := policy.Policy(ep.PolicyStatement)
			entries = append(entries, d.baseline(ep, policy.JSON(live)))
			fps = append(fps, policy.Fingerprint(live))
		}
		recorded, err := d.log.Append(ctx, tx, entries)
		if err != nil {
			return err
		}
		endpointIDs, entryIDs := make([]string, len(recorded)), make([]int64, len(recorded))
		for i, e := range recorded {
			endpointIDs[i], entryIDs[i] = e.EndpointID, e.ID
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO endpoint_versions AS v (endpoint_id, fingerprint, entry_id, log_entry_id, known_entry_id, checked_at)
			SELECT id, fp, entry, entry, entry, now() FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, fp, entry)
			ON CONFLICT (endpoint_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, entry_id = EXCLUDED.entry_id,
				known_entry_id = EXCLUDED.known_entry_id, drift_entry_id = NULL, checked_at = now(), last_error = NULL`,
			endpointIDs, fps, entryIDs)
		n = len(recorded)
		return err
	})
	var pending *audit.PendingEntryError
	if errors.As(err, &pending) {
		return 0, ids, nil // a change began meanwhile: one by one, under their locks
	}
	if err != nil {
		return 0, nil, fmt.Errorf("drift: record baselines: %w", err)
	}
	return n, rest, nil
}

package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
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
// the console last saw of each editable endpoint. listedSince is when the
// refresh began to list the upstream, on the database's clock (zero: not
// known). One query finds the endpoints that need a look: those never
// seen, those whose policy's fingerprint (stored by the refresh) differs
// from the last seen one, and those whose state is behind the audit log;
// the rest cost nothing more. Endpoints never seen and without history get
// their baselines in batches (one transaction per batch, under the chain
// lock); the others are checked in batches too, each endpoint under its
// lock (tried, never waited for). The listed policy proves a drift only
// when the endpoint's newest entry finished before the listing began;
// otherwise (a change made through the console meanwhile) the endpoint is
// read again under its lock. A failure on one endpoint is kept on its
// state and does not stop the others.
func (d *Detector) DetectInventory(ctx context.Context, listedSince time.Time) (Summary, error) {
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
		others = append(others, rest...) // gained history meanwhile: checked with the others
	}
	for start := 0; start < len(others); start += checkBatch {
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
		eps, err := d.inventoryEndpoints(ctx, others[start:min(start+checkBatch, len(others))])
		if err != nil {
			return sum, err
		}
		recheck, err := d.checkListed(ctx, eps, listedSince, &sum)
		if err != nil {
			// One endpoint's failure must not hold back the others: one
			// by one, each failure kept on its endpoint.
			d.logger.Warn("drift: a batch of endpoints failed; checking them one by one", "error", err)
			recheck = eps
		}
		for i := range recheck {
			recorded, checked, err := d.observe(ctx, &recheck[i], ByRefresh, false)
			switch {
			case err != nil:
				sum.Failed++
				d.noteError(ctx, recheck[i].ID, err)
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

// checkBatch is how many listed endpoints one transaction checks: each
// holds its endpoint's lock until the transaction ends.
const checkBatch = 50

// checkListed checks listed endpoints, whose inventory policy differs from
// the one last seen (or whose state is behind the log), in one
// transaction: each under its lock (a busy one is left for the next pass),
// re-derived from the log; the drifts the listing proves are appended
// together, with the endpoints' state rows. It returns the endpoints to
// read again under their own lock (see DetectInventory).
func (d *Detector) checkListed(ctx context.Context, eps []vpcep.Endpoint, listedSince time.Time, sum *Summary) (recheck []vpcep.Endpoint, err error) {
	var busy, drifts int
	var recorded []*audit.Entry
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		busy, drifts, recheck, recorded = 0, 0, nil, nil
		type drifted struct {
			ep    *vpcep.Endpoint
			s     *derived
			fp    string
			from  time.Time
			entry audit.Complete
		}
		var found []drifted
		for i := range eps {
			ep := &eps[i]
			ok, err := pglock.TryXactLock(ctx, tx, change.EndpointLock(ep.ID))
			if err != nil {
				return err
			}
			if !ok {
				busy++
				continue
			}
			s, err := d.derive(ctx, tx, ep.ID)
			switch {
			case err != nil:
				return err
			case s.pending != nil:
				busy++
				continue
			case !s.hasHistory:
				recheck = append(recheck, *ep) // a baseline, decided under the chain lock
				continue
			}
			live := policy.Policy(ep.PolicyStatement)
			liveFP := policy.Fingerprint(live)
			switch {
			case s.seen == nil || s.seenFP == liveFP:
				if err := writeState(ctx, tx, ep.ID, liveFP, s.newestID, entryID(s.knownEntry), entryID(s.drift)); err != nil {
					return err
				}
			case listedSince.IsZero() || s.newestDone.IsZero() || !s.newestDone.Before(listedSince):
				recheck = append(recheck, *ep) // changed through the console while listed: read it again
			default:
				from, err := d.lastChecked(ctx, tx, ep.ID, s)
				if err != nil {
					return err
				}
				found = append(found, drifted{ep: ep, s: s, fp: liveFP, from: from, entry: d.driftEntry(ep, s, policy.JSON(live), ByRefresh)})
			}
		}
		entries := make([]audit.Complete, len(found))
		for i, f := range found {
			entries[i] = f.entry
		}
		es, err := d.log.Append(ctx, tx, entries)
		if err != nil {
			return err
		}
		for i, f := range found {
			if err := writeState(ctx, tx, f.ep.ID, f.fp, es[i].ID, entryID(f.s.knownEntry), &es[i].ID); err != nil {
				return err
			}
			if err := d.scheduleAttribution(ctx, tx, es[i], f.from); err != nil {
				return err
			}
		}
		recorded, drifts = es, len(es)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drift: check listed endpoints: %w", err)
	}
	sum.Busy += busy
	sum.Drifts += drifts
	for _, e := range recorded {
		d.logger.Info("recorded a change made outside the console", "endpoint", e.EndpointID, "entry", e.ID, "detected_by", ByRefresh)
	}
	if drifts > 0 {
		d.Kick()
	}
	return recheck, nil
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

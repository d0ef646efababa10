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

// DetectInventory compares the stored inventory of the Detector's project
// (Config.ProjectID; just refreshed) with what the console last saw of each
// editable endpoint: another project's rows are its own Detector's, read
// from its own upstream. listedSince is when the
// refresh began to list the upstream, on the database's clock (zero: not
// known). One query finds the endpoints that need a look: those never
// seen, those whose policy's fingerprint (stored by the refresh) differs
// from the last seen one, and those whose state is behind the audit log;
// the rest cost nothing more. Endpoints never seen and without history get
// their baselines in batches (one transaction per batch, under the chain
// lock); the others are checked in batches too, each endpoint under its
// lock (tried, never waited for). The listing only points at a drift: an
// endpoint whose listed policy moved is read again under its lock, and
// that read is what a drift entry records. A failure on one endpoint, or
// one batch, is kept on its state and does not stop the others; an
// endpoint with a failure kept is looked at again on the next pass.
// listedSince is when the listing began, on the database's clock (zero:
// not known): an endpoint the listing shows unchanged was last seen then.
func (d *Detector) DetectInventory(ctx context.Context, listedSince time.Time) (Summary, error) {
	var sum Summary
	rows, err := d.pool.Query(ctx, `
		SELECT e.id, v.endpoint_id IS NULL AND NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.endpoint_id = e.id)
		FROM inventory_endpoints e LEFT JOIN endpoint_versions v ON v.endpoint_id = e.id
		WHERE e.project = $1 AND e.policy_fingerprint IS NOT NULL
			AND (v.endpoint_id IS NULL OR v.fingerprint IS DISTINCT FROM e.policy_fingerprint
				OR coalesce(v.log_entry_id, 0) > coalesce(v.entry_id, 0) OR v.last_error IS NOT NULL)
		ORDER BY e.id`, d.cfg.ProjectID)
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
			// Checked one by one with the others, each failure kept there.
			d.logger.Warn("drift: a batch of baselines failed; checking its endpoints one by one", "error", err)
			others = append(others, batch...)
			continue
		}
		sum.Baselines += n
		others = append(others, rest...) // gained history meanwhile: checked with the others
	}
	for start := 0; start < len(others); start += checkBatch {
		if ctx.Err() != nil {
			return sum, ctx.Err()
		}
		ids := others[start:min(start+checkBatch, len(others))]
		eps, err := d.inventoryEndpoints(ctx, ids)
		if err != nil {
			d.logger.Warn("drift: could not read a batch of endpoints from the inventory; the next pass looks again", "error", err)
			sum.Failed += len(ids)
			for _, id := range ids {
				d.noteError(ctx, id, err)
			}
			continue
		}
		recheck, err := d.checkListed(ctx, eps, listedSince, &sum)
		if err != nil {
			// One endpoint's failure must not hold back the others: one
			// by one, each failure kept on its endpoint.
			d.logger.Warn("drift: a batch of endpoints failed; checking them one by one", "error", err)
			recheck = eps
		}
		for i := range recheck {
			recorded, checked, err := d.observe(ctx, &recheck[i], ByRefresh, false, true)
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
	var busy int
	var recorded []*audit.Entry
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		busy, recheck, recorded = 0, nil, nil
		// A few round trips for the whole batch: the locks, the histories,
		// the state rows; then the entries and the rows written back.
		names := make([]string, len(eps))
		for i := range eps {
			names[i] = change.EndpointLock(eps[i].ID)
		}
		locked, err := pglock.TryXactLocks(ctx, tx, names)
		if err != nil {
			return err
		}
		var ids []string
		for i := range eps {
			if locked[i] {
				ids = append(ids, eps[i].ID)
			}
		}
		histories, err := d.log.Histories(ctx, tx, ids, historyLimit)
		if err != nil {
			return err
		}
		checked, err := lastCheckedAll(ctx, tx, ids)
		if err != nil {
			return err
		}
		var st stateRows
		var found []audit.Complete
		var froms []time.Time
		var knowns []*int64
		for i := range eps {
			ep := &eps[i]
			if !locked[i] {
				busy++
				continue
			}
			s := deriveFrom(histories[ep.ID])
			switch {
			case s.pending != nil:
				busy++
				continue
			case !s.hasHistory || s.seen == nil:
				// A baseline (first sight, or no version in its history),
				// decided by observe under the chain lock.
				recheck = append(recheck, *ep)
				continue
			}
			live := policy.Policy(ep.PolicyStatement)
			liveFP := policy.Fingerprint(live)
			switch {
			case s.seenFP == liveFP:
				st.addSeen(ep.ID, liveFP, s.newestID, entryID(s.knownEntry), entryID(s.drift), listedSince)
				continue
			case d.cfg.Upstream == nil:
				recheck = append(recheck, *ep)
				continue
			}
			// The listing says the policy moved. A drift is recorded only
			// from a read made under the lock, held now: a list answer
			// older than a change made through the console meanwhile, or
			// one that disagrees with the endpoint's own answer, must not
			// put a false "external" entry in the log for ever. Drifts are
			// rare, so the extra read is too.
			fresh, err := d.cfg.Upstream.GetEndpoint(ctx, ep.ID)
			if err != nil {
				recheck = append(recheck, *ep) // checked again one by one, its failure kept there
				continue
			}
			*ep = *fresh
			live = policy.Policy(ep.PolicyStatement)
			if liveFP = policy.Fingerprint(live); liveFP == s.seenFP {
				st.add(ep.ID, liveFP, s.newestID, entryID(s.knownEntry), entryID(s.drift))
				continue
			}
			from := s.seenEntry.StartedAt
			if c, ok := checked[ep.ID]; ok && c.fp == s.seenFP && c.at.After(from) {
				from = c.at
			}
			found = append(found, d.driftEntry(ep, s, policy.JSON(live), ByRefresh))
			froms = append(froms, from)
			knowns = append(knowns, entryID(s.knownEntry))
		}
		es, err := d.log.Append(ctx, tx, found)
		if err != nil {
			return err
		}
		for i, e := range es {
			st.add(e.EndpointID, fingerprintOf(e.PolicyRequested), e.ID, knowns[i], &e.ID)
			if err := d.scheduleAttribution(ctx, tx, e, froms[i]); err != nil {
				return err
			}
		}
		recorded = es
		return st.write(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("drift: check listed endpoints: %w", err)
	}
	sum.Busy += busy
	sum.Drifts += len(recorded)
	for _, e := range recorded {
		d.logger.Info("recorded a change made outside the console", "endpoint", e.EndpointID, "entry", e.ID, "detected_by", ByRefresh)
	}
	if len(recorded) > 0 {
		d.Kick()
		d.changed()
	}
	return recheck, nil
}

// checkedState is when an endpoint was last checked, and what was seen.
type checkedState struct {
	at time.Time
	fp string
}

// lastCheckedAll reads the state rows of ids: when each was last checked
// and the fingerprint then seen (see lastChecked).
func lastCheckedAll(ctx context.Context, tx pgx.Tx, ids []string) (map[string]checkedState, error) {
	rows, err := tx.Query(ctx, `SELECT endpoint_id, checked_at, coalesce(fingerprint, '') FROM endpoint_versions WHERE endpoint_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read the endpoints' state: %w", err)
	}
	out := map[string]checkedState{}
	var id string
	var c checkedState
	if _, err := pgx.ForEachRow(rows, []any{&id, &c.at, &c.fp}, func() error { out[id] = c; return nil }); err != nil {
		return nil, fmt.Errorf("read the endpoints' state: %w", err)
	}
	return out, nil
}

// stateRows are state rows to write together (writeState for many).
type stateRows struct {
	ids, fps       []string
	newest         []int64
	knowns, drifts []*int64
	seen           []*time.Time // when the version was read; nil: now
}

func (r *stateRows) add(id, fp string, newest int64, known, drift *int64) {
	r.addSeen(id, fp, newest, known, drift, time.Time{})
}

// addSeen is add for a version read at seen (zero: now). A version from
// the listing was read when the listing began, which may be seconds before
// this transaction: the next drift's CTS window starts there, not later,
// so a change made in between is inside it.
func (r *stateRows) addSeen(id, fp string, newest int64, known, drift *int64, seen time.Time) {
	r.ids, r.fps, r.newest = append(r.ids, id), append(r.fps, fp), append(r.newest, newest)
	r.knowns, r.drifts = append(r.knowns, known), append(r.drifts, drift)
	var at *time.Time
	if !seen.IsZero() {
		at = &seen
	}
	r.seen = append(r.seen, at)
}

func (r *stateRows) write(ctx context.Context, tx pgx.Tx) error {
	if len(r.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO endpoint_versions AS v (endpoint_id, fingerprint, entry_id, log_entry_id, known_entry_id, drift_entry_id, checked_at, last_error)
		SELECT id, fp, newest, newest, known, drift, coalesce(seen, now()), NULL
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[]) AS u(id, fp, newest, known, drift, seen)
		ON CONFLICT (endpoint_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, entry_id = EXCLUDED.entry_id,
			known_entry_id = EXCLUDED.known_entry_id, drift_entry_id = EXCLUDED.drift_entry_id, checked_at = EXCLUDED.checked_at, last_error = NULL`,
		r.ids, r.fps, r.newest, r.knowns, r.drifts, r.seen)
	if err != nil {
		return fmt.Errorf("write the endpoints' state: %w", err)
	}
	return nil
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

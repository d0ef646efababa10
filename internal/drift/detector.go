package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/change"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// Upstream is what Adopt needs of the VPCEP API: the live endpoint.
type Upstream interface {
	GetEndpoint(ctx context.Context, id string) (*vpcep.Endpoint, error)
}

// Config configures a Detector.
type Config struct {
	ProjectID, Region string
	// Upstream reads the live endpoint for Adopt.
	Upstream Upstream
	// CTS says who made a drift; nil: CTS is not enabled.
	CTS cts.Source
	// LockWait bounds Adopt's wait for the endpoint's lock; 5 s when zero.
	// Detection never waits: a busy endpoint is checked on the next pass.
	LockWait time.Duration
	// BaselineBatch is how many first-sight baselines one transaction
	// records; 500 when zero.
	BaselineBatch int
	// AttributeMargin widens the window CTS is asked about past the
	// detection (the clocks of CTS and the database differ); 5 min when zero.
	AttributeMargin time.Duration
	// AttributeRetry is the time between questions to CTS about one drift;
	// 1 min when zero. AttributeFor is how long CTS is asked before the
	// drift is recorded as unknown to it; 24 h when zero.
	AttributeRetry, AttributeFor time.Duration
	// Now is the clock of the attribution worker's schedule; time.Now when nil.
	Now func() time.Time
	// Changed, when set, is called after a write that may open or close a
	// drift, so this replica's read model of the inventory (which carries
	// the drift flag) is loaded again without waiting for the notification
	// the database sends every replica.
	Changed func()
}

// Detector detects and records changes made outside the console. It is
// safe for concurrent use, and any number of replicas may run one.
type Detector struct {
	pool   *pgxpool.Pool
	log    *audit.Log
	cfg    Config
	logger *slog.Logger
	kick   chan struct{} // wakes the attribution worker after a drift
}

// New returns a Detector writing to log, over pool.
func New(pool *pgxpool.Pool, log *audit.Log, cfg Config, logger *slog.Logger) *Detector {
	if cfg.LockWait == 0 {
		cfg.LockWait = 5 * time.Second
	}
	if cfg.BaselineBatch == 0 {
		cfg.BaselineBatch = 500
	}
	if cfg.AttributeMargin == 0 {
		cfg.AttributeMargin = 5 * time.Minute
	}
	if cfg.AttributeRetry == 0 {
		cfg.AttributeRetry = time.Minute
	}
	if cfg.AttributeFor == 0 {
		cfg.AttributeFor = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Detector{pool: pool, log: log, cfg: cfg, logger: logger, kick: make(chan struct{}, 1)}
}

// Observe compares ep, just read live, with the version the console last
// saw and records what it finds: a baseline on the first sight of an
// editable endpoint without history, a drift when the live policy moved
// (how says where it was seen: ByDetail, ByEditor, ByRefresh). A drift is
// recorded only from a read made under the endpoint's lock: when ep
// differs, the endpoint is read again under it (a change through the
// console may have come between ep's read and the lock). It tries the
// endpoint's lock and never waits: when a change holds it, or a change is
// pending, it records nothing and returns the stored status with
// Unchecked set. A non-editable endpoint has no drift: the zero Status.
// An error means nothing was recorded; callers log it and go on (a page
// is never refused because detection failed).
func (d *Detector) Observe(ctx context.Context, ep *vpcep.Endpoint, how string) (*Status, error) {
	if ok, _ := change.Editable(ep); !ok {
		return &Status{EndpointID: ep.ID}, nil
	}
	recorded, checked, err := d.observe(ctx, ep, how, false, true)
	if err != nil {
		d.noteError(ctx, ep.ID, err)
		return nil, err
	}
	st, err := d.Status(ctx, ep.ID)
	if err != nil {
		return nil, err
	}
	st.Recorded, st.Unchecked = recorded, !checked
	return st, nil
}

// ObserveLocked is Observe for a caller that holds the endpoint's lock
// (the change path, with change.EndpointLock): the drift is recorded in
// that lock, before the change's own entry. It does not ask SeenVersion
// first: its callers did (before a change), or know the state row behind
// the log (after a change or a settling, whose entry moved it). It
// implements change.DriftRecorder.
func (d *Detector) ObserveLocked(ctx context.Context, ep *vpcep.Endpoint, how string) error {
	if ok, _ := change.Editable(ep); !ok {
		return nil
	}
	_, _, err := d.observe(ctx, ep, how, true, false)
	if err != nil {
		d.noteError(ctx, ep.ID, err)
	}
	return err
}

// QueueChangeState queues into b, the transaction that finalises e (a
// change's entry, final in memory; the caller holds the endpoint's lock, so
// nothing else appends for it), the endpoint's state the change leaves, ep
// being the endpoint read back. settled says whether e decides it alone:
// when e establishes the policy ep shows, that is the whole state (the
// version seen and known is e's; a drift it reverted is closed), written
// without reading the history back. When not, nothing is queued and the
// caller observes ep under the lock after the finalise (ObserveLocked).
// The row is written only if the log holds e final as it is here and no
// entry of the endpoint newer than e; else it stays behind the log, which
// the next look derives again. Call committed once b committed.
func (d *Detector) QueueChangeState(b *pgx.Batch, ep *vpcep.Endpoint, e *audit.Entry) (settled bool, committed func()) {
	if ok, _ := change.Editable(ep); !ok {
		return true, func() {} // no state to keep
	}
	v, established, ok := versionOf(e)
	fp := policy.Fingerprint(ep.PolicyStatement)
	if !ok || !established || e.EndpointID != ep.ID || fingerprintOf(v) != fp {
		return false, nil
	}
	var moved bool
	b.Queue(writeChangeStateSQL, ep.ID, fp, e.ID, e.ID, nil, e.FinalHash).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			_ = rows.Scan(&moved) // a callback must not fail (pglock.Lock.SendBatch)
		}
		return nil
	})
	return true, func() {
		if moved {
			d.changed()
		}
	}
}

// observe is Observe's decision, in one transaction: the endpoint's lock
// (tried, unless locked says the caller holds it), its history, and the
// entry recorded with the endpoint's state row. checked is false when the
// lock was busy or a change is pending. With precheck, a current state row
// that saw the live version answers first, with nothing to read or write.
func (d *Detector) observe(ctx context.Context, ep *vpcep.Endpoint, how string, locked, precheck bool) (recorded *audit.Entry, checked bool, err error) {
	live := policy.Policy(ep.PolicyStatement)
	liveJSON, liveFP := policy.JSON(live), policy.Fingerprint(live)
	if precheck {
		if seen, err := d.SeenVersion(ctx, ep.ID); err == nil && seen == liveFP {
			return nil, true, nil
		}
	}
	var drifted, flagChanged bool
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		recorded, checked, drifted, flagChanged = nil, false, false, false
		// state writes the row and notes whether the drift flag moved.
		state := func(fp string, newest int64, known, drift *int64) error {
			moved, err := writeState(ctx, tx, ep.ID, fp, newest, known, drift)
			flagChanged = flagChanged || moved
			return err
		}
		// stateOnly is state when the transaction appends no entry: the
		// row is derived from the log (and re-derived when it is behind
		// it), so its commit need not wait for the disk, as an entry's must.
		stateOnly := func(fp string, newest int64, known, drift *int64) error {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			return state(fp, newest, known, drift)
		}
		if !locked {
			ok, err := pglock.TryXactLock(ctx, tx, change.EndpointLock(ep.ID))
			if err != nil || !ok {
				return err
			}
		}
		s, err := d.derive(ctx, tx, ep.ID)
		if err == nil && !s.hasHistory {
			// A baseline batch does not take endpoint locks: read again
			// under the chain lock, which every append takes.
			var has map[string]bool
			if has, err = d.log.WithEntries(ctx, tx, []string{ep.ID}); err == nil && has[ep.ID] {
				s, err = d.derive(ctx, tx, ep.ID) // one came meanwhile
			}
		}
		if err != nil || s.pending != nil {
			return err
		}
		checked = true
		switch {
		case !s.hasHistory || s.seen == nil:
			// First sight, or a history with no version in it (only
			// changes whose live read failed): the policy as found now is
			// the baseline, so later changes are measured from a recorded
			// version.
			es, err := d.log.Append(ctx, tx, []audit.Complete{d.baseline(ep, liveJSON)})
			if err != nil {
				return err
			}
			recorded = es[0]
			return state(liveFP, recorded.ID, &recorded.ID, nil)
		case s.seenFP == liveFP:
			// Nothing moved.
			return stateOnly(liveFP, s.newestID, entryID(s.knownEntry), entryID(s.drift))
		}
		if !locked {
			// ep was read before the lock was taken (a page's read, the
			// stored inventory): a change through the console may have
			// come between. Only a read under the lock proves a drift.
			if d.cfg.Upstream == nil {
				checked = false
				return nil
			}
			fresh, err := d.cfg.Upstream.GetEndpoint(ctx, ep.ID)
			if err != nil {
				return fmt.Errorf("read the endpoint again under its lock: %w", err)
			}
			ep, live = fresh, policy.Policy(fresh.PolicyStatement)
			liveJSON, liveFP = policy.JSON(live), policy.Fingerprint(live)
			if liveFP == s.seenFP {
				return stateOnly(liveFP, s.newestID, entryID(s.knownEntry), entryID(s.drift))
			}
		}
		from, err := d.lastChecked(ctx, tx, ep.ID, s)
		if err != nil {
			return err
		}
		es, err := d.log.Append(ctx, tx, []audit.Complete{d.driftEntry(ep, s, liveJSON, how)})
		if err != nil {
			return err
		}
		recorded, drifted = es[0], true
		if err := state(liveFP, recorded.ID, entryID(s.knownEntry), &recorded.ID); err != nil {
			return err
		}
		return d.scheduleAttribution(ctx, tx, recorded, from)
	})
	if err != nil {
		return nil, false, fmt.Errorf("drift: observe %s: %w", ep.ID, err)
	}
	if drifted {
		d.logger.Info("recorded a change made outside the console", "endpoint", ep.ID, "entry", recorded.ID, "detected_by", how)
		d.Kick()
	}
	if flagChanged {
		d.changed()
	}
	return recorded, checked, nil
}

// changed tells the read model (Config.Changed).
func (d *Detector) changed() {
	if d.cfg.Changed != nil {
		d.cfg.Changed()
	}
}

// baseline is the entry of the first sight of ep.
func (d *Detector) baseline(ep *vpcep.Endpoint, liveJSON string) audit.Complete {
	return audit.Complete{
		Start: audit.Start{Actor: ActorConsole, ProjectID: d.cfg.ProjectID, Region: d.cfg.Region,
			EndpointID: ep.ID, EndpointServiceName: ep.ServiceName, Action: audit.ActionBaseline,
			PolicyBefore: liveJSON, PolicyRequested: liveJSON, DetectedBy: ByBaseline},
		Final: audit.Final{Outcome: audit.OutcomeSucceeded,
			Note: "The policy as the console found it: the endpoint's history is measured from this version."},
	}
}

// driftEntry is the entry of a drift from what s last saw to the live policy.
func (d *Detector) driftEntry(ep *vpcep.Endpoint, s *derived, liveJSON, how string) audit.Complete {
	// The note is written once and kept as it is: it says what happens
	// next, not what is known, so it stays true when CTS answers.
	who := "Who made it is asked of Cloud Trace Service; its answer is recorded in a later entry that refers to this one."
	if d.cfg.CTS == nil {
		who = "Who made it: unknown (CTS not enabled)."
	}
	note := fmt.Sprintf("The live policy changed outside the console: seen by %s. The version before is the one last seen (entry #%d). %s",
		describeHow(how), s.seenEntry.ID, who)
	return audit.Complete{
		Start: audit.Start{Actor: ActorExternal, ProjectID: d.cfg.ProjectID, Region: d.cfg.Region,
			EndpointID: ep.ID, EndpointServiceName: ep.ServiceName, Action: audit.ActionDrift,
			PolicyBefore: string(s.seen), PolicyRequested: liveJSON, DetectedBy: how},
		Final: audit.Final{Outcome: audit.OutcomeSucceeded, Note: note},
	}
}

// describeHow says in words where a difference was seen.
func describeHow(how string) string {
	switch how {
	case ByRefresh:
		return "an inventory refresh"
	case ByDetail:
		return "the endpoint's page"
	case ByEditor:
		return "the policy editor"
	case ByChange:
		return "a change, before it was sent"
	case change.ByReconciler:
		return "the settling of a change a crash left pending"
	}
	return how
}

// entryID is e's id, or nil.
func entryID(e *audit.Entry) *int64 {
	if e == nil {
		return nil
	}
	return &e.ID
}

// SeenVersion is the fingerprint of the endpoint's version last seen live,
// as its state row says when the row is current with the log (no entry
// appended since it was derived, no error kept); "" when it is not, or
// there is none. The row is written with every entry that moves it and the
// log's trigger marks it behind on every other append, so a current row
// says what deriving it from the log again would; under the endpoint's
// lock it stays so. When the live policy has this fingerprint, nothing
// moved: there is nothing to read or write.
func (d *Detector) SeenVersion(ctx context.Context, endpointID string) (string, error) {
	var fp string
	err := d.pool.QueryRow(ctx, `SELECT fingerprint FROM endpoint_versions
		WHERE endpoint_id = $1 AND fingerprint IS NOT NULL AND entry_id >= coalesce(log_entry_id, 0) AND last_error IS NULL`,
		endpointID).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return fp, err
}

// writeState writes the endpoint's state row in tx, derived through entry
// newest: not behind the log any more. It reports whether the open drift
// changed (the list's drift flag).
func writeState(ctx context.Context, tx pgx.Tx, endpointID, fingerprint string, newest int64, known, drift *int64) (driftChanged bool, err error) {
	err = tx.QueryRow(ctx, writeStateSQL, endpointID, fingerprint, newest, known, drift).Scan(&driftChanged)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("write the endpoint's state: the log gained an entry newer than #%d meanwhile", newest)
	}
	if err != nil {
		return false, fmt.Errorf("write the endpoint's state: %w", err)
	}
	return driftChanged, nil
}

// writeStateSQL writes an endpoint's state row ($1) derived through entry
// $3: its last seen version's fingerprint $2, known entry $4 and open
// drift $5. It leaves log_entry_id to the log's trigger and writes no row
// the log's newest entry of the endpoint is newer than $3 (then it returns
// no row): a state derived from part of the history never passes for the
// whole. It returns whether the open drift changed.
var writeStateSQL = upsertStateSQL("true")

// writeChangeStateSQL is writeStateSQL for the state the entry $3 settles
// alone, written only when the log holds it final with the hash $6.
var writeChangeStateSQL = upsertStateSQL("EXISTS (SELECT FROM audit_entries WHERE id = $3 AND final_hash = $6)")

// upsertStateSQL is the upsert of writeStateSQL, made only when cond holds.
func upsertStateSQL(cond string) string {
	return `
	WITH old AS (SELECT drift_entry_id FROM endpoint_versions WHERE endpoint_id = $1)
	INSERT INTO endpoint_versions AS v (endpoint_id, fingerprint, entry_id, log_entry_id, known_entry_id, drift_entry_id, checked_at, last_error)
	SELECT $1, $2, $3, $3, $4, $5, now(), NULL WHERE ` + cond + `
	ON CONFLICT (endpoint_id) DO UPDATE SET fingerprint = $2, entry_id = $3, known_entry_id = $4,
		drift_entry_id = $5, checked_at = now(), last_error = NULL
		WHERE coalesce(v.log_entry_id, 0) <= $3
	RETURNING (SELECT drift_entry_id FROM old) IS DISTINCT FROM $5::bigint`
}

// noteError keeps a detection failure on the endpoint's state, to show it
// there; best effort (the database may be what failed).
func (d *Detector) noteError(ctx context.Context, endpointID string, err error) {
	d.logger.Warn("drift detection failed; checked again on the next pass", "endpoint", endpointID, "error", err)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = d.pool.Exec(ctx, `
		INSERT INTO endpoint_versions (endpoint_id, last_error) VALUES ($1, $2)
		ON CONFLICT (endpoint_id) DO UPDATE SET last_error = $2`, endpointID, errorText(err))
}

// errorText is what an endpoint shows of a failure: the error, cut short.
func errorText(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = s[:500]
	}
	return strings.ToValidUTF8(s, "?")
}

// lastChecked is the start of the window in which the drift happened: the
// later of when the version last seen was recorded and when the console
// last found it still live.
func (d *Detector) lastChecked(ctx context.Context, tx pgx.Tx, endpointID string, s *derived) (time.Time, error) {
	from := s.seenEntry.StartedAt
	var checked *time.Time
	var fp *string
	err := tx.QueryRow(ctx, `SELECT checked_at, fingerprint FROM endpoint_versions WHERE endpoint_id = $1`, endpointID).Scan(&checked, &fp)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return from, fmt.Errorf("read the endpoint's state: %w", err)
	}
	if checked != nil && fp != nil && *fp == s.seenFP && checked.After(from) {
		from = *checked
	}
	return from, nil
}

// Status is what the console knows about the endpoint's drift, from the
// audit log (so it is right even when the state row is behind it) and the
// attribution state. An endpoint never seen is not drifted.
func (d *Detector) Status(ctx context.Context, endpointID string) (*Status, error) {
	s, err := d.derive(ctx, d.pool, endpointID)
	if err != nil {
		return nil, fmt.Errorf("drift: status of %s: %w", endpointID, err)
	}
	st := &Status{EndpointID: endpointID, AttributionState: AttributionDisabled}
	if s.known != nil {
		st.Known, st.KnownEntryID, st.KnownFingerprint = s.known, s.knownEntry.ID, fingerprintOf(s.known)
	}
	var lastError *string
	var checked *time.Time
	err = d.pool.QueryRow(ctx, `SELECT checked_at, last_error FROM endpoint_versions WHERE endpoint_id = $1`, endpointID).Scan(&checked, &lastError)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("drift: status of %s: %w", endpointID, err)
	}
	if checked != nil {
		st.CheckedAt = checked.UTC()
	}
	if lastError != nil {
		// The failure itself is the console's (its database, a timeout)
		// and is logged with the endpoint; viewers and API callers get
		// what it means. An upstream failure of CTS is shown as it was
		// answered, below.
		st.LastError = "The last check of this endpoint for changes made outside the console failed; the console logged why and checks it again on the next pass."
	}
	if s.drift == nil {
		return st, nil
	}
	st.Drifted, st.Drift = true, s.drift
	if err := d.attributionOf(ctx, st); err != nil {
		return nil, fmt.Errorf("drift: status of %s: %w", endpointID, err)
	}
	return st, nil
}

// attributionOf fills st's attribution from the drift's attribution state
// and attribute entry.
func (d *Detector) attributionOf(ctx context.Context, st *Status) error {
	var state string
	var lastError *string
	var attrID *int64
	err := d.pool.QueryRow(ctx, `SELECT state, last_error, attribute_entry_id FROM drift_attributions WHERE drift_entry_id = $1`,
		st.Drift.ID).Scan(&state, &lastError, &attrID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // asked of nobody: CTS was not enabled when it was recorded
	case err != nil:
		return err
	}
	st.AttributionState = state
	if lastError != nil && state == AttributionFailed {
		st.LastError = "Asking CTS who made this change failed (asked again later): " + *lastError
	}
	if attrID != nil {
		e, err := d.log.Get(ctx, *attrID)
		if err != nil {
			return err
		}
		st.Attribution = e.Attribution
	}
	return nil
}

// DriftedIDs are the endpoints of the Detector's project with an open
// drift, per their state rows (the list's filter; the read model carries
// the same flag). The drift's entry says its project.
func (d *Detector) DriftedIDs(ctx context.Context) (map[string]int64, error) {
	rows, err := d.pool.Query(ctx, `SELECT v.endpoint_id, v.drift_entry_id
		FROM endpoint_versions v JOIN audit_entries a ON a.id = v.drift_entry_id
		WHERE v.drift_entry_id IS NOT NULL AND a.project_id = $1`, d.cfg.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("drift: drifted endpoints: %w", err)
	}
	out := map[string]int64{}
	var id string
	var entry int64
	_, err = pgx.ForEachRow(rows, []any{&id, &entry}, func() error {
		out[id] = entry
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("drift: drifted endpoints: %w", err)
	}
	return out, nil
}

// LastSeen is the policy the log last saw live on each of ids that has a
// version in it (compact JSON as recorded). The demo's simulator, new at
// every start, takes these up so that it holds what the log says, as the
// cloud would, rather than its seed data.
func (d *Detector) LastSeen(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	histories, err := d.log.Histories(ctx, d.pool, ids, historyLimit)
	if err != nil {
		return nil, fmt.Errorf("drift: last seen versions: %w", err)
	}
	out := make(map[string]json.RawMessage, len(histories))
	for id, entries := range histories {
		if s := deriveFrom(entries); s.seen != nil {
			out[id] = s.seen
		}
	}
	return out, nil
}

// Adopt accepts an open drift, as actor, with a reason: its version becomes
// the known one, in an adopt entry that refers to the drift. Under the
// endpoint's lock it reads the live policy: when that moved again, the new
// drift is recorded first and Adopt refuses with a *MovedError. Errors:
// *InvalidError (the reason), ErrNotDrift, audit.ErrNotFound, *NotOpenError,
// *MovedError, ErrBusy, the upstream's error (its *vpcep.Error), or the
// database's.
func (d *Detector) Adopt(ctx context.Context, actor string, driftEntryID int64, reason string) (*audit.Entry, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, &InvalidError{Field: "reason", Message: "Say why the change made outside the console is adopted."}
	}
	if errs := policy.ValidateReason(reason); len(errs) > 0 {
		return nil, &InvalidError{Field: "reason", Message: errs[0].Message}
	}
	de, err := d.log.Get(ctx, driftEntryID)
	if err != nil {
		return nil, err
	}
	if de.Action != audit.ActionDrift {
		return nil, ErrNotDrift
	}
	lock, err := pglock.Wait(ctx, d.pool, change.EndpointLock(de.EndpointID), d.cfg.LockWait)
	if errors.Is(err, pglock.ErrBusy) {
		return nil, ErrBusy
	}
	if err != nil {
		return nil, fmt.Errorf("drift: adopt: %w", err)
	}
	defer lock.Release()
	live, err := d.cfg.Upstream.GetEndpoint(ctx, de.EndpointID)
	if err != nil {
		return nil, err
	}
	// Anything that moved is recorded first, in this lock.
	recorded, checked, err := d.observe(ctx, live, ByDetail, true, true)
	switch {
	case err != nil:
		return nil, err
	case !checked:
		return nil, ErrBusy // a change is pending on the endpoint
	case recorded != nil && recorded.Action == audit.ActionDrift:
		return nil, &MovedError{Drift: recorded}
	}
	liveJSON := policy.JSON(live.PolicyStatement)
	var adopted *audit.Entry
	var refusal error
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		adopted, refusal = nil, nil
		s, err := d.derive(ctx, tx, de.EndpointID)
		switch {
		case err != nil:
			return err
		case s.pending != nil:
			refusal = ErrBusy
			return nil
		case s.drift == nil || s.drift.ID != de.ID:
			refusal = &NotOpenError{}
			return nil
		}
		known := s.known
		if known == nil {
			known = de.PolicyBefore
		}
		es, err := d.log.Append(ctx, tx, []audit.Complete{{
			Start: audit.Start{Actor: actor, ProjectID: d.cfg.ProjectID, Region: d.cfg.Region,
				EndpointID: de.EndpointID, EndpointServiceName: live.ServiceName, Action: audit.ActionAdopt,
				Reason: reason, RefersTo: &de.ID, PolicyBefore: string(known), PolicyRequested: liveJSON},
			Final: audit.Final{Outcome: audit.OutcomeSucceeded,
				Note: fmt.Sprintf("The version changed outside the console (entry #%d) is adopted: it is the known version from now on. Nothing was sent.", de.ID)},
		}})
		if err != nil {
			return err
		}
		adopted = es[0]
		_, err = writeState(ctx, tx, de.EndpointID, policy.Fingerprint(live.PolicyStatement), adopted.ID, &adopted.ID, nil)
		return err
	})
	if pending := (*audit.PendingEntryError)(nil); errors.As(err, &pending) {
		return nil, ErrBusy // a change began meanwhile; its entry is pending
	}
	if err != nil {
		return nil, fmt.Errorf("drift: adopt: %w", err)
	}
	var notOpen *NotOpenError
	if errors.As(refusal, &notOpen) {
		notOpen.Current, _ = d.Status(ctx, de.EndpointID)
	}
	if refusal != nil {
		return nil, refusal
	}
	d.logger.Info("adopted a change made outside the console", "endpoint", de.EndpointID, "drift", de.ID, "entry", adopted.ID, "actor", actor)
	d.changed()
	return adopted, nil
}

// PlanRevert plans the revert of an open drift: the change path's rollback
// of the drift entry that restores the last version the console
// established (audit.RestoresKnown), checked against the drifted version
// live. Errors: ErrNotDrift, audit.ErrNotFound, *NotOpenError,
// *change.NotRestorableError.
func (d *Detector) PlanRevert(ctx context.Context, driftEntryID int64) (*change.Rollback, error) {
	de, err := d.log.Get(ctx, driftEntryID)
	if err != nil {
		return nil, err
	}
	if de.Action != audit.ActionDrift {
		return nil, ErrNotDrift
	}
	st, err := d.Status(ctx, de.EndpointID)
	if err != nil {
		return nil, err
	}
	if !st.Drifted || st.Drift.ID != de.ID {
		return nil, &NotOpenError{Current: st}
	}
	return change.PlanRevert(de, st.Known)
}

// Kick wakes the attribution worker (Run) for a pass now.
func (d *Detector) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

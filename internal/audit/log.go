package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/sqlwhere"
)

// ErrNotFound is returned for an entry id that does not exist.
var ErrNotFound = errors.New("audit: entry not found")

// ErrDuplicateSubmission is returned by Begin when the submission key was
// used before; Existing is that entry's id.
type ErrDuplicateSubmission struct{ Existing int64 }

func (e *ErrDuplicateSubmission) Error() string {
	return fmt.Sprintf("audit: this submission was already recorded as entry #%d", e.Existing)
}

// PendingEntryError is returned by Begin when the endpoint already has a
// pending entry, Existing: one change per endpoint may be in flight.
type PendingEntryError struct{ Existing int64 }

func (e *PendingEntryError) Error() string {
	return fmt.Sprintf("audit: entry #%d for this endpoint is still pending", e.Existing)
}

// ErrNotPending is returned by Finalise for an entry that is already final.
var ErrNotPending = errors.New("audit: the entry is no longer pending")

// onePendingIndex is the unique index that allows one pending entry per endpoint.
const onePendingIndex = "audit_entries_one_pending"

// chainLockKey serialises appends so each entry's prev_hash is the hash of
// the entry before it, across replicas ("vpcepaud").
const chainLockKey int64 = 0x7670636570617564

// Log is the audit log.
type Log struct {
	pool   *pgxpool.Pool
	format *format
	cache  *readCache // nil: nothing cached
}

// New returns the Log stored behind pool, writing CurrentFormatVersion.
func New(pool *pgxpool.Pool) *Log {
	return &Log{pool: pool, format: currentFormat, cache: &readCache{}}
}

// changed starts a new cache generation after a write of this Log, so its
// own next read sees the write without waiting for the notification.
func (l *Log) changed() {
	if l.cache != nil {
		l.cache.changed()
	}
}

// Start is what Begin records.
type Start struct {
	SubmissionKey       string
	Actor               string
	ProjectID           string
	Region              string
	EndpointID          string
	EndpointServiceName string
	Action              string
	Reason              string
	RollbackOf          *int64
	Restores            string
	PolicyBefore        string // compact JSON; "null" when it could not be read
	PolicyRequested     string // compact JSON
	// AcknowledgedWarnings are the lint warning codes the actor
	// acknowledged; stored sorted and without repeats.
	AcknowledgedWarnings []string
	// DetectedBy, RefersTo and Attribution: see Entry.
	DetectedBy  string
	RefersTo    *int64
	Attribution []cts.Trace
}

// newEntry is the pending entry s starts, in the log's format: what Begin
// and Append record (and hash) alike; they set its id, time and chain link.
func (l *Log) newEntry(s Start) *Entry {
	e := &Entry{
		SubmissionKey: s.SubmissionKey, Actor: s.Actor,
		ProjectID: s.ProjectID, Region: s.Region, EndpointID: s.EndpointID, EndpointServiceName: s.EndpointServiceName,
		Action: s.Action, Reason: s.Reason, RollbackOf: s.RollbackOf, Restores: s.Restores,
		PolicyBefore: json.RawMessage(s.PolicyBefore), PolicyRequested: json.RawMessage(s.PolicyRequested),
		AcknowledgedWarnings: sortedSet(s.AcknowledgedWarnings),
		DetectedBy:           s.DetectedBy, RefersTo: s.RefersTo,
		Outcome: OutcomePending, FormatVersion: l.format.version,
	}
	e.setAttribution(s.Attribution)
	return e
}

// Begin commits a pending entry, chained to the newest one. It must succeed
// before anything is sent upstream: that is what makes the log write-ahead.
func (l *Log) Begin(ctx context.Context, s Start) (*Entry, error) {
	e := l.newEntry(s)
	err := l.appendPending(ctx, e)
	// Every append holds the chain lock, so the look-ups above cannot race
	// another insert; the unique constraints are the backstop.
	var dup *ErrDuplicateSubmission
	var pending *PendingEntryError
	if errors.As(err, &dup) || errors.As(err, &pending) {
		return nil, err
	}
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == onePendingIndex {
		existing, _ := pendingFor(ctx, l.pool, e.EndpointID)
		return nil, &PendingEntryError{Existing: existing}
	}
	if err != nil {
		return nil, fmt.Errorf("audit: record pending entry: %w", err)
	}
	l.changed()
	return e, nil
}

// appendPending commits e, chained to the newest entry, in two round trips:
// one opens the transaction, takes the chain lock and reads what the append
// needs (a batch runs its statements in order); one inserts and commits.
// Every round trip is a wait on a busy machine, so the write-ahead entry
// costs as few as the hash allows (it is computed here, from the head).
func (l *Log) appendPending(ctx context.Context, e *Entry) error {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection released inside a transaction (an error below) is
	// closed by the pool, never reused half-way through one.
	defer conn.Release()
	// The look-ups run after the lock, so their snapshot sees every entry
	// appended before: an earlier entry of this submission, a pending
	// entry of this endpoint, the chain's head, and (only when neither
	// refuses the append) the new id and started_at. started_at comes from
	// the database's clock, as every replica's entries do, so their order
	// and ages agree whatever the replicas' own clocks say.
	var dup, pending, id *int64
	var submissionKey any
	if e.SubmissionKey != "" {
		submissionKey = e.SubmissionKey
	}
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN`)
	batch.Queue(`SELECT pg_advisory_xact_lock($1)`, chainLockKey)
	batch.Queue(`
		WITH dup AS (SELECT id FROM audit_entries WHERE submission_key = $1),
			pending AS (SELECT id FROM audit_entries WHERE endpoint_id = $2 AND outcome = 'pending' ORDER BY id LIMIT 1)
		SELECT (SELECT id FROM dup), (SELECT id FROM pending),
			coalesce((SELECT hash FROM audit_entries ORDER BY id DESC LIMIT 1), $3),
			CASE WHEN NOT EXISTS (SELECT FROM dup) AND NOT EXISTS (SELECT FROM pending)
				THEN nextval(pg_get_serial_sequence('audit_entries', 'id')) END,
			clock_timestamp()`,
		submissionKey, e.EndpointID, genesisHash)
	results := conn.SendBatch(ctx, batch)
	_, err = results.Exec()
	if err == nil {
		_, err = results.Exec()
	}
	if err == nil {
		err = results.QueryRow().Scan(&dup, &pending, &e.PrevHash, &id, &e.StartedAt)
	}
	if closeErr := results.Close(); err == nil {
		err = closeErr
	}
	switch {
	case err == nil && dup != nil:
		err = &ErrDuplicateSubmission{Existing: *dup}
	case err == nil && pending != nil:
		err = &PendingEntryError{Existing: *pending}
	}
	if err != nil {
		rollback(conn)
		return err
	}
	e.ID = *id
	e.StartedAt = e.StartedAt.UTC().Truncate(time.Microsecond)
	e.Hash = l.format.hash(e, byHash)
	batch = &pgx.Batch{}
	batch.Queue(l.format.insertSQL, l.format.insertArgs(e)...)
	batch.Queue(`COMMIT`)
	err = conn.SendBatch(ctx, batch).Close()
	if err != nil {
		// The INSERT failed, so the COMMIT was skipped: the transaction
		// is still open and aborted.
		rollback(conn)
	}
	return err
}

// rollback ends conn's open transaction; when it cannot, the connection is
// left inside it, so the pool closes it on release.
func rollback(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.Exec(ctx, `ROLLBACK`)
}

// sortedSet is list sorted, without repeats, never nil.
func sortedSet(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return append([]string{}, slices.Compact(out)...)
}

// pendingFor is the oldest pending entry of the endpoint, or 0.
func pendingFor(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, endpointID string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM audit_entries WHERE endpoint_id = $1 AND outcome = 'pending' ORDER BY id LIMIT 1`,
		endpointID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// Finalise records the outcome of a pending entry. e is updated in place.
func (l *Log) Finalise(ctx context.Context, e *Entry, f Final) error {
	if err := l.finalisable(e, f); err != nil {
		return err
	}
	// finished_at is on the database's clock, as started_at is, so an entry
	// never finishes before it started whatever a replica's clock says: the
	// measured duration after started_at, or, for an entry settled later
	// (no duration measured), the database's time now.
	finished := e.StartedAt.Add(f.Duration)
	if f.Duration <= 0 {
		if err := l.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&finished); err != nil {
			return fmt.Errorf("audit: finalise entry %d: %w", e.ID, err)
		}
		f.Duration = finished.Sub(e.StartedAt)
	}
	b := &pgx.Batch{}
	took := l.queueFinalise(b, e, f, finished)
	err := l.pool.SendBatch(ctx, b).Close()
	l.changed()
	if err != nil {
		return fmt.Errorf("audit: finalise entry %d: %w", e.ID, err)
	}
	return took()
}

// QueueFinalise is Finalise as a statement of the caller's batch b, in the
// transaction b opens: so what must be written with the outcome (the
// endpoint's state) commits with it, in one round trip. e is finalised in
// place now. took, called once b's results are closed without an error,
// says whether the log took it: nil, or an error wrapping ErrNotPending
// when the entry was no longer pending (then nothing was written). The
// statement's callback never fails, so every result of b is read. f must
// carry the change's measured Duration: a batch reads no clock first.
func (l *Log) QueueFinalise(b *pgx.Batch, e *Entry, f Final) (took func() error, err error) {
	if err := l.finalisable(e, f); err != nil {
		return nil, err
	}
	if f.Duration <= 0 {
		return nil, errors.New("audit: a queued finalise needs the change's duration")
	}
	return l.queueFinalise(b, e, f, e.StartedAt.Add(f.Duration)), nil
}

// queueFinalise seals e with f, finished at finished, and queues its UPDATE
// into b: Finalise's and QueueFinalise's one way to write an outcome.
func (l *Log) queueFinalise(b *pgx.Batch, e *Entry, f Final, finished time.Time) (took func() error) {
	l.seal(e, f, finished)
	id := e.ID
	var rows int64 = -1
	b.Queue(l.format.finaliseSQL, l.format.finaliseArgs(e)...).Exec(func(tag pgconn.CommandTag) error {
		rows = tag.RowsAffected()
		l.changed()
		return nil
	})
	return func() error {
		switch rows {
		case -1:
			return fmt.Errorf("audit: finalise entry %d: the batch's result was not read", id)
		case 0:
			return fmt.Errorf("audit: finalise entry %d: %w", id, ErrNotPending)
		}
		return nil
	}
}

// seal records f, finished at finished, on e in memory, and the final hash
// that covers it: the two never go apart.
func (l *Log) seal(e *Entry, f Final, finished time.Time) {
	e.apply(f, finished)
	e.FinalHash = l.format.hash(e, byFinalHash)
}

// finalisable refuses a final without an outcome, and an entry whose final
// hash this binary cannot compute: it covers the fields of the entry's own
// version, which may be older than this binary's.
func (l *Log) finalisable(e *Entry, f Final) error {
	if f.Outcome == OutcomePending || f.Outcome == "" {
		return errors.New("audit: finalise needs an outcome")
	}
	if !l.format.knows(e.FormatVersion) {
		return fmt.Errorf("audit: entry %d has format version %d, which this binary does not know", e.ID, e.FormatVersion)
	}
	return nil
}

// Get returns one entry.
func (l *Log) Get(ctx context.Context, id int64) (*Entry, error) {
	return l.one(ctx, fmt.Sprintf("get entry %d", id), `WHERE id = $1`, id)
}

// one returns the entry selected by where (the first one, when it orders
// and limits), or ErrNotFound; what names the look-up in errors.
func (l *Log) one(ctx context.Context, what, where string, args ...any) (*Entry, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+l.format.columns+` FROM audit_entries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", what, err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, l.format.scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", what, err)
	}
	return e, nil
}

// many returns the entries selected by where, in its order.
func (l *Log) many(ctx context.Context, what, where string, args ...any) ([]*Entry, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+l.format.columns+` FROM audit_entries `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, l.format.scan)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", what, err)
	}
	return out, nil
}

// CountPending is how many entries are pending. The partial index on
// pending entries keeps it cheap however long the log grows.
func (l *Log) CountPending(ctx context.Context) (int, error) {
	var n int
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE outcome = 'pending'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit: count pending entries: %w", err)
	}
	return n, nil
}

// Age is how long ago entry id was started, on the database's clock.
func (l *Log) Age(ctx context.Context, id int64) (time.Duration, error) {
	var us int64
	err := l.pool.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp() - started_at) * 1000000)::bigint
		FROM audit_entries WHERE id = $1`, id).Scan(&us)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("audit: age of entry %d: %w", id, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// NextForEndpoint returns the first entry for the endpoint after the entry
// after, or ErrNotFound: what that change found live is what this one left.
func (l *Log) NextForEndpoint(ctx context.Context, endpointID string, after int64) (*Entry, error) {
	return l.one(ctx, "next entry for "+endpointID, `WHERE endpoint_id = $1 AND id > $2 ORDER BY id LIMIT 1`, endpointID, after)
}

// RolledBackBy returns the entries that roll back id, oldest first.
func (l *Log) RolledBackBy(ctx context.Context, id int64) ([]*Entry, error) {
	return l.many(ctx, fmt.Sprintf("rollbacks of %d", id), `WHERE rollback_of = $1 ORDER BY id`, id)
}

// Pending returns the entries pending for longer than minAge, oldest first.
func (l *Log) Pending(ctx context.Context, minAge time.Duration) ([]*Entry, error) {
	return l.PendingIn(ctx, "", minAge)
}

// PendingIn is Pending for the entries of one project ("": every project).
func (l *Log) PendingIn(ctx context.Context, projectID string, minAge time.Duration) ([]*Entry, error) {
	// Ages are measured on the database's clock, which wrote started_at:
	// replicas whose clocks disagree still agree on an entry's age. The
	// partial index on pending entries finds them; the project is checked
	// on those few.
	return l.many(ctx, "pending entries",
		`WHERE outcome = 'pending' AND started_at < clock_timestamp() - $1 * interval '1 microsecond'
			AND ($2 = '' OR project_id = $2) ORDER BY id`,
		minAge.Microseconds(), projectID)
}

// Filter selects entries. Empty fields match all.
type Filter struct {
	EndpointID     string // exactly this endpoint
	EndpointPrefix string // endpoints whose id starts with it
	Actor          string // case-insensitive
	Action         string
	Outcome        string
	// Text is a full-text search over reason and note, in web search
	// syntax (words, "a phrase", or, -not), with no stemming: each word
	// matches as typed, in any case.
	Text     string
	From, To time.Time // started_at in [From, To)
	// ProjectIDs restricts the entries to these projects (the ones the
	// reader may view); nil: every project, empty: none.
	ProjectIDs []string
	ProjectID  string // exactly this project id
	Region     string // exactly this region
}

// IsZero reports whether f filters nothing.
func (f Filter) IsZero() bool {
	// The cache key holds every field (TestCacheKeyCoversEveryFilterField):
	// a field added later cannot be forgotten here.
	return keyOf(f, 0, 0) == cacheKey{}
}

// AllowsProject reports whether f's ProjectIDs let its reader see entries
// of projectID: what a page of one entry (Get) checks, as List does.
func (f Filter) AllowsProject(projectID string) bool {
	return f.ProjectIDs == nil || slices.Contains(f.ProjectIDs, projectID)
}

// CountLimit is how far Count counts exactly: past it, a count is "more".
const CountLimit = 10000

// Page is a page of entries, newest first.
type Page struct {
	Entries    []*Entry
	NextCursor string // "" on the last page
}

// List returns up to limit entries matching f, newest first, after cursor
// (a NextCursor from the previous page).
func (l *Log) List(ctx context.Context, f Filter, cursor string, limit int) (Page, error) {
	var before int64
	if cursor != "" {
		id, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || id <= 0 {
			return Page{}, ErrBadCursor
		}
		before = id
	}
	if limit < 1 {
		return Page{}, fmt.Errorf("audit: list: limit %d is not positive", limit)
	}
	order := newestFirst
	if f.Text != "" {
		// A count says how many entries hold the words: a few are read
		// at once through the GIN index and sorted, while the planner
		// would walk ids newest first testing every entry until a page
		// matched (50,000 entries for a word in one entry in a thousand:
		// 45 ms instead of 15). Counted only up to sparseMatches, so a
		// common word's count stops early; cached, and answered by the
		// full count /audit shows when that is cached.
		_, more, err := l.countUpTo(ctx, f, sparseMatches)
		if err != nil {
			return Page{}, fmt.Errorf("audit: list: %w", err)
		}
		if !more {
			order = matchesSorted
		}
	}
	entries, err := l.cachedPage(ctx, f, before, limit+1, order)
	if err != nil {
		return Page{}, fmt.Errorf("audit: list: %w", err)
	}
	var p Page
	if len(entries) > limit {
		entries = entries[:limit]
		p.NextCursor = strconv.FormatInt(entries[limit-1].ID, 10)
	}
	p.Entries = entries
	return p, nil
}

// ErrBadCursor is returned for a cursor that List did not make.
var ErrBadCursor = errors.New("audit: invalid cursor")

// eachBatch is how many entries Each reads per query.
const eachBatch = 500

// Each calls fn for every entry matching f, newest first. It reads a page
// at a time and holds no connection while fn runs, so an export streams to
// a slow client without holding the log in memory or a query open.
func (l *Log) Each(ctx context.Context, f Filter, fn func(*Entry) error) error {
	var before int64
	for {
		entries, err := l.page(ctx, f, before, eachBatch, newestFirst)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(entries) < eachBatch {
			return nil
		}
		before = entries[len(entries)-1].ID
	}
}

// sparseMatches is how many matches of a text search are few enough to be
// read all and sorted rather than found by walking ids.
const sparseMatches = 2000

// pageOrder is how page finds the newest entries; both give the same rows.
type pageOrder string

const (
	newestFirst   pageOrder = "id DESC"     // the planner's choice, usually a walk of an index ending in id
	matchesSorted pageOrder = "id + 0 DESC" // no index gives this order: every match is read, then sorted
)

// cachedPage is page, from the cache when it holds it.
func (l *Log) cachedPage(ctx context.Context, f Filter, before int64, limit int, order pageOrder) ([]*Entry, error) {
	key := keyOf(f, before, limit)
	if entries, ok := l.cache.page(key); ok {
		return entries, nil
	}
	gen, cache := l.cache.generation()
	entries, err := l.page(ctx, f, before, limit, order)
	if err == nil && cache {
		l.cache.putPage(gen, key, entries)
	}
	return entries, err
}

// page returns up to limit entries matching f with ids below before (0:
// from the newest), newest first: the one keyset query behind List and
// Each. Each filter has an index ending in id, so a deep page costs what
// the first does.
func (l *Log) page(ctx context.Context, f Filter, before int64, limit int, order pageOrder) ([]*Entry, error) {
	w := f.where()
	if before > 0 {
		w.Add("id < $?", before)
	}
	// Only a filtered page is planned for its values; the unfiltered one
	// (an export of the whole log) is one prepared statement, whose rows
	// come in binary: cheaper for the database to send and for pgx to read.
	query := `SELECT ` + l.format.columns + ` FROM audit_entries ` + w.Clause() +
		` ORDER BY ` + string(order) + ` LIMIT ` + w.Param(limit)
	args := w.Args()
	if !f.IsZero() {
		args = planned(args)
	}
	rows, err := l.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, l.format.scan)
}

func (f Filter) where() *sqlwhere.Where {
	var w sqlwhere.Where
	w.Equal("endpoint_id", f.EndpointID)
	if f.EndpointPrefix != "" {
		// A range rather than LIKE: endpoint_id is COLLATE "C", so the
		// range is exactly the prefix, and it uses the (endpoint_id, id)
		// index in a generic plan too, where LIKE $1 cannot.
		w.Add("endpoint_id >= $?", f.EndpointPrefix)
		if upper, ok := prefixUpperBound(f.EndpointPrefix); ok {
			w.Add("endpoint_id < $?", upper)
		}
	}
	if f.Actor != "" {
		w.Add("lower(actor) = lower($?)", f.Actor)
	}
	w.Equal("action", f.Action)
	w.Equal("outcome", f.Outcome)
	switch {
	case f.ProjectIDs == nil:
	case len(f.ProjectIDs) == 1:
		// An equality, not = ANY: the (project_id, id) index then gives
		// the newest first, as the project filter's does.
		w.Add("project_id = $?", f.ProjectIDs[0])
	default:
		// An empty list matches nothing: a reader who may view no
		// project sees no entry.
		w.Add("project_id = ANY($?)", f.ProjectIDs)
	}
	w.Equal("project_id", f.ProjectID)
	w.Equal("region", f.Region)
	if f.Text != "" {
		// search_document is derived from reason and note by the database
		// (migration 00009), in the 'simple' configuration.
		w.Add("search_document @@ websearch_to_tsquery('simple'::regconfig, $?)", f.Text)
	}
	if !f.From.IsZero() {
		w.Add("started_at >= $?", f.From)
	}
	if !f.To.IsZero() {
		w.Add("started_at < $?", f.To)
	}
	return &w
}

// planned has a filtered query planned for its own values each time (an
// unnamed statement) rather than once for any: a word in one entry in five
// is best found by walking ids, a rare one through the GIN index, and a
// plan cached for both picks one way for all (a common word's count took
// 110 ms instead of 20 at a million entries).
func planned(args []any) []any { return append([]any{pgx.QueryExecModeExec}, args...) }

// prefixUpperBound is the least string above every string that starts with
// prefix, in byte order (COLLATE "C"): prefix with its last character
// raised by one. ok is false when there is none (only U+10FFFF).
func prefixUpperBound(prefix string) (string, bool) {
	runes := []rune(prefix)
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i] + 1
		if r >= 0xD800 && r <= 0xDFFF {
			r = 0xE000 // UTF-8 has no surrogates
		}
		if r <= utf8.MaxRune {
			runes[i] = r
			return string(runes[:i+1]), true
		}
	}
	return "", false
}

// Count is how many entries match f, exactly up to CountLimit; more says
// there are more than CountLimit. Counting stops there, so a count costs at
// most CountLimit index entries however long the log.
func (l *Log) Count(ctx context.Context, f Filter) (n int, more bool, err error) {
	return l.countUpTo(ctx, f, CountLimit)
}

// countUpTo is how many entries match f, exactly up to most; more says
// there are more. It is cached under most.
func (l *Log) countUpTo(ctx context.Context, f Filter, most int) (n int, more bool, err error) {
	key := keyOf(f, 0, most)
	if c, ok := l.cache.count(key); ok {
		return c.n, c.more, nil
	}
	// When the full count is cached, it answers a smaller limit too.
	if most < CountLimit {
		if c, ok := l.cache.count(keyOf(f, 0, CountLimit)); ok {
			return min(c.n, most), c.more || c.n > most, nil
		}
	}
	gen, cache := l.cache.generation()
	n, more, err = l.count(ctx, f, most)
	if err == nil && cache {
		l.cache.putCount(gen, key, cachedCount{n, more})
	}
	return n, more, err
}

// count is countUpTo from the database.
func (l *Log) count(ctx context.Context, f Filter, most int) (n int, more bool, err error) {
	w := f.where()
	err = l.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT FROM audit_entries `+w.Clause()+
		` LIMIT `+w.Param(most+1)+`) matched`, planned(w.Args())...).Scan(&n)
	if err != nil {
		return 0, false, fmt.Errorf("audit: count: %w", err)
	}
	if n > most {
		return most, true, nil
	}
	return n, false, nil
}

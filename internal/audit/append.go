package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Complete is an entry recorded whole: begun and finalised at once, for
// what the console records rather than does (a baseline, a drift, an
// adopt, an attribution). Nothing is sent upstream for it, so there is no
// write-ahead to keep.
type Complete struct {
	Start
	Final
}

// Append records entries, each begun and finalised, in the caller's
// transaction tx: they commit or vanish with what else tx writes (the
// drift detector's state row), so a crash never leaves one without the
// other. It takes the chain lock for the rest of tx. An endpoint with a
// pending entry gets none: a *PendingEntryError names it, as Begin's.
func (l *Log) Append(ctx context.Context, tx pgx.Tx, entries []Complete) ([]*Entry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, chainLockKey); err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	ids := make([]string, len(entries))
	for i, c := range entries {
		if c.Outcome == OutcomePending || c.Outcome == "" {
			return nil, errors.New("audit: append needs an outcome")
		}
		ids[i] = c.EndpointID
	}
	var pendingID *int64
	var prev string
	var now time.Time
	err := tx.QueryRow(ctx, `
		SELECT (SELECT id FROM audit_entries WHERE endpoint_id = ANY($1) AND outcome = 'pending' ORDER BY id LIMIT 1),
			coalesce((SELECT hash FROM audit_entries ORDER BY id DESC LIMIT 1), $2), clock_timestamp()`,
		ids, genesisHash).Scan(&pendingID, &prev, &now)
	if err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	if pendingID != nil {
		return nil, &PendingEntryError{Existing: *pendingID}
	}
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('audit_entries', 'id')) FROM generate_series(1, $1)`, len(entries))
	if err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	newIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	out := make([]*Entry, len(entries))
	batch := &pgx.Batch{}
	for i, c := range entries {
		e := l.newEntry(c.Start)
		e.ID, e.StartedAt, e.PrevHash = newIDs[i], now, prev
		e.Hash = l.format.hash(e, byHash)
		batch.Queue(l.format.insertSQL, l.format.insertArgs(e)...)
		f := c.Final
		f.Duration = 0
		l.seal(e, f, now)
		batch.Queue(l.format.finaliseSQL, l.format.finaliseArgs(e)...)
		prev = e.Hash
		out[i] = e
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	l.changed()
	return out, nil
}

// Querier is a pool, a connection or a transaction: what reads entries.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// History returns up to limit entries of the endpoint, newest first, read
// through q (a transaction under the endpoint's lock, for the drift
// detector's decisions); attribute entries are left out: they record who
// made a drift, not a version.
func (l *Log) History(ctx context.Context, q Querier, endpointID string, limit int) ([]*Entry, error) {
	rows, err := q.Query(ctx, `SELECT `+l.format.columns+` FROM audit_entries
		WHERE endpoint_id = $1 AND action <> $2 ORDER BY id DESC LIMIT $3`, endpointID, ActionAttribute, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: history of %s: %w", endpointID, err)
	}
	out, err := pgx.CollectRows(rows, l.format.scan)
	if err != nil {
		return nil, fmt.Errorf("audit: history of %s: %w", endpointID, err)
	}
	return out, nil
}

// ReferringTo returns the entries whose refers_to is id (its adopt and
// attribute entries), oldest first.
func (l *Log) ReferringTo(ctx context.Context, id int64) ([]*Entry, error) {
	return l.many(ctx, fmt.Sprintf("entries referring to %d", id), `WHERE refers_to = $1 ORDER BY id`, id)
}

// WithEntries returns which of endpointIDs have any entry, under the chain
// lock taken in tx (for the rest of it): no entry can be appended for them
// before tx ends but by tx itself.
func (l *Log) WithEntries(ctx context.Context, tx pgx.Tx, endpointIDs []string) (map[string]bool, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, chainLockKey); err != nil {
		return nil, fmt.Errorf("audit: lock the chain: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT u.endpoint FROM unnest($1::text[]) AS u(endpoint)
		WHERE EXISTS (SELECT 1 FROM audit_entries a WHERE a.endpoint_id = u.endpoint)`, endpointIDs)
	if err != nil {
		return nil, fmt.Errorf("audit: entries of endpoints: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("audit: entries of endpoints: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// Histories is History for many endpoints in one query: each endpoint's
// entries, newest first, at most limit each.
func (l *Log) Histories(ctx context.Context, q Querier, endpointIDs []string, limit int) (map[string][]*Entry, error) {
	rows, err := q.Query(ctx, `SELECT `+l.format.columns+` FROM unnest($1::text[]) AS u(endpoint)
		CROSS JOIN LATERAL (SELECT * FROM audit_entries WHERE endpoint_id = u.endpoint AND action <> $2 ORDER BY id DESC LIMIT $3) a
		ORDER BY a.endpoint_id, a.id DESC`, endpointIDs, ActionAttribute, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: histories: %w", err)
	}
	entries, err := pgx.CollectRows(rows, l.format.scan)
	if err != nil {
		return nil, fmt.Errorf("audit: histories: %w", err)
	}
	out := make(map[string][]*Entry, len(endpointIDs))
	for _, e := range entries {
		out[e.EndpointID] = append(out[e.EndpointID], e)
	}
	return out, nil
}

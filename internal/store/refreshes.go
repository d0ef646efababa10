package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Refresh is one attempt to refresh the inventory.
type Refresh struct {
	Trigger       string // startup | schedule | manual
	StartedAt     time.Time
	FinishedAt    time.Time
	Succeeded     bool
	EndpointCount int
	Error         string          // the whole error of a failed attempt, as logged
	Failure       *RefreshFailure // why a failed attempt failed, in parts; nil when it succeeded
}

// RefreshFailure is why a refresh failed, as the upstream answered: what the
// list page and the API show.
type RefreshFailure struct {
	Source    string // FailureUpstream or FailureConsole
	Status    int    // the upstream's HTTP status; 0 when no answer arrived or the console itself failed
	Code      string // the upstream's error code, e.g. APIGW.0301
	Message   string // the upstream's message, or a plain description; fit to show
	RequestID string // the upstream's request id
}

// Whose failure a failed refresh was.
const (
	FailureUpstream = "upstream" // the upstream answered with an error, or did not answer
	FailureConsole  = "console"  // the console itself failed, e.g. storing the list
)

// keptRefreshes bounds each project's refresh history.
const keptRefreshes = 1000

// RecordRefresh stores a refresh attempt of the project and prunes its
// oldest beyond keptRefreshes.
func (s *Store) RecordRefresh(ctx context.Context, r Refresh) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var count *int
		var errText, source, code, message, requestID *string
		var status *int
		if r.Succeeded {
			count = &r.EndpointCount
		} else {
			errText = &r.Error
			if f := r.Failure; f != nil {
				source, status, code, message, requestID = nonEmpty(f.Source), nonZero(f.Status), nonEmpty(f.Code), nonEmpty(f.Message), nonEmpty(f.RequestID)
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO inventory_refreshes (project, trigger, started_at, finished_at, succeeded, endpoint_count, error,
				error_source, error_status, error_code, error_message, error_request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			s.project, r.Trigger, r.StartedAt, r.FinishedAt, r.Succeeded, count, errText,
			source, status, code, message, requestID); err != nil {
			return fmt.Errorf("store: record refresh: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM inventory_refreshes
			WHERE project = $2 AND id <= (SELECT id FROM inventory_refreshes WHERE project = $2 ORDER BY id DESC OFFSET $1 LIMIT 1)`,
			keptRefreshes, s.project); err != nil {
			return fmt.Errorf("store: prune refreshes: %w", err)
		}
		return notify(ctx, tx, notifyRefreshes, s.project)
	})
	if err == nil {
		s.cache.changed(notifyRefreshes)
	}
	return err
}

func nonZero(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// RefreshState is what the pages and /readyz say about freshness.
type RefreshState struct {
	Last            *Refresh // the newest attempt; nil before the first
	LastSuccessAt   time.Time
	LastSuccessSize int
}

// RefreshState returns the project's newest refresh attempt and newest
// success: from memory while the read model is current (WatchInventory).
func (s *Store) RefreshState(ctx context.Context) (RefreshState, error) {
	if st, ok, err := s.cachedRefreshState(ctx); err != nil || ok {
		return st, err
	}
	return s.readRefreshState(ctx)
}

// readRefreshState is RefreshState from the database.
func (s *Store) readRefreshState(ctx context.Context) (RefreshState, error) {
	var st RefreshState
	var last Refresh
	var count, status *int
	var errText, source, code, message, requestID *string
	err := s.pool.QueryRow(ctx, `
		SELECT trigger, started_at, finished_at, succeeded, endpoint_count, error,
			error_source, error_status, error_code, error_message, error_request_id
		FROM inventory_refreshes WHERE project = $1 ORDER BY id DESC LIMIT 1`, s.project,
	).Scan(&last.Trigger, &last.StartedAt, &last.FinishedAt, &last.Succeeded, &count, &errText,
		&source, &status, &code, &message, &requestID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("store: last refresh: %w", err)
	}
	if count != nil {
		last.EndpointCount = *count
	}
	if errText != nil {
		last.Error = *errText
	}
	if !last.Succeeded {
		f := &RefreshFailure{Source: deref(source), Code: deref(code), Message: deref(message), RequestID: deref(requestID)}
		if status != nil {
			f.Status = *status
		}
		if source == nil {
			// Recorded before the failure had its own columns: the error
			// text is all there is, and is what the pages showed then.
			f.Source, f.Message = FailureUpstream, last.Error
		}
		last.Failure = f
	}
	st.Last = &last
	if last.Succeeded {
		st.LastSuccessAt, st.LastSuccessSize = last.FinishedAt, last.EndpointCount
		return st, nil
	}
	err = s.pool.QueryRow(ctx, `
		SELECT finished_at, endpoint_count FROM inventory_refreshes
		WHERE project = $1 AND succeeded ORDER BY id DESC LIMIT 1`, s.project,
	).Scan(&st.LastSuccessAt, &count)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return st, nil
	case err != nil:
		return st, fmt.Errorf("store: last successful refresh: %w", err)
	}
	if count != nil {
		st.LastSuccessSize = *count
	}
	return st, nil
}

// RefreshedWithin reports whether the project's newest refresh attempt,
// succeeded or failed, finished less than window ago, by the database's clock.
func (s *Store) RefreshedWithin(ctx context.Context, window time.Duration) (bool, error) {
	var recent bool
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(now() - max(finished_at) < $1::interval, false) FROM inventory_refreshes WHERE project = $2`,
		window, s.project).Scan(&recent)
	if err != nil {
		return false, fmt.Errorf("store: newest refresh: %w", err)
	}
	return recent, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

package inventory_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
)

// A starting console refreshes at once unless the stored inventory's newest
// refresh succeeded less than an interval ago; then it waits for the rest
// of the interval, as if it had not restarted.
func TestFirstRefreshIn(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	r := inventory.NewRefresher(nil, nil, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	succeeded := func(ago time.Duration) store.RefreshState {
		return store.RefreshState{Last: &store.Refresh{Succeeded: true, FinishedAt: now.Add(-ago)}, LastSuccessAt: now.Add(-ago)}
	}
	for _, tt := range []struct {
		name  string
		state store.RefreshState
		want  time.Duration
	}{
		{"nothing stored", store.RefreshState{}, 0},
		{"the newest refresh failed", store.RefreshState{Last: &store.Refresh{FinishedAt: now.Add(-time.Second)}, LastSuccessAt: now.Add(-2 * time.Second)}, 0},
		{"refreshed 10 s ago", succeeded(10 * time.Second), 50 * time.Second},
		{"refreshed just now", succeeded(0), time.Minute},
		{"refreshed an interval ago", succeeded(time.Minute), 0},
		{"refreshed an hour ago", succeeded(time.Hour), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.FirstRefreshIn(tt.state, now); got != tt.want {
				t.Errorf("FirstRefreshIn = %s, want %s", got, tt.want)
			}
		})
	}
}

package views_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/auth"
	"github.com/vpcep-console/vpcep-console/internal/cts"
	"github.com/vpcep-console/vpcep-console/internal/views"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// A kept row is reused only with the drift state it was rendered with: the
// badge appears when a drift opens, goes when it closes and follows a new
// drift entry, while an unchanged state renders each row once.
func TestKeptRowsFollowTheDriftState(t *testing.T) {
	eps := generatedEndpoints(t, 3)
	id := eps[1].ID
	seen := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	caches := []*rowCache{{}, {}, {}}
	render := func(drifts map[string]views.DriftMark) string {
		t.Helper()
		p := endpointsPage(eps)
		p.Results.Drifts = drifts
		for _, c := range caches {
			p.Results.RowCaches = append(p.Results.RowCaches, c)
		}
		var buf bytes.Buffer
		if err := views.EndpointsView(p).Render(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	badges := func(html string) int { return strings.Count(html, `data-testid="drift-badge"`) }

	tests := []struct {
		name   string
		drifts map[string]views.DriftMark
		badges int
		seen   bool
	}{
		{"not drifted (rows kept without a badge)", nil, 0, false},
		{"a drift opens", map[string]views.DriftMark{id: {EntryID: 7, SeenAt: seen}}, 1, true},
		{"a newer drift", map[string]views.DriftMark{id: {EntryID: 9}}, 1, false},
		{"the drift closes", nil, 0, false},
	}
	for _, tt := range tests {
		html := render(tt.drifts)
		if got := badges(html); got != tt.badges {
			t.Errorf("%s: %d badges, want %d", tt.name, got, tt.badges)
		}
		if got := strings.Contains(html, "2026-11-27 10:00:00 UTC"); got != tt.seen {
			t.Errorf("%s: the time seen shown %v, want %v", tt.name, got, tt.seen)
		}
	}
	// The rows kept (rendered first without a drift) were reused for the
	// endpoints whose state did not change.
	if caches[0].rendered != 1 || caches[2].rendered != 1 {
		t.Errorf("undrifted rows rendered %d and %d times, want once each", caches[0].rendered, caches[2].rendered)
	}
}

// The banner says who made the change when CTS found it, and why not when
// it did not; only editors get Adopt and Revert.
func TestDriftBannerSaysWho(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 58, 0, 0, time.UTC)
	drift := &audit.Entry{ID: 12, StartedAt: at.Add(2 * time.Minute), DetectedBy: "refresh", Actor: views.ActorExternal}
	tests := []struct {
		name    string
		role    auth.Role
		banner  views.DriftBanner
		want    []string
		actions bool
	}{
		{"found, editor", auth.Editor, views.DriftBanner{AttributionState: views.AttributionFound, Attribution: []cts.Trace{{
			User: "alice", SourceIP: "203.0.113.7", Time: at, TraceName: "updateEndpointPolicy", RequestID: "req-42"}}},
			[]string{"alice", "203.0.113.7", "2026-11-27 09:58:00 UTC", "updateEndpointPolicy", "req-42"}, true},
		{"pending, viewer", auth.Viewer, views.DriftBanner{AttributionState: views.AttributionPending},
			[]string{"not known yet", "CTS lags by minutes"}, false},
		{"failed", auth.Admin, views.DriftBanner{AttributionState: views.AttributionFailed, LastError: "CTS answered 503."},
			[]string{"not known yet", "CTS answered 503."}, true},
		{"disabled", auth.Editor, views.DriftBanner{AttributionState: views.AttributionDisabled},
			[]string{"CTS) is not enabled"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.banner
			b.Drift, b.EndpointID, b.Back = drift, "ep-1", "endpoint"
			p := views.EndpointPage{Base: views.Base{Account: &views.Account{Name: "x", Role: tt.role}},
				Endpoint: &vpcep.Endpoint{ID: "ep-1"}, Drift: &b}
			var buf bytes.Buffer
			if err := views.EndpointView(p).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			html := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(html, w) {
					t.Errorf("the banner lacks %q", w)
				}
			}
			if got := strings.Contains(html, `data-testid="adopt-form"`); got != tt.actions {
				t.Errorf("Adopt offered: %v, want %v", got, tt.actions)
			}
		})
	}
}

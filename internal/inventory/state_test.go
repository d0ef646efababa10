package inventory_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vpcep-console/vpcep-console/internal/inventory"
	"github.com/vpcep-console/vpcep-console/internal/store"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	const interval = time.Minute
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	failure := &store.RefreshFailure{Source: store.FailureUpstream, Status: 401, Code: "APIGW.0301", Message: "Incorrect IAM authentication information", RequestID: "r1"}
	succeeded := func(ago time.Duration) store.RefreshState {
		at := now.Add(-ago)
		return store.RefreshState{Last: &store.Refresh{Succeeded: true, FinishedAt: at, EndpointCount: 36}, LastSuccessAt: at, LastSuccessSize: 36}
	}
	failedSince := func(success, attempt time.Duration) store.RefreshState {
		st := succeeded(success)
		st.Last = &store.Refresh{FinishedAt: now.Add(-attempt), Error: "vpcep: list endpoints: HTTP 401", Failure: failure}
		return st
	}
	tests := []struct {
		name      string
		st        store.RefreshState
		state     inventory.State
		ready     bool
		failure   *store.RefreshFailure
		notLoaded bool
	}{
		{"no attempt yet", store.RefreshState{}, inventory.NeverLoaded, false, nil, true},
		{"every attempt failed", store.RefreshState{Last: &store.Refresh{FinishedAt: now, Failure: failure}}, inventory.NeverLoaded, false, failure, true},
		{"just refreshed", succeeded(time.Second), inventory.Fresh, true, nil, false},
		{"refreshed two intervals ago", succeeded(2 * interval), inventory.Fresh, true, nil, false},
		{"no refresh for longer than two intervals", succeeded(2*interval + time.Second), inventory.Stale, true, nil, false},
		{"the newest refresh failed", failedSince(interval, time.Second), inventory.Stale, true, failure, false},
		{"failing for three intervals", failedSince(3*interval, time.Second), inventory.Stale, true, failure, false},
		{"failing for longer than three intervals", failedSince(3*interval+time.Second, time.Second), inventory.Stale, false, failure, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := inventory.StatusOf(tt.st, interval, now)
			if s.State != tt.state || s.Ready != tt.ready {
				t.Errorf("state %s ready %v, want %s %v", s.State, s.Ready, tt.state, tt.ready)
			}
			if diff := cmp.Diff(tt.failure, s.LastFailure); diff != "" {
				t.Errorf("failure mismatch (-want +got):\n%s", diff)
			}
			if notLoaded := s.Err() != nil; notLoaded != tt.notLoaded {
				t.Errorf("Err() = %v", s.Err())
			}
		})
	}
}

func TestNotLoadedError(t *testing.T) {
	t.Parallel()
	failed := inventory.StatusOf(store.RefreshState{Last: &store.Refresh{Failure: &store.RefreshFailure{
		Source: store.FailureUpstream, Status: 401, Code: "APIGW.0301", Message: "Incorrect IAM authentication information", RequestID: "r1"}}},
		time.Minute, time.Now())
	err := failed.Err().(*inventory.NotLoadedError)
	if got, want := err.Error(), "inventory: never loaded; the newest refresh failed: HTTP 401 APIGW.0301: Incorrect IAM authentication information (request id r1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err.RetryAfter() != time.Minute {
		t.Errorf("RetryAfter = %s, want the refresh interval", err.RetryAfter())
	}
	starting := inventory.StatusOf(store.RefreshState{}, time.Minute, time.Now()).Err().(*inventory.NotLoadedError)
	if starting.RetryAfter() != 5*time.Second || starting.Error() != "inventory: never loaded; the first refresh has not finished" {
		t.Errorf("%q, RetryAfter %s", starting.Error(), starting.RetryAfter())
	}
}

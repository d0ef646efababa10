package vpcepsim

import (
	"testing"
	"time"
)

func TestRouteLatencyHoldsOnlyItsRoute(t *testing.T) {
	t.Parallel()
	s := New(Options{ProjectID: testProject})
	s.SetLatency(time.Second)
	s.SetRouteLatency(RouteUpdatePolicy, time.Minute)
	for route, want := range map[string]time.Duration{
		RouteUpdatePolicy: time.Minute,
		RouteGet:          time.Second,
		RouteList:         time.Second,
	} {
		if _, _, got, _ := s.faults.take(route); got != want {
			t.Errorf("latency of %q = %v, want %v", route, got, want)
		}
	}
	s.ClearFaults()
	if _, _, got, _ := s.faults.take(RouteUpdatePolicy); got != 0 {
		t.Errorf("latency after ClearFaults = %v", got)
	}
}

func TestClearFaultsDropsHolds(t *testing.T) {
	t.Parallel()
	s := New(Options{ProjectID: testProject})
	s.HoldNext(RouteUpdatePolicy)
	s.ClearFaults()
	if h := s.takeHold(RouteUpdatePolicy); h != nil {
		t.Error("a hold survived ClearFaults")
	}
}

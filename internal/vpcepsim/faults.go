package vpcepsim

import (
	"sync"
	"time"
)

// Fault is a forced answer: Status with a flat error body carrying Code.
type Fault struct {
	Status  int
	Code    string
	Message string
}

// faults holds the injected misbehaviour. Every method is safe for
// concurrent use with requests being served.
type faults struct {
	mu         sync.Mutex
	latency    time.Duration
	routeDelay map[string]time.Duration // per route, instead of latency
	next       []Fault                  // forced answers for the next calls, in order
	routes     map[string]Fault         // forced answer per route ("PUT policy", ...)
	dropNext   int                      // connections to drop without an answer
	dropAfter  map[string]int           // per route: calls to carry out, then drop without an answer
	nestedBody bool                     // errors as {"error":{"code","message"}}
	holds      map[string][]*Hold       // per route: calls to stop at the simulator (HoldNext)
}

// SetLatency delays every answer by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.latency = d
	s.faults.mu.Unlock()
}

// SetRouteLatency delays every answer to route by d instead of the latency
// SetLatency set (0 turns it off for route). A delayed PUT is a change held
// in flight, e.g. while the console shuts down.
func (s *Server) SetRouteLatency(route string, d time.Duration) {
	s.faults.mu.Lock()
	if s.faults.routeDelay == nil {
		s.faults.routeDelay = map[string]time.Duration{}
	}
	s.faults.routeDelay[route] = d
	s.faults.mu.Unlock()
}

// FailNext makes the next n calls answer with f.
func (s *Server) FailNext(n int, f Fault) {
	s.faults.mu.Lock()
	for range n {
		s.faults.next = append(s.faults.next, f)
	}
	s.faults.mu.Unlock()
}

// FailRoute makes every call to route answer with f until cleared with
// ClearFaults. Routes: RouteList, RouteGet, RouteUpdatePolicy,
// RouteDeletePolicy, RouteListTraces (CTS).
func (s *Server) FailRoute(route string, f Fault) {
	s.faults.mu.Lock()
	if s.faults.routes == nil {
		s.faults.routes = map[string]Fault{}
	}
	s.faults.routes[route] = f
	s.faults.mu.Unlock()
}

// DropNext makes the next n calls close the connection without answering.
func (s *Server) DropNext(n int) {
	s.faults.mu.Lock()
	s.faults.dropNext += n
	s.faults.mu.Unlock()
}

// LoseAnswerNext makes the next n calls to route take effect (a PUT changes
// the policy) and then close the connection without answering: the answer
// lost on the way back.
func (s *Server) LoseAnswerNext(route string, n int) {
	s.faults.mu.Lock()
	if s.faults.dropAfter == nil {
		s.faults.dropAfter = map[string]int{}
	}
	s.faults.dropAfter[route] += n
	s.faults.mu.Unlock()
}

// SetNestedErrorBody switches error bodies to the {"error":{"code","message"}}
// shape the seed document shows (the SDK parses both).
func (s *Server) SetNestedErrorBody(on bool) {
	s.faults.mu.Lock()
	s.faults.nestedBody = on
	s.faults.mu.Unlock()
}

// ClearFaults removes every injected fault, holds not yet taken included.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.latency = 0
	s.faults.routeDelay = nil
	s.faults.next = nil
	s.faults.routes = nil
	s.faults.dropNext = 0
	s.faults.dropAfter = nil
	s.faults.nestedBody = false
	s.faults.holds = nil
	s.faults.mu.Unlock()
}

// take decides what to do with a call to route: drop it, force an answer,
// serve it and drop the answer, or serve it normally (after latency).
func (f *faults) take(route string) (drop bool, forced *Fault, latency time.Duration, dropAfter bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	latency = f.latency
	if d, ok := f.routeDelay[route]; ok {
		latency = d
	}
	if f.dropNext > 0 {
		f.dropNext--
		return true, nil, latency, false
	}
	if f.dropAfter[route] > 0 {
		f.dropAfter[route]--
		return false, nil, latency, true
	}
	if len(f.next) > 0 {
		next := f.next[0]
		f.next = f.next[1:]
		return false, &next, latency, false
	}
	if rf, ok := f.routes[route]; ok {
		return false, &rf, latency, false
	}
	return false, nil, latency, false
}

func (f *faults) nested() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nestedBody
}

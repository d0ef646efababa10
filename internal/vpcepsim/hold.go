package vpcepsim

import (
	"net/http"
	"net/http/httptest"
)

// Hold stops the next call to a route at the simulator, after it has
// arrived and before it is carried out, until the test decides what the
// API does with it: crash and outage tests use it to stop a change at an
// exact point (sent but not applied; applied but not answered).
type Hold struct {
	arrived chan struct{}
	apply   chan bool
	applied chan struct{}
	answer  chan bool
}

// HoldNext holds the next call to route (RouteUpdatePolicy, ...).
func (s *Server) HoldNext(route string) *Hold {
	h := &Hold{arrived: make(chan struct{}), apply: make(chan bool, 1), applied: make(chan struct{}), answer: make(chan bool, 1)}
	s.faults.mu.Lock()
	if s.faults.holds == nil {
		s.faults.holds = map[string][]*Hold{}
	}
	s.faults.holds[route] = append(s.faults.holds[route], h)
	s.faults.mu.Unlock()
	return h
}

func (s *Server) takeHold(route string) *Hold {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if len(s.faults.holds[route]) == 0 {
		return nil
	}
	h := s.faults.holds[route][0]
	s.faults.holds[route] = s.faults.holds[route][1:]
	return h
}

// Arrived is closed when the held call has arrived.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Drop closes the held call's connection without carrying it out.
func (h *Hold) Drop() { h.apply <- false }

// Apply carries the held call out (a PUT changes the policy) and returns
// once it has, still holding the answer.
func (h *Hold) Apply() {
	h.apply <- true
	<-h.applied
}

// Answer sends the held answer after Apply.
func (h *Hold) Answer() { h.answer <- true }

// LoseAnswer closes the connection after Apply, the answer lost.
func (h *Hold) LoseAnswer() { h.answer <- false }

// serve holds the call, then does what the test decided.
func (h *Hold) serve(w http.ResponseWriter, carryOut func(http.ResponseWriter)) {
	close(h.arrived) // takeHold gives each hold to one call only
	if !<-h.apply {
		dropConnection(w)
		return
	}
	rec := httptest.NewRecorder()
	carryOut(rec)
	close(h.applied)
	if !<-h.answer {
		dropConnection(w)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

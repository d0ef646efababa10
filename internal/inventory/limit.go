package inventory

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Limit bounds how many refreshes read the upstream at once across every
// project's Refresher that shares it: each project has its own upstream,
// but they all write to one database and share the replica's CPU and memory
// (a refresh holds a page of its listing and decodes it).
type Limit struct {
	slots   chan struct{}
	waiting atomic.Int32 // refreshes waiting for a slot now (tests watch it)
}

// NewLimit returns a Limit of n refreshes at once (at least one).
func NewLimit(n int) *Limit {
	if n < 1 {
		n = 1
	}
	return &Limit{slots: make(chan struct{}, n)}
}

// acquire waits for a slot, or for ctx; release gives it back (once,
// however often it is called). A nil Limit bounds nothing.
func (l *Limit) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
	default:
		l.waiting.Add(1)
		defer l.waiting.Add(-1)
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("inventory: waiting for another project's refresh to finish: %w", ctx.Err())
		}
	}
	var released atomic.Bool
	return func() {
		if released.CompareAndSwap(false, true) {
			<-l.slots
		}
	}, nil
}

// SetLimit has r share l with other projects' refreshers: a refresh waits
// for a slot of l before it reads the upstream, and gives it back once the
// listing is stored. Call before Run.
func (r *Refresher) SetLimit(l *Limit) { r.limit = l }

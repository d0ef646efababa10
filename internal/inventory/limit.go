package inventory

import "context"

// Limit bounds how many refreshes read the upstream at once across every
// project's Refresher that shares it: each project has its own upstream,
// but they all write to one database.
type Limit struct{ slots chan struct{} }

// NewLimit returns a Limit of n refreshes at once (at least one).
func NewLimit(n int) *Limit {
	if n < 1 {
		n = 1
	}
	return &Limit{slots: make(chan struct{}, n)}
}

// acquire waits for a slot, or for ctx; release gives it back.
func (l *Limit) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SetLimit has r share l with other projects' refreshers. Call before Run.
func (r *Refresher) SetLimit(l *Limit) { r.limit = l }

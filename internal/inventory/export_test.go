package inventory

// Waiting is how many refreshes wait for a slot of l now.
func (l *Limit) Waiting() int { return int(l.waiting.Load()) }

package audit

import (
	"context"
	"fmt"
)

// VerifyResult is what Verify found.
type VerifyResult struct {
	Checked  int
	BadEntry int64  // 0 when the chain is intact
	Problem  string // what does not match at BadEntry
}

// OK reports whether the whole chain matched.
func (r VerifyResult) OK() bool { return r.BadEntry == 0 }

// Verify walks the chain from the first entry and stops at the first entry
// whose content does not match its hash, whose prev_hash is not the hash of
// the entry before it (an entry removed or re-ordered), or whose final hash
// does not match its outcome fields. Each entry is hashed by the fields of
// its own format version.
func (l *Log) Verify(ctx context.Context) (VerifyResult, error) {
	var r VerifyResult
	rows, err := l.pool.Query(ctx, `SELECT `+l.format.columns+` FROM audit_entries ORDER BY id`)
	if err != nil {
		return r, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	prevHash, prevID := genesisHash, int64(0)
	for rows.Next() {
		e, err := l.format.scan(rows)
		if err != nil {
			return r, fmt.Errorf("audit: verify: %w", err)
		}
		r.Checked++
		switch {
		case e.PrevHash != prevHash && prevID == 0:
			r.BadEntry, r.Problem = e.ID, "its prev_hash is not the start of the chain: entries before it are missing"
		case e.PrevHash != prevHash:
			r.BadEntry, r.Problem = e.ID, fmt.Sprintf("its prev_hash does not match entry #%d: an entry between them is missing or was changed", prevID)
		case !l.format.knows(e.FormatVersion):
			r.BadEntry, r.Problem = e.ID, fmt.Sprintf("its format_version %d is not one this binary knows (1 to %d): it was altered, or written by a newer binary", e.FormatVersion, l.format.version)
		case l.format.newerFieldSet(e) != "":
			r.BadEntry, r.Problem = e.ID, fmt.Sprintf("its %s holds a value, but its format_version %d has no %s: it was added afterwards",
				l.format.newerFieldSet(e), e.FormatVersion, l.format.newerFieldSet(e))
		case l.format.hash(e, byHash) != e.Hash:
			r.BadEntry, r.Problem = e.ID, "its recorded content does not match its hash: it was altered"
		case e.Outcome == OutcomePending && e.FinalHash != "":
			r.BadEntry, r.Problem = e.ID, "it is pending but carries a final hash: its outcome was altered"
		case e.Outcome != OutcomePending && l.format.hash(e, byFinalHash) != e.FinalHash:
			r.BadEntry, r.Problem = e.ID, "its outcome fields do not match its final hash: they were altered"
		}
		if r.BadEntry != 0 {
			return r, nil
		}
		prevHash, prevID = e.Hash, e.ID
	}
	return r, rows.Err()
}

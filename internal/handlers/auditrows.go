package handlers

import (
	"strconv"
	"sync"

	"github.com/vpcep-console/vpcep-console/internal/audit"
	"github.com/vpcep-console/vpcep-console/internal/views"
)

// auditRowsMax bounds the rendered audit rows kept: two pages of each of
// the cached audit pages is far more than a person pages through.
const auditRowsMax = 4096

// auditRows keeps each audit entry's rendered list row, so a page served
// from the audit log's cache is not rendered again row by row. A row
// depends on the entry alone; an entry changes only when it is finalised,
// which sets its final hash and outcome, so those are part of the key.
type auditRows struct {
	mu   sync.Mutex
	rows map[string]string
}

// caches returns the row cache of each entry, in order.
func (r *auditRows) caches(entries []*audit.Entry) []views.RowCache {
	out := make([]views.RowCache, len(entries))
	for i, e := range entries {
		out[i] = auditRowCache{r, strconv.FormatInt(e.ID, 10) + "/" + e.Outcome + "/" + e.FinalHash}
	}
	return out
}

type auditRowCache struct {
	rows *auditRows
	key  string
}

// Row returns the kept row, or renders it and keeps it. A failed render is
// not kept.
func (c auditRowCache) Row(render func() (string, error)) (string, error) {
	r := c.rows
	r.mu.Lock()
	html, ok := r.rows[c.key]
	r.mu.Unlock()
	if ok {
		return html, nil
	}
	html, err := render()
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows == nil {
		r.rows = map[string]string{}
	}
	if len(r.rows) >= auditRowsMax {
		for k := range r.rows { // drop one arbitrary row
			delete(r.rows, k)
			break
		}
	}
	r.rows[c.key] = html
	return html, nil
}

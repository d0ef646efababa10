package audit

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vpcep-console/vpcep-console/internal/pglisten"
)

// The audit log's read cache. /audit shows a page and a count for a
// filter; at a million entries the count alone costs milliseconds, and most
// views ask what the previous view asked. Each replica keeps the answers it
// computed, keyed by the filter and the log's generation. Every statement
// that appends or finalises entries sends a NOTIFY (a statement trigger,
// migration 00011), delivered on commit; each replica LISTENs on a
// connection of its own (Watch), and a notification, or a write of the
// replica itself, starts a new generation, so nothing cached before it is
// served again. While no LISTEN is held (Watch is not running, or its
// connection broke) nothing is cached and every answer comes from the
// database, as the inventory's read model does (internal/store).

// auditChannel is the NOTIFY channel of audit log changes.
const auditChannel = "vpcep_audit"

// Bounds of the cache: counts are a few bytes each; a page holds its
// entries (policies and bodies included), so fewer of them are kept, and
// only pages of a list's length (/audit's 50, the API's at most 100, each
// with one more to see whether there is a next page): an endpoint's
// history of 500 is read when asked. At most about 64 × 101 entries.
const (
	cachedCountsMax     = 4096
	cachedPagesMax      = 64
	cachedPageMaxLength = 101
)

// readCache is a Log's cached counts and pages and what says they are current.
type readCache struct {
	listening atomic.Bool   // a LISTEN is held: every change from now on is notified
	gen       atomic.Uint64 // bumped by each change seen

	mu     sync.Mutex
	at     uint64 // the generation counts and pages were computed in
	counts map[cacheKey]cachedCount
	pages  map[cacheKey][]*Entry
}

// cacheKey is a filter, and for a page where it starts and how long it is.
// Times are kept as instants, so equal filters are equal keys whatever
// their time zone.
type cacheKey struct {
	endpointID, endpointPrefix, actor, action, outcome, text string
	projectID, region                                        string
	// projectIDs is Filter.ProjectIDs as a set, sorted and joined by NUL
	// (no project id holds one); restricted tells nil (every project)
	// from empty (none).
	projectIDs string
	restricted bool
	from, to   int64
	before     int64
	limit      int
}

type cachedCount struct {
	n    int
	more bool
}

func keyOf(f Filter, before int64, limit int) cacheKey {
	k := cacheKey{endpointID: f.EndpointID, endpointPrefix: f.EndpointPrefix, actor: f.Actor, action: f.Action,
		outcome: f.Outcome, text: f.Text, projectID: f.ProjectID, region: f.Region,
		restricted: f.ProjectIDs != nil, projectIDs: strings.Join(sortedSet(f.ProjectIDs), "\x00"),
		before: before, limit: limit}
	if !f.From.IsZero() {
		k.from = f.From.UnixNano()
	}
	if !f.To.IsZero() {
		k.to = f.To.UnixNano()
	}
	return k
}

// changed starts a new generation: what was cached is not served again.
func (c *readCache) changed() { c.gen.Add(1) }

// generation is the generation a database read starts in, and whether
// its answer may be cached: only while a LISTEN is held. It is read before
// the query, so a change committed while the query runs makes its answer
// stale at once, never current.
func (c *readCache) generation() (uint64, bool) {
	if c == nil || !c.listening.Load() {
		return 0, false
	}
	return c.gen.Load(), true
}

// syncLocked drops what was cached in an older generation than gen; c.mu
// is held.
func (c *readCache) syncLocked(gen uint64) bool {
	if c.at != gen {
		if gen < c.at {
			return false // an answer computed before the cache moved on
		}
		c.at, c.counts, c.pages = gen, nil, nil
	}
	return true
}

func (c *readCache) count(k cacheKey) (cachedCount, bool) {
	gen, ok := c.generation()
	if !ok {
		return cachedCount{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.syncLocked(gen) {
		return cachedCount{}, false
	}
	n, ok := c.counts[k]
	return n, ok
}

func (c *readCache) putCount(gen uint64, k cacheKey, n cachedCount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() || !c.syncLocked(gen) {
		return
	}
	if c.counts == nil {
		c.counts = map[cacheKey]cachedCount{}
	}
	evictOne(c.counts, cachedCountsMax)
	c.counts[k] = n
}

// page returns a cached page as a slice of its own, so a caller's append
// never reaches the cache; the entries are shared and read only.
func (c *readCache) page(k cacheKey) ([]*Entry, bool) {
	gen, ok := c.generation()
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.syncLocked(gen) {
		return nil, false
	}
	entries, ok := c.pages[k]
	if !ok {
		return nil, false
	}
	return slices.Clone(entries), true
}

func (c *readCache) putPage(gen uint64, k cacheKey, entries []*Entry) {
	if k.limit > cachedPageMaxLength {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() || !c.syncLocked(gen) {
		return
	}
	if c.pages == nil {
		c.pages = map[cacheKey][]*Entry{}
	}
	evictOne(c.pages, cachedPagesMax)
	c.pages[k] = slices.Clone(entries)
}

// evictOne drops one arbitrary key of a full map, so it never grows past most.
func evictOne[V any](m map[cacheKey]V, most int) {
	if len(m) < most {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}

// Watch holds a LISTEN for audit log changes on a connection of its own
// until ctx ends, reconnecting when it breaks; while it holds one, counts
// and pages are cached.
func (l *Log) Watch(ctx context.Context, logger *slog.Logger) {
	pglisten.Watch(ctx, l.pool, auditChannel, logger,
		"audit log change notifications lost; reading the audit log from the database until they are back",
		pglisten.Handler{
			Listening: func(context.Context) {
				l.cache.changed() // anything may have changed while nothing listened
				l.cache.listening.Store(true)
			},
			Notified: func(context.Context, string) { l.cache.changed() },
			Lost:     func() { l.cache.listening.Store(false) },
		})
}

// Caching reports whether counts and pages are cached: a LISTEN is held.
func (l *Log) Caching() bool { return l.cache.listening.Load() }

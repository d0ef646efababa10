package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vpcep-console/vpcep-console/internal/pglisten"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// The inventory's read model. Each replica keeps the whole inventory (and
// the newest refresh state) of each project it serves in memory and answers
// the list, its counts, facets and pages from there, with no database round
// trip. Postgres stays the one source of truth: every write to the
// inventory or the refresh history sends a NOTIFY in its transaction, each
// replica LISTENs on a connection of its own (one for all its projects,
// WatchInventories), and a notification (or a write of its own) makes the
// next read of that project load the model again. While no LISTEN is held
// (the watcher is not running, or its connection broke) reads go to the
// database as before, so no replica ever serves a model it cannot know is
// current.

// inventoryChannel is the NOTIFY channel of inventory changes; the payload
// says what changed, and in which project: "endpoints:<project id>". A
// payload without a project ("endpoints") concerns every project.
const inventoryChannel = "vpcep_inventory"

// What changed, the first part of a payload on inventoryChannel.
const (
	notifyEndpoints = "endpoints" // inventory_endpoints or their bodies changed
	notifyRefreshes = "refreshes" // a refresh attempt was recorded
)

// payloadOf is the payload of a notification that what changed in project.
func payloadOf(what, project string) string { return what + ":" + project }

// notificationOf splits a payload into what changed and the project it
// concerns; all is true when it names no project.
func notificationOf(payload string) (what, project string, all bool) {
	what, project, scoped := strings.Cut(payload, ":")
	return what, project, !scoped
}

// inventoryCache is a Store's read model and what says whether it is current.
type inventoryCache struct {
	listening atomic.Bool // a LISTEN is held: every change from now on is notified
	// Generations: bumped by each change seen (a notification, a write of
	// this Store, a new LISTEN). A model is current while its generation is
	// the one it was loaded under.
	endpointsGen atomic.Uint64
	refreshesGen atomic.Uint64

	mu     sync.Mutex // one load at a time
	model  atomic.Pointer[inventoryModel]
	states atomic.Pointer[cachedRefreshState]
}

// inventoryModel is the whole inventory in the list's order (service name,
// then id, byte-wise as the "C" collation orders them).
type inventoryModel struct {
	gen    uint64
	rows   []modelRow
	drifts map[string]int64 // drifted endpoints: their open drift entry
	// driftSeen is when each open drift entry was recorded (it never
	// changes): the list's badges say it without a query per view.
	driftSeen map[int64]time.Time
	facets    InventoryFacets
	loadDur   time.Duration
}

// modelRow is one endpoint and the columns the filters match.
type modelRow struct {
	serviceType, status, vpcID string
	searchText                 string // as the search_text column: lower-cased (ASCII) service name, a space, the id
	driftEntry                 int64  // the open drift entry (endpoint_versions.drift_entry_id); 0: not drifted
	endpoint                   vpcep.Endpoint
	renderings                 Renderings
}

// Renderings keeps what the answers make of one endpoint of the read model
// (its row of the list page, its JSON), each made on first use and then
// reused: rendering the same unchanged endpoint for every request was most
// of a list's cost. They live and die with the model, so a new inventory
// generation starts without them and none outlives the endpoint it was
// made from; only what was asked for is kept (at most about 2 KB an
// endpoint). A nil *Renderings (a page read from the database) keeps
// nothing and makes each one afresh.
type Renderings struct {
	row, json atomic.Pointer[string]
}

// Row returns the endpoint's row of the list page, made by render on first
// use. A failed render is not kept.
func (r *Renderings) Row(render func() (string, error)) (string, error) {
	if r == nil {
		return render()
	}
	return memo(&r.row, render)
}

// JSON returns the endpoint as the API encodes it, made by encode on first
// use. A failed encoding is not kept.
func (r *Renderings) JSON(encode func() (string, error)) (string, error) {
	if r == nil {
		return encode()
	}
	return memo(&r.json, encode)
}

// memo returns what p holds, else makes it and keeps it. Two requests may
// both make it at once: they make the same thing, and either is kept.
func memo(p *atomic.Pointer[string], build func() (string, error)) (string, error) {
	if s := p.Load(); s != nil {
		return *s, nil
	}
	s, err := build()
	if err != nil {
		return "", err
	}
	p.Store(&s)
	return s, nil
}

type cachedRefreshState struct {
	gen   uint64
	state RefreshState
}

// changed marks what a write of this Store changed, so that its own next
// read sees it without waiting for the notification.
func (c *inventoryCache) changed(what string) {
	switch what {
	case notifyEndpoints:
		c.endpointsGen.Add(1)
	case notifyRefreshes:
		c.refreshesGen.Add(1)
	}
}

// notify sends what changed in project to every replica, in tx: delivered
// on commit.
func notify(ctx context.Context, tx pgx.Tx, what, project string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, inventoryChannel, payloadOf(what, project)); err != nil {
		return fmt.Errorf("store: notify %s: %w", what, err)
	}
	return nil
}

// WatchInventory holds a LISTEN for inventory changes on a connection of its
// own until ctx ends, reconnecting when it breaks; while it holds one, the
// inventory is read from memory. The model is loaded by its first reader,
// then again after every change, so requests rarely wait for a load. A
// console serving several projects watches all their stores at once with
// WatchInventories instead.
func (s *Store) WatchInventory(ctx context.Context, logger *slog.Logger) {
	WatchInventories(ctx, logger, s)
}

// WatchInventories is WatchInventory for several stores (one per project)
// on one database, over a single LISTEN connection (configured as the first
// store's pool): a console serving 20 projects holds one, not 20. Each
// notification reloads only the stores of the project it names (every
// store for one that names none), one after the other.
func WatchInventories(ctx context.Context, logger *slog.Logger, stores ...*Store) {
	if len(stores) == 0 {
		return
	}
	pglisten.Watch(ctx, stores[0].pool, inventoryChannel, logger,
		"inventory change notifications lost; reading the inventory from the database until they are back",
		pglisten.Handler{
			Listening: func(ctx context.Context) {
				// Anything may have changed while nothing listened: both
				// models are reloaded before they are served.
				for _, s := range stores {
					s.cache.changed(notifyEndpoints)
					s.cache.changed(notifyRefreshes)
					s.cache.listening.Store(true)
				}
				// Only the refresh state (one row, what /readyz needs) is
				// read now; the inventory waits for its first reader, so
				// that decoding it does not compete with the start and its
				// refresh for the CPU.
				for _, s := range stores {
					if _, _, err := s.cachedRefreshState(ctx); err != nil && ctx.Err() == nil {
						logger.Warn("load the inventory's refresh state", "project", s.project, "error", err)
					}
				}
			},
			Notified: func(ctx context.Context, payload string) {
				what, project, all := notificationOf(payload)
				for _, s := range stores {
					if all || s.project == project {
						s.cache.changed(what)
						s.warm(ctx, logger)
					}
				}
			},
			Lost: func() {
				for _, s := range stores {
					s.cache.listening.Store(false)
				}
			},
		})
}

// warm loads whatever model is out of date, so that a request need not:
// the refresh state first (one row; /readyz needs it), then the inventory.
func (s *Store) warm(ctx context.Context, logger *slog.Logger) {
	if _, _, err := s.cachedRefreshState(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("load the inventory's refresh state", "project", s.project, "error", err)
	}
	if _, err := s.inventoryModel(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("load the inventory's read model", "project", s.project, "error", err)
	}
}

// inventoryModel returns the current read model, loading it when a change
// was seen since the last load; nil (and no error) while no LISTEN is held:
// the caller reads the database.
func (s *Store) inventoryModel(ctx context.Context) (*inventoryModel, error) {
	c := &s.cache
	if !c.listening.Load() {
		return nil, nil
	}
	if m := c.model.Load(); m != nil && m.gen == c.endpointsGen.Load() {
		return m, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The generation is read before the rows: a change committed during the
	// load bumps it again, and the next read loads once more.
	gen := c.endpointsGen.Load()
	if m := c.model.Load(); m != nil && m.gen == gen {
		return m, nil
	}
	// The old model is let go before the new one is read, so that a
	// replica holds one inventory at a time, not two (peak memory during a
	// refresh); readers wait on mu meanwhile.
	sizeHint := 0
	if old := c.model.Swap(nil); old != nil {
		sizeHint = len(old.rows)
	}
	m, err := s.loadInventoryModel(ctx, sizeHint)
	if err != nil {
		return nil, err
	}
	m.gen = gen
	c.model.Store(m)
	return m, nil
}

// loadInventoryModel reads the project's whole inventory, in the list's
// order, one row at a time (no second copy of the result set is held).
func (s *Store) loadInventoryModel(ctx context.Context, sizeHint int) (*inventoryModel, error) {
	started := time.Now()
	rows, err := s.pool.Query(ctx, `
		SELECT e.service_type, e.status, e.vpc_id, e.search_text, coalesce(v.drift_entry_id, 0), d.started_at, b.body
		FROM inventory_endpoints e JOIN inventory_endpoint_bodies b USING (id)
			LEFT JOIN endpoint_versions v ON v.endpoint_id = e.id
			LEFT JOIN audit_entries d ON d.id = v.drift_entry_id
		WHERE e.project = $1
		ORDER BY e.service_name, e.id`, s.project)
	if err != nil {
		return nil, fmt.Errorf("store: load inventory: %w", err)
	}
	defer rows.Close()
	m := &inventoryModel{rows: make([]modelRow, 0, sizeHint)}
	vpcs, statuses := map[string]struct{}{}, map[string]struct{}{}
	m.drifts, m.driftSeen = map[string]int64{}, map[int64]time.Time{}
	var body []byte
	var seen *time.Time
	for rows.Next() {
		m.rows = append(m.rows, modelRow{}) // decoded in place: a row holds atomics, not to be copied
		r := &m.rows[len(m.rows)-1]
		if err := rows.Scan(&r.serviceType, &r.status, &r.vpcID, &r.searchText, &r.driftEntry, &seen, &body); err != nil {
			return nil, fmt.Errorf("store: load inventory: %w", err)
		}
		if err := json.Unmarshal(body, &r.endpoint); err != nil {
			return nil, fmt.Errorf("store: load inventory: %w", err)
		}
		vpcs[r.vpcID], statuses[r.status] = struct{}{}, struct{}{}
		if r.driftEntry != 0 {
			m.drifts[r.endpoint.ID] = r.driftEntry
			if seen != nil {
				m.driftSeen[r.driftEntry] = seen.UTC()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load inventory: %w", err)
	}
	m.facets = InventoryFacets{VpcIDs: sortedKeys(vpcs), Statuses: sortedKeys(statuses)}
	m.loadDur = time.Since(started)
	return m, nil
}

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out) // byte-wise, as ORDER BY on the "C" columns
	return out
}

// matcher is f as a test of a row, as inventoryWhere's SQL would match it.
func matcher(f InventoryFilter) func(*modelRow) bool {
	search := strings.ToLower(f.Search)
	return func(r *modelRow) bool {
		return (f.Type == "" || r.serviceType == f.Type) &&
			(f.Status == "" || r.status == f.Status) &&
			(f.VpcID == "" || r.vpcID == f.VpcID) &&
			(!f.Drifted || r.driftEntry != 0) &&
			(search == "" || strings.Contains(r.searchText, search))
	}
}

// page is ListInventory over the model.
func (m *inventoryModel) page(f InventoryFilter) InventoryPage {
	perPage := max(f.PerPage, 1)
	skip := (max(f.Page, 1) - 1) * perPage
	var out InventoryPage
	if f.Type == "" && f.Status == "" && f.VpcID == "" && f.Search == "" && !f.Drifted {
		out.Total = len(m.rows)
		out.Endpoints, out.Renderings = m.endpoints(m.rows[min(skip, len(m.rows)):min(skip+perPage, len(m.rows))])
		return out
	}
	match := matcher(f)
	out.Endpoints = []vpcep.Endpoint{}
	for i := range m.rows {
		if !match(&m.rows[i]) {
			continue
		}
		if out.Total >= skip && out.Total < skip+perPage {
			out.Endpoints = append(out.Endpoints, m.rows[i].endpoint)
			out.Renderings = append(out.Renderings, &m.rows[i].renderings)
		}
		out.Total++
	}
	return out
}

// after is ListInventoryAfter over the model: up to limit matches after
// (name, id), and whether more follow.
func (m *inventoryModel) after(f InventoryFilter, name, id string, limit int) ([]vpcep.Endpoint, bool) {
	eps, _, more := m.afterRows(f, name, id, limit)
	return eps, more
}

// afterRows is after with each endpoint's Renderings.
func (m *inventoryModel) afterRows(f InventoryFilter, name, id string, limit int) ([]vpcep.Endpoint, []*Renderings, bool) {
	start := 0
	if name != "" || id != "" {
		start = sort.Search(len(m.rows), func(i int) bool {
			e := &m.rows[i].endpoint
			return e.ServiceName > name || (e.ServiceName == name && e.ID > id)
		})
	}
	match := matcher(f)
	out := []vpcep.Endpoint{}
	var renderings []*Renderings
	for i := start; i < len(m.rows); i++ {
		if !match(&m.rows[i]) {
			continue
		}
		if len(out) == limit {
			return out, renderings, true
		}
		out = append(out, m.rows[i].endpoint)
		renderings = append(renderings, &m.rows[i].renderings)
	}
	return out, renderings, false
}

// endpoints copies rows' endpoints (their slices still shared: read-only),
// with their Renderings.
func (m *inventoryModel) endpoints(rows []modelRow) ([]vpcep.Endpoint, []*Renderings) {
	out := make([]vpcep.Endpoint, len(rows))
	renderings := make([]*Renderings, len(rows))
	for i := range rows {
		out[i] = rows[i].endpoint
		renderings[i] = &rows[i].renderings
	}
	return out, renderings
}

// ListInventoryRowsAfter is ListInventoryAfter with each endpoint's
// Renderings beside it (nil ones when the page was read from the database),
// so that the API can reuse each endpoint's JSON.
func (s *Store) ListInventoryRowsAfter(ctx context.Context, f InventoryFilter, cursor string, limit int) ([]vpcep.Endpoint, []*Renderings, string, error) {
	m, err := s.inventoryModel(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	if m == nil {
		eps, next, err := s.ListInventoryAfter(ctx, f, cursor, limit)
		return eps, make([]*Renderings, len(eps)), next, err
	}
	var name, id string
	if cursor != "" {
		if name, id, err = decodeInventoryCursor(cursor); err != nil {
			return nil, nil, "", err
		}
	}
	eps, renderings, more := m.afterRows(f, name, id, limit)
	next := ""
	if more && limit > 0 {
		next = inventoryCursor(&eps[limit-1])
	}
	return eps, renderings, next, nil
}

// inventoryCursor is the cursor of the page after ep, as ListInventoryAfter
// makes it.
func inventoryCursor(ep *vpcep.Endpoint) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ep.ServiceName + "\x00" + ep.ID))
}

// cachedRefreshState is RefreshState from memory when current; ok=false
// while no LISTEN is held.
func (s *Store) cachedRefreshState(ctx context.Context) (RefreshState, bool, error) {
	c := &s.cache
	if !c.listening.Load() {
		return RefreshState{}, false, nil
	}
	if st := c.states.Load(); st != nil && st.gen == c.refreshesGen.Load() {
		return st.state, true, nil
	}
	gen := c.refreshesGen.Load()
	state, err := s.readRefreshState(ctx)
	if err != nil {
		return RefreshState{}, false, err
	}
	c.states.Store(&cachedRefreshState{gen: gen, state: state})
	return state, true, nil
}

// InventoryInMemory reports whether the inventory is read from memory now:
// a LISTEN is held, so the read model is known to be current.
func (s *Store) InventoryInMemory() bool { return s.cache.listening.Load() }

// Drifts are the project's endpoints with an open drift (a change made
// outside the console that nobody adopted or reverted yet), each with its
// drift entry:
// one map per request, so the list badges its rows without a query per row.
// From the read model when it is current, else from the database.
func (s *Store) Drifts(ctx context.Context) (map[string]int64, error) {
	m, err := s.inventoryModel(ctx)
	if err != nil {
		return nil, err
	}
	if m != nil {
		return m.drifts, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT v.endpoint_id, v.drift_entry_id
		FROM endpoint_versions v JOIN inventory_endpoints e ON e.id = v.endpoint_id
		WHERE v.drift_entry_id IS NOT NULL AND e.project = $1`, s.project)
	if err != nil {
		return nil, fmt.Errorf("store: drifted endpoints: %w", err)
	}
	out := map[string]int64{}
	var id string
	var entry int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &entry}, func() error { out[id] = entry; return nil }); err != nil {
		return nil, fmt.Errorf("store: drifted endpoints: %w", err)
	}
	return out, nil
}

// DriftSeen is when each of the drift entries ids was recorded (ids not
// found are left out): from the read model when it is current, else one
// indexed read.
func (s *Store) DriftSeen(ctx context.Context, ids []int64) (map[int64]time.Time, error) {
	m, err := s.inventoryModel(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]time.Time, len(ids))
	if m != nil {
		for _, id := range ids {
			if at, ok := m.driftSeen[id]; ok {
				out[id] = at
			}
		}
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, started_at FROM audit_entries WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("store: when drifts were seen: %w", err)
	}
	var id int64
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { out[id] = at.UTC(); return nil }); err != nil {
		return nil, fmt.Errorf("store: when drifts were seen: %w", err)
	}
	return out, nil
}

// InventoryChanged makes this replica's next read load the read model
// again: a write of another package (the drift detector's state rows,
// which carry the drift flag) changed what it holds. Every replica is told
// by the database's notification too.
func (s *Store) InventoryChanged() { s.cache.changed(notifyEndpoints) }

package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/pglock"
	"github.com/vpcep-console/vpcep-console/internal/policy"
	"github.com/vpcep-console/vpcep-console/internal/sqlwhere"
	"github.com/vpcep-console/vpcep-console/internal/unsynced"
	"github.com/vpcep-console/vpcep-console/internal/vpcep"
)

// InventoryFilter selects and pages the inventory. Empty fields match all.
type InventoryFilter struct {
	Type    string // service type: gateway | interface
	Status  string
	VpcID   string
	Search  string // substring of service name or endpoint id, case-insensitive
	Drifted bool   // only endpoints with an open drift (internal/drift)
	Page    int    // 1-based
	PerPage int
}

// InventoryPage is one page of the inventory.
type InventoryPage struct {
	Endpoints  []vpcep.Endpoint
	Total      int           // matches over all pages
	Renderings []*Renderings // beside Endpoints when read from memory; none from the database
}

// EndpointPages yields a list of endpoints one page at a time: each call
// returns the next page, and an empty one at the end.
type EndpointPages func(ctx context.Context) ([]vpcep.Endpoint, error)

// ReplaceInventory makes the inventory exactly endpoints (see
// ReplaceInventoryFrom).
func (s *Store) ReplaceInventory(ctx context.Context, endpoints []vpcep.Endpoint, refreshedAt time.Time) error {
	given := false
	_, err := s.ReplaceInventoryFrom(ctx, func(context.Context) ([]vpcep.Endpoint, error) {
		if given {
			return nil, nil
		}
		given = true
		return endpoints, nil
	}, refreshedAt)
	return err
}

// ReplaceInventoryFrom makes the inventory exactly the endpoints next
// yields, and returns how many it stored. Each page is copied into a
// staging table of this session as soon as it arrives, so that only one
// page is held in memory, never the whole list; no transaction is open
// while next waits (for the upstream). The inventory itself is then
// replaced in one transaction, so readers see the old list or the new one,
// never a mix, and nothing changes when next fails. Rows whose content did
// not change are left alone, so a steady upstream does not churn the tables
// every minute.
func (s *Store) ReplaceInventoryFrom(ctx context.Context, next EndpointPages, refreshedAt time.Time) (int, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: replace inventory: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS pg_temp.inventory_incoming"); err != nil {
		return 0, fmt.Errorf("store: replace inventory: %w", err)
	}
	if _, err := conn.Exec(ctx, `
		CREATE TEMP TABLE inventory_incoming (
			id text COLLATE "C", service_name text COLLATE "C", service_type text, status text,
			vpc_id text, has_policy boolean, created_at timestamptz, updated_at timestamptz,
			refreshed_at timestamptz, policy_fingerprint text, body jsonb
		)`); err != nil {
		return 0, fmt.Errorf("store: replace inventory: %w", err)
	}
	defer dropIncoming(ctx, conn)
	count, err := stageInventory(ctx, conn, next, refreshedAt)
	if err != nil {
		return count, err
	}
	changed, err := mergeIncoming(ctx, conn, s.project)
	if err != nil || changed == 0 {
		return count, err
	}
	s.cache.changed(notifyEndpoints)
	// Fresh statistics and visibility map right away, rather than whenever
	// autovacuum comes by: the list queries then plan well and count and
	// page with index-only scans. It cannot run inside the transaction.
	// The bodies are only ever read by id: they are vacuumed, not analysed,
	// since sampling them reads nearly every page of every project's bodies
	// (about 1 KiB each) on each project's refresh.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) inventory_endpoints"); err != nil {
		return count, fmt.Errorf("store: vacuum inventory: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM inventory_endpoint_bodies"); err != nil {
		return count, fmt.Errorf("store: vacuum inventory: %w", err)
	}
	return count, nil
}

// dropIncoming drops the staging table before conn goes back to the pool;
// a connection on which that fails is closed instead, so that no other
// caller inherits the table.
func dropIncoming(ctx context.Context, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS pg_temp.inventory_incoming"); err != nil {
		_ = conn.Conn().Close(ctx)
	}
}

// incomingColumns are inventory_incoming's columns, in COPY's order.
var incomingColumns = []string{"id", "service_name", "service_type", "status", "vpc_id",
	"has_policy", "created_at", "updated_at", "refreshed_at", "policy_fingerprint", "body"}

// stageInventory copies every page next yields into inventory_incoming,
// one COPY per page, and returns how many endpoints it copied.
func stageInventory(ctx context.Context, conn *pgxpool.Conn, next EndpointPages, refreshedAt time.Time) (int, error) {
	count := 0
	for {
		page, err := next(ctx)
		if err != nil {
			return count, err
		}
		if len(page) == 0 {
			return count, nil
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"inventory_incoming"}, incomingColumns, incomingRows(page, refreshedAt)); err != nil {
			return count, fmt.Errorf("store: copy inventory: %w", err)
		}
		count += len(page)
	}
}

// incomingRows encodes each endpoint of page as COPY asks for it: the
// bodies of a page are never all held at once.
func incomingRows(page []vpcep.Endpoint, refreshedAt time.Time) pgx.CopyFromSource {
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(page) {
			return nil, nil
		}
		ep := &page[i]
		i++
		body, err := json.Marshal(ep)
		if err != nil {
			return nil, fmt.Errorf("store: encode endpoint %s: %w", ep.ID, err)
		}
		return []any{ep.ID, ep.ServiceName, ep.ServiceType, ep.Status, ep.VpcID,
			ep.HasPolicy(), ep.CreatedAt, ep.UpdatedAt, refreshedAt, policyFingerprint(ep), string(body)}, nil
	})
}

// mergeIncoming makes project's inventory what inventory_incoming holds, in
// one transaction that notifies the replicas when anything changed, and
// returns how many rows changed. Other projects' rows are never touched: an
// id another project's inventory holds already (ids are unique across
// projects, so only a misconfigured simulator repeats one) stays that
// project's, and is not stored for this one.
func mergeIncoming(ctx context.Context, conn *pgxpool.Conn, project string) (int64, error) {
	var changed int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Bodies go with their endpoint (ON DELETE CASCADE).
		tag, err := tx.Exec(ctx, `
			DELETE FROM inventory_endpoints e
			WHERE e.project = $1 AND NOT EXISTS (SELECT 1 FROM inventory_incoming i WHERE i.id = e.id)`, project)
		if err != nil {
			return fmt.Errorf("store: drop vanished endpoints: %w", err)
		}
		changed += tag.RowsAffected()
		tag, err = tx.Exec(ctx, `
			INSERT INTO inventory_endpoints AS e
				(project, id, service_name, service_type, status, vpc_id, has_policy, created_at, updated_at, refreshed_at, policy_fingerprint)
			SELECT $1, id, service_name, service_type, status, vpc_id, has_policy, created_at, updated_at, refreshed_at, policy_fingerprint
			FROM inventory_incoming
			ON CONFLICT (id) DO UPDATE SET
				service_name = EXCLUDED.service_name, service_type = EXCLUDED.service_type,
				status = EXCLUDED.status, vpc_id = EXCLUDED.vpc_id, has_policy = EXCLUDED.has_policy,
				created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
				refreshed_at = EXCLUDED.refreshed_at, policy_fingerprint = EXCLUDED.policy_fingerprint
			WHERE e.project = EXCLUDED.project
				AND (e.service_name, e.service_type, e.status, e.vpc_id, e.has_policy, e.created_at, e.updated_at, e.policy_fingerprint)
				IS DISTINCT FROM (EXCLUDED.service_name, EXCLUDED.service_type, EXCLUDED.status,
					EXCLUDED.vpc_id, EXCLUDED.has_policy, EXCLUDED.created_at, EXCLUDED.updated_at, EXCLUDED.policy_fingerprint)`, project)
		if err != nil {
			return fmt.Errorf("store: upsert inventory: %w", err)
		}
		changed += tag.RowsAffected()
		// Only the bodies of the project's own rows (see above).
		tag, err = tx.Exec(ctx, `
			INSERT INTO inventory_endpoint_bodies AS b (id, body)
			SELECT i.id, i.body FROM inventory_incoming i JOIN inventory_endpoints e ON e.id = i.id AND e.project = $1
			ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body
			WHERE b.body IS DISTINCT FROM EXCLUDED.body`, project)
		if err != nil {
			return fmt.Errorf("store: upsert inventory bodies: %w", err)
		}
		changed += tag.RowsAffected()
		if changed == 0 {
			return nil
		}
		return notify(ctx, tx, notifyEndpoints, project)
	})
	return changed, err
}

// inventoryWhere turns f into conditions over project's rows of
// inventory_endpoints.
func inventoryWhere(project string, f InventoryFilter) *sqlwhere.Where {
	w := &sqlwhere.Where{}
	w.Add("project = $?", project)
	w.Equal("service_type", f.Type)
	w.Equal("status", f.Status)
	w.Equal("vpc_id", f.VpcID)
	if f.Drifted {
		w.Add("id IN (SELECT endpoint_id FROM endpoint_versions WHERE drift_entry_id IS NOT NULL)")
	}
	if f.Search != "" {
		w.Add("search_text LIKE $?", "%"+sqlwhere.EscapeLike(strings.ToLower(f.Search))+"%")
	}
	return w
}

// PutInventoryEndpoint writes one endpoint into the inventory, as read just
// now: after a policy change the list shows it without waiting for the next
// refresh. An endpoint the project's inventory does not know yet is left to
// the refresh.
func (s *Store) PutInventoryEndpoint(ctx context.Context, ep *vpcep.Endpoint) error {
	body, err := json.Marshal(ep)
	if err != nil {
		return fmt.Errorf("store: encode endpoint %s: %w", ep.ID, err)
	}
	// A copy of what the upstream holds, which the next refresh writes
	// again (the change's audit entry, the record that matters, already
	// waited for the disk): one round trip, unsynced. Nothing happens to
	// an endpoint the project's inventory does not hold.
	var written bool
	err = unsynced.Write(ctx, s.pool, func(b *pgx.Batch) {
		b.Queue(`
			WITH row AS (
				UPDATE inventory_endpoints SET service_name = $2, service_type = $3, status = $4, vpc_id = $5,
					has_policy = $6, created_at = $7, updated_at = $8, refreshed_at = now(), policy_fingerprint = $9
				WHERE id = $1 AND project = $10
				RETURNING id),
			body AS (UPDATE inventory_endpoint_bodies SET body = $11 WHERE id IN (SELECT id FROM row))
			SELECT pg_notify($12, $13) FROM row`,
			ep.ID, ep.ServiceName, ep.ServiceType, ep.Status, ep.VpcID, ep.HasPolicy(), ep.CreatedAt, ep.UpdatedAt, policyFingerprint(ep), s.project,
			string(body), inventoryChannel, payloadOf(notifyEndpoints, s.project),
		).Exec(func(tag pgconn.CommandTag) error {
			written = tag.RowsAffected() > 0
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: put endpoint %s: %w", ep.ID, err)
	}
	if written {
		s.cache.changed(notifyEndpoints)
	}
	return nil
}

// ListInventory returns one page of the inventory matching f, ordered by
// service name then id.
func (s *Store) ListInventory(ctx context.Context, f InventoryFilter) (InventoryPage, error) {
	if m, err := s.inventoryModel(ctx); err != nil || m != nil {
		if err != nil {
			return InventoryPage{}, err
		}
		return m.page(f), nil
	}
	w := inventoryWhere(s.project, f)
	perPage := max(f.PerPage, 1)
	page := max(f.Page, 1)

	var out InventoryPage
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM inventory_endpoints "+w.Clause(), w.Args()...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("store: count inventory: %w", err)
	}
	var err error
	out.Endpoints, err = s.inventoryPage(ctx, w, perPage, (page-1)*perPage)
	return out, err
}

// inventoryPage returns the endpoints matching w in the list's order
// (service name, id), limit of them after skipping offset. The page is chosen
// on the narrow table, whose (service_name, id) index serves both the order
// and the keyset condition, and only then are its rows' bodies read.
func (s *Store) inventoryPage(ctx context.Context, w *sqlwhere.Where, limit, offset int) ([]vpcep.Endpoint, error) {
	skip := ""
	if offset > 0 {
		skip = fmt.Sprintf("OFFSET %d", offset)
	}
	// LIMIT and OFFSET are ints written into the SQL rather than bound, so
	// that no cached generic plan has to guess the page size.
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`
		SELECT b.body
		FROM (
			SELECT id, service_name FROM inventory_endpoints %s
			ORDER BY service_name, id
			LIMIT %d %s
		) p
		JOIN inventory_endpoint_bodies b USING (id)
		ORDER BY p.service_name, p.id`, w.Clause(), limit, skip), w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("store: list inventory: %w", err)
	}
	eps, err := pgx.CollectRows(rows, scanBody)
	if err != nil {
		return nil, fmt.Errorf("store: list inventory: %w", err)
	}
	return eps, nil
}

func scanBody(row pgx.CollectableRow) (vpcep.Endpoint, error) {
	var body []byte
	var ep vpcep.Endpoint
	if err := row.Scan(&body); err != nil {
		return ep, err
	}
	return ep, json.Unmarshal(body, &ep)
}

// ErrBadCursor is returned for a cursor that ListInventoryAfter did not make.
var ErrBadCursor = errors.New("store: invalid cursor")

// ListInventoryAfter returns up to limit endpoints matching f after cursor,
// in the list's order (service name, id), and the cursor of the next page
// ("" on the last). It pages by keyset, for the JSON API.
func (s *Store) ListInventoryAfter(ctx context.Context, f InventoryFilter, cursor string, limit int) ([]vpcep.Endpoint, string, error) {
	var name, id string
	if cursor != "" {
		var err error
		if name, id, err = decodeInventoryCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	var eps []vpcep.Endpoint
	var more bool
	if m, err := s.inventoryModel(ctx); err != nil {
		return nil, "", err
	} else if m != nil {
		eps, more = m.after(f, name, id, limit)
	} else {
		w := inventoryWhere(s.project, f)
		if cursor != "" {
			w.Add("(service_name, id) > ($?, $?)", name, id)
		}
		// One more than asked says whether there is a next page.
		if eps, err = s.inventoryPage(ctx, w, limit+1, 0); err != nil {
			return nil, "", err
		}
		if more = len(eps) > limit; more {
			eps = eps[:limit]
		}
	}
	next := ""
	if more && limit > 0 {
		last := eps[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(last.ServiceName + "\x00" + last.ID))
	}
	return eps, next, nil
}

// decodeInventoryCursor splits a cursor ListInventoryAfter made into the
// service name and id it pages after: base64url of the name, a NUL and the
// id, both clean text (valid UTF-8, no control characters), the id at most
// 64 bytes. Anything else is ErrBadCursor.
func decodeInventoryCursor(cursor string) (name, id string, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", "", ErrBadCursor
	}
	name, id, ok := strings.Cut(string(raw), "\x00")
	if !ok || id == "" || len(id) > 64 || !cleanText(name) || !cleanText(id) {
		return "", "", ErrBadCursor
	}
	return name, id, nil
}

// CheckInventoryCursor says, before anything is read, whether cursor ("":
// the first page) can be one ListInventoryAfter made: nil, or ErrBadCursor.
func CheckInventoryCursor(cursor string) error {
	if cursor == "" {
		return nil
	}
	_, _, err := decodeInventoryCursor(cursor)
	return err
}

// cleanText reports whether s is valid UTF-8 without NUL or other control
// characters: text Postgres can store and a cursor of ours can hold.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// InventoryFacets are the distinct values the list filters offer.
type InventoryFacets struct {
	VpcIDs   []string
	Statuses []string
}

// InventoryFacets returns the VPCs and statuses present in the project's
// inventory. Each list is a loose index scan over (project, column): one
// index probe per distinct value, so it costs the same at 10,000 endpoints
// as at 10.
func (s *Store) InventoryFacets(ctx context.Context) (InventoryFacets, error) {
	if m, err := s.inventoryModel(ctx); err != nil || m != nil {
		if err != nil {
			return InventoryFacets{}, err
		}
		return m.facets, nil
	}
	var f InventoryFacets
	distinct := func(column string) ([]string, error) {
		rows, err := s.pool.Query(ctx, strings.ReplaceAll(`
			WITH RECURSIVE v AS (
				(SELECT COL FROM inventory_endpoints WHERE project = $1 ORDER BY COL LIMIT 1)
				UNION ALL
				SELECT (SELECT e.COL FROM inventory_endpoints e WHERE e.project = $1 AND e.COL > v.COL ORDER BY e.COL LIMIT 1)
				FROM v WHERE v.COL IS NOT NULL
			)
			SELECT COL FROM v WHERE COL IS NOT NULL`, "COL", column), s.project)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	var err error
	if f.VpcIDs, err = distinct("vpc_id"); err != nil {
		return f, fmt.Errorf("store: inventory VPCs: %w", err)
	}
	if f.Statuses, err = distinct("status"); err != nil {
		return f, fmt.Errorf("store: inventory statuses: %w", err)
	}
	return f, nil
}

// TryRefreshLock takes a session-level advisory lock so that one replica at
// a time refreshes the project's inventory (other projects' refreshes run
// meanwhile). It returns a release func, or ok=false when another replica
// holds the lock.
func (s *Store) TryRefreshLock(ctx context.Context) (release func(), ok bool, err error) {
	l, ok, err := pglock.TryLock(ctx, s.pool, refreshLockName(s.project))
	if err != nil {
		return nil, false, fmt.Errorf("store: refresh lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	return l.Release, true, nil
}

// refreshLockName names the advisory lock of project's inventory refresh;
// project "" keeps the name from before projects.
func refreshLockName(project string) string {
	if project == "" {
		return "vpcep-inventory-refresh"
	}
	return "vpcep-inventory-refresh:" + project
}

// policyFingerprint is the policy.Fingerprint of ep's policy when it can be
// edited (change.Editable: a gateway whose service takes a
// policy_statement), else nil: what drift detection compares.
func policyFingerprint(ep *vpcep.Endpoint) any {
	if ep.ServiceType != vpcep.ServiceTypeGateway || ep.PolicyStatement == nil {
		return nil
	}
	return policy.Fingerprint(ep.PolicyStatement)
}

// ClaimUnscopedInventory gives the inventory rows and refresh history
// written before projects (project "") to project, the project id of a
// one-project configuration: its list is served at once, not after a
// refresh. With project "" (several projects: whose the rows are is not
// known) they are deleted instead, and each project lists its own. The
// console calls it once at start; with nothing unscoped it changes nothing.
func ClaimUnscopedInventory(ctx context.Context, pool *pgxpool.Pool, project string) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var endpoints, refreshes pgconn.CommandTag
		var err error
		if project == "" {
			if endpoints, err = tx.Exec(ctx, `DELETE FROM inventory_endpoints WHERE project = ''`); err != nil {
				return err
			}
			refreshes, err = tx.Exec(ctx, `DELETE FROM inventory_refreshes WHERE project = ''`)
		} else {
			if endpoints, err = tx.Exec(ctx, `UPDATE inventory_endpoints SET project = $1 WHERE project = ''`, project); err != nil {
				return err
			}
			refreshes, err = tx.Exec(ctx, `UPDATE inventory_refreshes SET project = $1 WHERE project = ''`, project)
		}
		if err != nil {
			return err
		}
		// The read models of both projects ('' and project) reload.
		owners := []string{""}
		if project != "" {
			owners = append(owners, project)
		}
		for _, owner := range owners {
			if endpoints.RowsAffected() > 0 {
				if err := notify(ctx, tx, notifyEndpoints, owner); err != nil {
					return err
				}
			}
			if refreshes.RowsAffected() > 0 {
				if err := notify(ctx, tx, notifyRefreshes, owner); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: claim the inventory from before projects: %w", err)
	}
	return nil
}

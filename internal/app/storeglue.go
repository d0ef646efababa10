package app

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vpcep-console/vpcep-console/internal/store"
)

// claimUnscopedInventory is store.ClaimUnscopedInventory.
//
// TODO(issue 13): call store.ClaimUnscopedInventory(ctx, pool, project)
// once the store has it (helper DATA); until then rows from before
// projects are left as they are.
func claimUnscopedInventory(ctx context.Context, pool *pgxpool.Pool, project string) error {
	return nil
}

// watchInventories keeps every project's inventory read model current
// until ctx ends.
//
// TODO(issue 13): one shared listener (store.WatchInventories) once the
// store has it: this holds one LISTEN connection per project.
func watchInventories(ctx context.Context, logger *slog.Logger, stores []*store.Store) {
	var wg sync.WaitGroup
	for _, st := range stores {
		wg.Go(func() { st.WatchInventory(ctx, logger) })
	}
	wg.Wait()
}

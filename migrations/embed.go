// Package migrations embeds the goose SQL migrations, so the single binary
// carries its schema.
package migrations

import "embed"

// FS holds every migration, named NNNNN_verb_noun.sql.
//
//go:embed *.sql
var FS embed.FS

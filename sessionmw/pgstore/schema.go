package pgstore

import (
	"context"
	_ "embed"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// schemaSQL is the schema, with {table} and {name} for the table.
//
//go:embed schema.sql
var schemaSQL string

// schema returns the statements that create table and its index.
func schema(table string) string {
	name := table[strings.LastIndexByte(table, '.')+1:]
	return strings.NewReplacer("{table}", table, "{name}", name).Replace(schemaSQL)
}

// Migrate creates the Store's table and index unless they exist (see the
// package documentation for the schema). It is idempotent, and safe to
// run from several processes at once: a transaction-scoped advisory lock
// serialises them. It needs the right to create tables in the schema.
func (s *Store) Migrate(ctx context.Context) error {
	where := fmt.Sprintf("sessionmw: pgstore: migrate table %s on %s", s.sql.table, s.addr)
	if s.closed.Load() {
		return s.closedError(where)
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	h := fnv.New64a()
	h.Write([]byte("sessionmw/pgstore " + s.sql.table))
	err := pgx.BeginFunc(octx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(octx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
			return err
		}
		// Several statements in one simple-protocol Exec, in this
		// transaction.
		_, err := tx.Exec(octx, schema(s.sql.table), pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		return s.classify(ctx, where, err)
	}
	return nil
}

// statements are the SQL statements of a Store on one table.
type statements struct {
	table                               string
	load, replace, delta, state, delete string
	subject                             string
	clean                               string
}

func newStatements(table string) statements {
	r := strings.NewReplacer("{table}", table)
	return statements{
		table: table,
		load:  r.Replace(`SELECT keys, vals, meta FROM {table} WHERE id = $1 AND expires > now()`),

		// A live superseded row refuses the update: no row is returned.
		replace: r.Replace(`INSERT INTO {table} AS t (id, keys, vals, meta, subject, successor, created, expires)
VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 microsecond')
ON CONFLICT (id) DO UPDATE SET keys = excluded.keys, vals = excluded.vals, meta = excluded.meta,
	subject = excluded.subject, successor = excluded.successor, created = excluded.created,
	expires = excluded.expires
WHERE t.successor = '' OR t.expires <= now()`),

		// One UPDATE merges the delta into the row as it is when the
		// UPDATE runs (a concurrent Save commits first, then this one
		// re-reads the row): the stored keys minus those the delta names
		// ($2), plus the new ones ($3, $4). keys and vals are filtered
		// alike, in array order, so that they stay paired.
		delta: r.Replace(`UPDATE {table} AS t SET
	keys = ARRAY(SELECT k FROM unnest(t.keys) WITH ORDINALITY AS o(k, i)
		WHERE k <> ALL ($2::bytea[]) ORDER BY i) || $3::bytea[],
	vals = ARRAY(SELECT v FROM unnest(t.keys, t.vals) WITH ORDINALITY AS o(k, v, i)
		WHERE k <> ALL ($2::bytea[]) ORDER BY i) || $4::bytea[],
	meta = $5, subject = $6, successor = $7, created = $8,
	expires = now() + $9 * interval '1 microsecond'
WHERE t.id = $1 AND t.expires > now() AND t.successor = ''`),

		// Why a delta was refused: no row, an expired one, or a
		// superseded one.
		state: r.Replace(`SELECT expires > now(), successor <> '' FROM {table} WHERE id = $1`),

		delete: r.Replace(`DELETE FROM {table} WHERE id = $1`),

		// subject <> '' lets the planner use the partial index.
		subject: r.Replace(`SELECT id, meta FROM {table}
WHERE subject = $1 AND subject <> '' AND expires > now() ORDER BY created, id`),

		// A scan of the table (expires has no index, so that Saves are
		// HOT updates). SKIP LOCKED: rows a Save holds are left for the
		// next batch, and cleaners of several processes share the work.
		clean: r.Replace(`DELETE FROM {table} WHERE id IN (
	SELECT id FROM {table} WHERE expires <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`),
	}
}

package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
)

// schemaSQL creates the tables and indexes unless they exist.
//
//go:embed schema.sql
var schemaSQL string

// statements are the Store's prepared statements: SQLite parses each once
// per connection instead of once per call. Times are Unix nanoseconds.
type statements struct {
	// On the readers. ?2 is now.
	load    *sql.Stmt
	subject *sql.Stmt
	// On the writer.
	state, upsert, dropValues, dropValue, setValue, delete, clean *sql.Stmt
}

func prepare(ctx context.Context, write, read *sql.DB) (statements, error) {
	var st statements
	var errs []error
	p := func(db *sql.DB, q string) *sql.Stmt {
		stmt, err := db.PrepareContext(ctx, q)
		errs = append(errs, err)
		return stmt
	}
	st.load = p(read, `SELECT s.meta, v.id IS NOT NULL, v.key, v.value FROM sessions AS s
LEFT JOIN session_values AS v ON v.id = s.id
WHERE s.id = ?1 AND s.expires > ?2`)
	st.subject = p(read, `SELECT id, meta FROM sessions
WHERE subject = ?1 AND subject <> '' AND expires > ?2 ORDER BY created, id`)
	st.state = p(write, `SELECT expires, successor FROM sessions WHERE id = ?`)
	st.upsert = p(write, `INSERT INTO sessions (id, meta, subject, successor, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (id) DO UPDATE SET meta = excluded.meta, subject = excluded.subject,
	successor = excluded.successor, created = excluded.created, expires = excluded.expires`)
	st.dropValues = p(write, `DELETE FROM session_values WHERE id = ?`)
	st.dropValue = p(write, `DELETE FROM session_values WHERE id = ? AND key = ?`)
	st.setValue = p(write, `INSERT INTO session_values (id, key, value) VALUES (?1, ?2, ?3)
ON CONFLICT (id, key) DO UPDATE SET value = excluded.value`)
	// Values go with their session (ON DELETE CASCADE).
	st.delete = p(write, `DELETE FROM sessions WHERE id = ?`)
	// ?1 is now, ?2 the batch.
	st.clean = p(write, `DELETE FROM sessions WHERE id IN (
	SELECT id FROM sessions WHERE expires <= ?1 ORDER BY expires LIMIT ?2)`)
	if err := errors.Join(errs...); err != nil {
		st.close()
		return statements{}, err
	}
	return st, nil
}

func (st statements) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{st.load, st.subject, st.state, st.upsert, st.dropValues, st.dropValue, st.setValue, st.delete, st.clean} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

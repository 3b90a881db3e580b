-- The schema of sqlitestore, applied by New. Every statement is
-- idempotent. Times are Unix nanoseconds.
CREATE TABLE IF NOT EXISTS sessions (
	id        TEXT PRIMARY KEY,
	meta      TEXT NOT NULL,
	subject   TEXT NOT NULL,
	successor TEXT NOT NULL,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_values (
	id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	key   BLOB NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires);
CREATE INDEX IF NOT EXISTS sessions_subject_idx ON sessions (subject, created, id) WHERE subject <> '';

// Package sqlitestore keeps sessionmw sessions in one SQLite file, through
// the pure-Go driver modernc.org/sqlite (no cgo). It is meant for
// applications that run on one machine: the sessions survive a restart of
// the process without a database server. It implements [sessionmw.Store]
// and [sessionmw.SubjectIndex], and passes the conformance suite in
// package sessionmw/storetest.
//
//	store, err := sqlitestore.New("/var/lib/app/sessions.db")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	mw, err := sessionmw.New(secret, sessionmw.WithStore(store))
//
// # Schema
//
// [New] creates the file if need be, puts it in WAL mode (which lasts)
// and creates this schema unless it exists (the package embeds it as
// schema.sql; every statement is idempotent):
//
//	CREATE TABLE IF NOT EXISTS sessions (
//		id        TEXT PRIMARY KEY,
//		meta      TEXT NOT NULL,
//		subject   TEXT NOT NULL,
//		successor TEXT NOT NULL,
//		created   INTEGER NOT NULL,
//		expires   INTEGER NOT NULL
//	) WITHOUT ROWID;
//	CREATE TABLE IF NOT EXISTS session_values (
//		id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
//		key   BLOB NOT NULL,
//		value BLOB NOT NULL,
//		PRIMARY KEY (id, key)
//	) WITHOUT ROWID;
//	CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires);
//	CREATE INDEX IF NOT EXISTS sessions_subject_idx ON sessions (subject, created, id) WHERE subject <> '';
//
// A session is one row of sessions and one row of session_values per
// application value (its key, and its value as encoded by the codec,
// [sessionmw.GobCodec] unless [WithCodec] says otherwise). meta holds the
// middleware's [sessionmw.Meta] as JSON, every exported field by name, so
// that fields a later version adds are kept without a migration; subject,
// successor and created repeat Meta.Subject, Meta.Successor and
// Meta.Created for the index and the conditions. expires is in Unix
// nanoseconds by this machine's clock. Ids, keys and subjects are kept
// byte for byte; JSON cannot hold invalid UTF-8, so Save refuses metadata
// holding such a string rather than store it altered.
//
// # Concurrency and durability
//
// Each Store writes through one connection, so its writes take turns in
// the process without contending for SQLite's lock, and reads through a
// few others ([DefaultReaders], [WithReaders]), which in WAL mode never
// wait for the writer. A Save is one write transaction begun with BEGIN
// IMMEDIATE: it reads the session's expiry and successor and applies the
// update (a delta deletes and upserts only the keys it names, keeping
// every other one as stored now), so two requests that change different
// keys of one session both persist. Several Stores, in one process or
// several, may share a file: a writer that finds the file locked waits
// for it up to the timeout (SQLite's busy_timeout), then fails with
// [sessionmw.ErrStoreUnavailable].
//
// A delta on a missing or expired session changes nothing and returns an
// error wrapping [sessionmw.ErrNotFound]; a Save on a live superseded
// session changes nothing and returns one wrapping
// [sessionmw.ErrSuperseded]. The check and the write are one transaction,
// so marking a successor is a compare-and-set.
//
// The file is written with synchronous=NORMAL: a Save that returned
// survives the process being killed (the write-ahead log is in the
// operating system's cache by then), but a crash of the operating system
// or a power cut may lose the last ones (never corrupting the file).
//
// # Expiry
//
// Load and SubjectSessions never return a session whose expiry has
// passed. A background goroutine (every [DefaultCleanupInterval], or
// [WithCleanupInterval]) deletes expired sessions in transactions of at
// most [DefaultCleanupBatch] ([WithCleanupBatch]), so that other writers
// get the lock in between; Close stops it.
//
// # Errors
//
// Errors name the operation, the file and a fingerprint of the session id
// or subject (the first 8 hex digits of its SHA-256), never the id or
// subject itself. Every call runs under context.WithTimeout with the
// per-operation timeout ([DefaultTimeout], [WithTimeout]). A timeout, a
// file locked beyond it, or a failing disk gives an error wrapping
// [sessionmw.ErrStoreUnavailable]; a full disk [sessionmw.ErrStoreFull]; a
// Store used after Close [sessionmw.ErrStoreClosed]. When the caller's
// context is canceled, the error wraps context.Canceled and not
// ErrStoreUnavailable.
package sqlitestore

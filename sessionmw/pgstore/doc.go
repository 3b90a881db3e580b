// Package pgstore keeps sessionmw sessions in PostgreSQL, through the pgx
// driver and its pool (github.com/jackc/pgx/v5/pgxpool). It implements
// [sessionmw.Store] and [sessionmw.SubjectIndex], and passes the
// conformance suite in package sessionmw/storetest.
//
//	store, err := pgstore.New(ctx, "postgres://app@db.example.com/app")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil { // idempotent
//		return err
//	}
//	mw, err := sessionmw.New(secret, sessionmw.WithStore(store))
//
// [New] takes a connection string and owns its pool; [NewFromPool] takes
// a pool the caller configured and keeps owning.
//
// # Schema
//
// Each session is one row of one table ([DefaultTable] unless [WithTable]
// says otherwise), which [Store.Migrate] creates with this SQL (embedded
// in the package as schema.sql; every statement is idempotent, and
// concurrent Migrates are serialised by an advisory lock):
//
//	CREATE TABLE IF NOT EXISTS sessionmw_sessions (
//		id        text COLLATE "C" PRIMARY KEY,
//		keys      bytea[] NOT NULL,
//		vals      bytea[] NOT NULL,
//		meta      json NOT NULL,
//		subject   text COLLATE "C" NOT NULL,
//		successor text COLLATE "C" NOT NULL,
//		created   bigint NOT NULL,
//		expires   timestamptz NOT NULL
//	) WITH (fillfactor = 80);
//	CREATE INDEX IF NOT EXISTS sessionmw_sessions_subject_idx ON sessionmw_sessions (subject, created, id) WHERE subject <> '';
//
// keys and vals hold the application's values: the i-th key (its bytes,
// whatever they are) and the i-th value as encoded by the codec
// ([sessionmw.GobCodec] unless [WithCodec] says otherwise). meta holds the
// middleware's [sessionmw.Meta] as JSON, every exported field by name, so
// that fields a later version adds are kept without a migration; subject,
// successor and created repeat Meta.Subject, Meta.Successor and
// Meta.Created for the index and for the statements' conditions. expires
// is set from the server's clock (now() plus the TTL), so that
// application servers whose clocks differ agree on it. The C collation
// makes comparisons of ids bytewise (and cheaper than a locale's).
//
// Every Save moves expires, so expires has no index: an index on it would
// make every Save insert new entries in every index of the table. Without
// one, and with pages left 20% free (fillfactor), a Save that keeps the
// session's subject is a heap-only (HOT) update, which touches no index
// and leaves no dead index entries behind. The price is that the cleaner
// (below) finds expired rows by scanning the table.
//
// Ids, subjects and successors are text: valid UTF-8 without NUL, as
// every id the middleware makes is. Load, Delete and SubjectSessions
// treat one that is not as unknown; Save refuses it. JSON cannot hold
// invalid UTF-8 either: Save refuses metadata holding such a string,
// rather than store it altered.
//
// # Atomic writes and no lost updates
//
// Every operation is one statement, one round trip with pgx's cached
// prepared statements (Load one SELECT, Save one INSERT or UPDATE, Delete
// one DELETE), so a request that reads and writes its session costs two:
//
//   - a replacement (Update.Replace) is INSERT … ON CONFLICT (id) DO
//     UPDATE, whose update applies unless the row is live and superseded;
//   - a delta is one UPDATE of a live, not superseded row, which computes
//     the new values on the server from the row as it is when the UPDATE
//     runs: the stored keys minus the ones the delta sets or deletes, plus
//     the ones it sets. PostgreSQL makes a concurrent UPDATE of the row
//     wait for this one to commit and then re-read it, so two requests that
//     change different keys of one session at the same time both persist;
//     two that change the same key race, and the last write wins.
//
// A delta on a row that is missing or has expired changes nothing and
// returns an error wrapping [sessionmw.ErrNotFound]. A Save on a live row
// whose successor is set changes nothing and returns an error wrapping
// [sessionmw.ErrSuperseded]; since the check and the write are one atomic
// statement, of several concurrent Saves that set a successor exactly one
// succeeds. A refused delta takes a second round trip, a SELECT that
// tells the two errors apart; the middleware loads a session just before
// it saves it, so that is rare.
//
// # Expiry
//
// Load and SubjectSessions never return a row whose expires has passed,
// whether or not it has been deleted yet. A background goroutine started
// by New (every [DefaultCleanupInterval], or [WithCleanupInterval]) deletes
// expired rows in batches of at most [DefaultCleanupBatch] ([WithCleanupBatch])
// rows per statement, each bounded by the timeout, until a batch is
// short. Each batch scans the table until it has found its rows (there is
// no index on expires, see above), so a round over a table without
// expired rows reads it once. It skips rows a Save holds locked, so it
// never waits on the application's traffic, and cleaners of several
// processes on one table share the work. Close stops it.
//
// # Sessions by subject
//
// [Store.SubjectSessions] lists a subject's live sessions, oldest first,
// with one SELECT on the partial index over subject (anonymous sessions,
// whose subject is empty, are not in it). The index is part of the
// table, so it is always exact: a Save that changes a session's subject,
// a Delete and the cleaner update it in the same statement. Expired rows
// in it are skipped by the query.
//
// # Errors
//
// Errors name the operation, the server's host:port and a fingerprint of
// the session id or subject (the first 8 hex digits of its SHA-256), never
// the id or subject itself and never the password. Every call runs under
// context.WithTimeout with the per-operation timeout ([DefaultTimeout], or
// [WithTimeout]). A server that cannot be reached, a lost connection, a
// timeout, or a server error meaning "not now" (too many connections,
// shutting down, starting up, out of memory, a standby, a canceled
// statement, a lock or deadlock timeout) gives an error wrapping
// [sessionmw.ErrStoreUnavailable] together with the underlying error, so
// errors.Is works for both; a full disk gives [sessionmw.ErrStoreFull]; a
// Store used after Close gives [sessionmw.ErrStoreClosed]. When the
// caller's context is canceled, the error wraps context.Canceled and not
// ErrStoreUnavailable. Data that does not decode makes Load return an
// error, and is left as it is.
//
// The pool reconnects by itself: once a stopped server is back, calls
// succeed again without a new Store (a connection idle for more than a
// second is pinged before use, so one broken by a restart is replaced).
package pgstore

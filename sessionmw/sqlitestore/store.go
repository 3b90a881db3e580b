package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/internal/sqlstore"
)

// setupTimeout bounds New's schema creation at the least.
const setupTimeout = 10 * time.Second

// Store is a sessionmw.Store and sessionmw.SubjectIndex that keeps
// sessions in one SQLite file. It is safe for concurrent use; several
// Stores, in one process or several, may share a file. Create it with New
// and Close it when done.
type Store struct {
	path    string
	write   *sql.DB // one connection: writers take turns in the process
	read    *sql.DB // readers, which in WAL mode never wait for the writer
	timeout time.Duration
	codec   sessionmw.Codec
	batch   int
	logger  *slog.Logger
	stmt    statements
	closed  atomic.Bool

	stop    context.CancelFunc // stops the cleaner
	cleaner sync.WaitGroup
}

var (
	_ sessionmw.Store        = (*Store)(nil)
	_ sessionmw.SubjectIndex = (*Store)(nil)
)

// New opens the SQLite database file at path, creating it (but not its
// directory) if need be, and creates the schema unless it exists (see the
// package documentation). The file is put in WAL mode, which lasts.
//
// path is a file name, not a URI; ":memory:" is refused, since the Store
// opens the file more than once (one writer, several readers). Errors
// name the path and the option at fault.
func New(path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sessionmw: sqlitestore: New: %q: want the path of a file", path)
	}
	s := &Store{path: path, timeout: cfg.timeout, codec: cfg.codec, batch: cfg.batch, logger: cfg.logger}
	busy := strconv.FormatInt(cfg.timeout.Milliseconds(), 10)
	// synchronous=NORMAL in WAL mode: a commit survives a crash of the
	// process (the write-ahead log is in the OS's cache), not one of the
	// OS or the power, which may lose the last commits but never
	// corrupts the file.
	common := "_pragma=busy_timeout(" + busy + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
	// BEGIN IMMEDIATE: a write transaction takes the write lock at once,
	// so that it waits (busy_timeout) rather than failing when it
	// upgrades a read lock another process's writer has overtaken.
	if s.write, err = open(path, common+"&_txlock=immediate", 1); err != nil {
		return nil, err
	}
	if s.read, err = open(path, common+"&_pragma=query_only(1)", cfg.readers); err != nil {
		s.write.Close()
		return nil, err
	}
	// Creating the schema and preparing statements happens once, at
	// start-up (on a cold disk, under load): it gets more than one
	// operation's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), max(cfg.timeout, setupTimeout))
	defer cancel()
	if _, err := s.write.ExecContext(ctx, schemaSQL); err != nil {
		s.write.Close()
		s.read.Close()
		return nil, s.classify(ctx, "sessionmw: sqlitestore: New: create the schema in "+path, err)
	}
	if s.stmt, err = prepare(ctx, s.write, s.read); err != nil {
		s.write.Close()
		s.read.Close()
		return nil, s.classify(ctx, "sessionmw: sqlitestore: New: prepare statements on "+path, err)
	}
	cctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if cfg.interval > 0 {
		s.cleaner.Go(func() { s.clean(cctx, cfg.interval) })
	}
	return s, nil
}

// open returns a pool of at most conns connections to path.
func open(path, query string, conns int) (*sql.DB, error) {
	// The driver splits its DSN at the first "?": escape the path's own.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	db, err := sql.Open("sqlite", "file:"+escaped+"?"+query)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: sqlitestore: New: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// Close stops the background cleaner and closes the file: later calls
// return an error wrapping sessionmw.ErrStoreClosed. Close is idempotent
// and returns the error of closing the file, if any, the first time.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	s.cleaner.Wait()
	return errors.Join(s.stmt.close(), s.read.Close(), s.write.Close())
}

func (s *Store) closedError(where string) error {
	return fmt.Errorf("%s: %w", where, sessionmw.ErrStoreClosed)
}

// Load implements sessionmw.Store with one SELECT of the session and its
// values, unless it has expired. Values that do not decode give an error,
// and are left as they are.
func (s *Store) Load(ctx context.Context, id string) (*sessionmw.Record, error) {
	if s.closed.Load() {
		return nil, s.closedError(s.where("load", id))
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rows, err := s.stmt.load.QueryContext(octx, id, time.Now().UnixNano())
	if err != nil {
		return nil, s.classify(ctx, s.where("load", id), err)
	}
	defer rows.Close()
	var rec *sessionmw.Record
	for rows.Next() {
		var meta string
		var hasValue bool // false: a session without values
		var key, value []byte
		if err := rows.Scan(&meta, &hasValue, &key, &value); err != nil {
			return nil, s.classify(ctx, s.where("load", id), err)
		}
		if rec == nil {
			rec = &sessionmw.Record{}
			if rec.Meta, err = sqlstore.DecodeMeta([]byte(meta)); err != nil {
				return nil, fmt.Errorf("%s: decode metadata: %w", s.where("load", id), err)
			}
		}
		if !hasValue {
			continue
		}
		v, err := s.codec.Decode(value)
		if err != nil {
			return nil, fmt.Errorf("%s: decode value %q: %w", s.where("load", id), key, err)
		}
		rec.Values = append(rec.Values, sessionmw.Entry{Key: string(key), Value: v})
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(ctx, s.where("load", id), err)
	}
	return rec, nil
}

// Save implements sessionmw.Store in one write transaction (BEGIN
// IMMEDIATE): it reads the session's expiry and successor, then applies
// u. A delta on a missing or expired session returns an error wrapping
// sessionmw.ErrNotFound, a Save on a live superseded session one wrapping
// sessionmw.ErrSuperseded; neither changes anything. A TTL that is not
// positive is an error.
func (s *Store) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	where := s.where("save", id)
	if s.closed.Load() {
		return s.closedError(where)
	}
	if ttl <= 0 {
		return fmt.Errorf("%s: non-positive TTL %v", where, ttl)
	}
	meta, err := sqlstore.EncodeMeta(u.Meta)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	type kv struct{ key, value []byte }
	set := make([]kv, 0, len(u.Set))
	for _, e := range u.Set {
		if slices.Contains(u.Delete, e.Key) {
			continue // as in sessionmw.Merge, a deletion wins
		}
		b, err := s.codec.Encode(e.Value)
		if err != nil {
			return fmt.Errorf("%s: encode value %q: %w", where, e.Key, err)
		}
		set = append(set, kv{[]byte(e.Key), b})
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := time.Now().UnixNano()
	expires := now + int64(ttl)
	if expires < now { // overflow: as good as never
		expires = math.MaxInt64
	}
	refused, err := s.inTx(octx, func(tx *sql.Tx) (error, error) {
		var liveUntil int64
		var successor string
		err := tx.StmtContext(octx, s.stmt.state).QueryRowContext(octx, id).Scan(&liveUntil, &successor)
		live := err == nil && liveUntil > now
		switch {
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return nil, err
		case live && successor != "":
			return sessionmw.ErrSuperseded, nil
		case !live && !u.Replace:
			return sessionmw.ErrNotFound, nil
		}
		if _, err := tx.StmtContext(octx, s.stmt.upsert).ExecContext(octx, id, meta, u.Meta.Subject, u.Meta.Successor, u.Meta.Created, expires); err != nil {
			return nil, err
		}
		drop := u.Delete
		if u.Replace || !live {
			drop = nil
			if _, err := tx.StmtContext(octx, s.stmt.dropValues).ExecContext(octx, id); err != nil {
				return nil, err
			}
		}
		for _, k := range drop {
			if _, err := tx.StmtContext(octx, s.stmt.dropValue).ExecContext(octx, id, []byte(k)); err != nil {
				return nil, err
			}
		}
		for _, e := range set {
			if _, err := tx.StmtContext(octx, s.stmt.setValue).ExecContext(octx, id, e.key, e.value); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if err != nil {
		return s.classify(ctx, where, err)
	}
	if refused != nil {
		return fmt.Errorf("%s: %w", where, refused)
	}
	return nil
}

// inTx runs f in a write transaction, committed unless f returns an
// error or refuses (then rolled back, and the refusal returned).
func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) (refused, err error)) (error, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	refused, err := f(tx)
	if err != nil || refused != nil {
		return refused, errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return nil, tx.Commit()
}

// ignoreDone drops the error of a rollback the driver already made (after
// a canceled context).
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Delete implements sessionmw.Store with one DELETE; the session's values
// go with it (ON DELETE CASCADE).
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return s.closedError(s.where("delete", id))
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.stmt.delete.ExecContext(octx, id); err != nil {
		return s.classify(ctx, s.where("delete", id), err)
	}
	return nil
}

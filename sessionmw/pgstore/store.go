package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/internal/sqlstore"
)

// Store is a sessionmw.Store and sessionmw.SubjectIndex that keeps each
// session as one row of a PostgreSQL table. It is safe for concurrent use,
// by any number of Stores in any number of processes on one table. Create
// it with New or NewFromPool, create its table with Migrate, and Close it
// when done.
type Store struct {
	pool    *pgxpool.Pool
	own     bool   // the Store created pool and closes it
	addr    string // host:port for error messages, never a connection string
	timeout time.Duration
	codec   sessionmw.Codec
	batch   int
	logger  *slog.Logger
	sql     statements
	closed  atomic.Bool

	stop    context.CancelFunc // stops the cleaner
	cleaner sync.WaitGroup
}

var (
	_ sessionmw.Store        = (*Store)(nil)
	_ sessionmw.SubjectIndex = (*Store)(nil)
)

// New connects to the server that connString names and checks that it
// answers. connString is a URL or keyword/value string as understood by
// pgxpool.ParseConfig, for example
//
//	postgres://app:password@db.example.com:5432/app?sslmode=verify-full
//	postgres://app@localhost/app?pool_max_conns=20
//
// The pool's own settings (pool_max_conns, …) come from connString. The
// connect timeout defaults to the per-operation timeout. ctx bounds the
// first connection. Errors never contain the password. A server that
// cannot be reached gives an error wrapping sessionmw.ErrStoreUnavailable.
//
// New does not create the table: call Migrate once (at start-up, or from
// a deployment step with a role allowed to create tables).
func New(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgconn redacts the password from its parse errors.
		return nil, fmt.Errorf("sessionmw: pgstore: New: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sessionmw: pgstore: New: %w", err)
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = cfg.timeout
	}
	if _, ok := pcfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		pcfg.ConnConfig.RuntimeParams["application_name"] = "sessionmw"
	}
	addr := hostPort(pcfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: pgstore: New: connect to %s: %w", addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && !matchState(pgErr.Code, unavailableStates) {
			// The server answered, and refused (a wrong password, say).
			return nil, fmt.Errorf("sessionmw: pgstore: New: connect to %s: %w", addr, err)
		}
		return nil, fmt.Errorf("sessionmw: pgstore: New: connect to %s: %w: %w", addr, sessionmw.ErrStoreUnavailable, err)
	}
	return newStore(pool, true, addr, cfg), nil
}

// NewFromPool returns a Store that uses pool, which the caller keeps
// owning: Close does not close it. Use it to share one pool with the rest
// of the application, or to configure the pool in ways connection
// strings do not offer.
//
// NewFromPool has no error result, so it panics if pool is nil or an
// option is invalid (a programming error); New returns those errors
// instead.
func NewFromPool(pool *pgxpool.Pool, opts ...Option) *Store {
	if pool == nil {
		panic("sessionmw: pgstore: NewFromPool: nil pool")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		panic(err)
	}
	return newStore(pool, false, hostPort(pool.Config().ConnConfig), cfg)
}

func newStore(pool *pgxpool.Pool, own bool, addr string, cfg config) *Store {
	s := &Store{
		pool:    pool,
		own:     own,
		addr:    addr,
		timeout: cfg.timeout,
		codec:   cfg.codec,
		batch:   cfg.batch,
		logger:  cfg.logger,
		sql:     newStatements(cfg.table),
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if cfg.interval > 0 {
		s.cleaner.Go(func() { s.clean(ctx, cfg.interval) })
	}
	return s
}

// hostPort names the server of c for error messages.
func hostPort(c *pgx.ConnConfig) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// Close stops the background cleaner and the Store: later calls return an
// error wrapping sessionmw.ErrStoreClosed. It closes the pool if New
// created it, and leaves a pool given to NewFromPool open. Close is
// idempotent and always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stop()
	s.cleaner.Wait()
	if s.own {
		s.pool.Close()
	}
	return nil
}

// closedError is the error of a call on a closed Store.
func (s *Store) closedError(where string) error {
	return fmt.Errorf("%s: %w", where, sessionmw.ErrStoreClosed)
}

// Load implements sessionmw.Store with one SELECT of the session's row,
// unless it has expired. A session whose values do not decode gives an
// error, and is left as it is.
func (s *Store) Load(ctx context.Context, id string) (*sessionmw.Record, error) {
	if s.closed.Load() {
		return nil, s.closedError(s.where("load", id))
	}
	if !isText(id) {
		return nil, nil // never stored: a text column cannot hold it
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var keys, vals [][]byte
	var meta []byte
	err := s.pool.QueryRow(octx, s.sql.load, id).Scan(&keys, &vals, &meta)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.classify(ctx, s.where("load", id), err)
	}
	rec, err := s.decode(keys, vals, meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where("load", id), err)
	}
	return rec, nil
}

// decode builds the Record of a row.
func (s *Store) decode(keys, vals [][]byte, meta []byte) (*sessionmw.Record, error) {
	if len(keys) != len(vals) {
		return nil, fmt.Errorf("%d keys but %d values", len(keys), len(vals))
	}
	rec := &sessionmw.Record{Values: make([]sessionmw.Entry, len(keys))}
	for i, k := range keys {
		v, err := s.codec.Decode(vals[i])
		if err != nil {
			return nil, fmt.Errorf("decode value %q: %w", k, err)
		}
		rec.Values[i] = sessionmw.Entry{Key: string(k), Value: v}
	}
	m, err := sqlstore.DecodeMeta(meta)
	if err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	rec.Meta = m
	return rec, nil
}

// Save implements sessionmw.Store. A Replace is one INSERT … ON CONFLICT
// DO UPDATE; a delta is one UPDATE that merges u into the row as it is
// when the statement runs, so concurrent deltas that change different
// keys all persist (see the package documentation). A delta on a missing
// or expired session returns an error wrapping sessionmw.ErrNotFound, a
// Save on a live superseded session one wrapping sessionmw.ErrSuperseded;
// neither changes anything. The TTL is kept to the microsecond, rounded
// up; a TTL that is not positive is an error.
func (s *Store) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	if s.closed.Load() {
		return s.closedError(s.where("save", id))
	}
	if ttl <= 0 {
		return fmt.Errorf("%s: non-positive TTL %v", s.where("save", id), ttl)
	}
	if !isText(id) || !isText(u.Meta.Subject) || !isText(u.Meta.Successor) {
		return fmt.Errorf("%s: the id, subject or successor is not text (valid UTF-8 without NUL)", s.where("save", id))
	}
	meta, err := sqlstore.EncodeMeta(u.Meta)
	if err != nil {
		return fmt.Errorf("%s: %w", s.where("save", id), err)
	}
	keys := make([][]byte, 0, len(u.Set))
	vals := make([][]byte, 0, len(u.Set))
	for _, e := range u.Set {
		if slices.Contains(u.Delete, e.Key) {
			continue // as in sessionmw.Merge, a deletion wins
		}
		b, err := s.codec.Encode(e.Value)
		if err != nil {
			return fmt.Errorf("%s: encode value %q: %w", s.where("save", id), e.Key, err)
		}
		keys = append(keys, []byte(e.Key))
		vals = append(vals, b)
	}
	micros := ttl.Microseconds()
	if time.Duration(micros)*time.Microsecond < ttl {
		micros++
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if u.Replace {
		return s.replace(ctx, octx, id, keys, vals, meta, u.Meta, micros)
	}
	// Every key the delta names is dropped from the stored ones first.
	drop := make([][]byte, 0, len(u.Set)+len(u.Delete))
	for _, e := range u.Set {
		drop = append(drop, []byte(e.Key))
	}
	for _, k := range u.Delete {
		drop = append(drop, []byte(k))
	}
	tag, err := s.pool.Exec(octx, s.sql.delta, id, drop, keys, vals, meta,
		u.Meta.Subject, u.Meta.Successor, u.Meta.Created, micros)
	if err != nil {
		return s.classify(ctx, s.where("save", id), err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Refused (rarely: the middleware loaded the session just before):
	// read why, in a second round trip.
	var live, superseded bool
	err = s.pool.QueryRow(octx, s.sql.state, id).Scan(&live, &superseded)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return s.classify(ctx, s.where("save", id), err)
	case live && superseded:
		return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrSuperseded)
	}
	// Missing or expired; or re-created by a Replace since the UPDATE:
	// either way not the session this delta was for.
	return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrNotFound)
}

// replace runs a Replace: an upsert whose update is refused on a live
// superseded row.
func (s *Store) replace(ctx, octx context.Context, id string, keys, vals [][]byte, meta []byte, m sessionmw.Meta, micros int64) error {
	tag, err := s.pool.Exec(octx, s.sql.replace, id, keys, vals, meta, m.Subject, m.Successor, m.Created, micros)
	if err != nil {
		return s.classify(ctx, s.where("save", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrSuperseded)
	}
	return nil
}

// Delete implements sessionmw.Store with one DELETE.
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return s.closedError(s.where("delete", id))
	}
	if !isText(id) {
		return nil
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.pool.Exec(octx, s.sql.delete, id); err != nil {
		return s.classify(ctx, s.where("delete", id), err)
	}
	return nil
}

package pgstore

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// Defaults of the options.
const (
	// DefaultTable is the table that holds the sessions (see the package
	// documentation for its schema). Change it with WithTable to keep
	// several applications' sessions apart in one database.
	DefaultTable = "sessionmw_sessions"

	// DefaultTimeout bounds every Load, Save, Delete, SubjectSessions and
	// Migrate (and, in New, the first connection), on top of the caller's
	// context. A shorter timeout fails faster when the server is gone (a
	// request then gets the middleware's 503 sooner); a longer one rides
	// out longer stalls, such as a lock held by a long transaction.
	DefaultTimeout = 2 * time.Second

	// DefaultCleanupInterval is how often the background cleaner deletes
	// expired sessions. Expired sessions are never loaded whatever the
	// interval: the cleaner only reclaims their space. A shorter interval
	// keeps the table smaller at the cost of more frequent scans of it
	// (expires has no index: see the package documentation).
	DefaultCleanupInterval = 5 * time.Minute

	// DefaultCleanupBatch is how many expired sessions one DELETE of the
	// cleaner removes at most. The cleaner repeats batches until one is
	// short, so a larger batch finishes a backlog in fewer statements, and
	// a smaller one holds fewer row locks and WAL at a time.
	DefaultCleanupBatch = 1000
)

// Option configures a Store. Options are validated by the constructor,
// which reports the first invalid one by name.
type Option func(*config) error

type config struct {
	table    string
	timeout  time.Duration
	interval time.Duration // 0: no cleaner
	batch    int
	codec    sessionmw.Codec
	logger   *slog.Logger
}

func newConfig(opts []Option) (config, error) {
	c := config{
		table:    DefaultTable,
		timeout:  DefaultTimeout,
		interval: DefaultCleanupInterval,
		batch:    DefaultCleanupBatch,
		codec:    sessionmw.GobCodec{},
	}
	for _, o := range opts {
		if o == nil {
			return c, errors.New("sessionmw: pgstore: nil Option")
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c, nil
}

// tableName is an unquoted lower-case identifier, optionally qualified by
// a schema. Its last part, plus "_subject_idx", names an index, which
// must fit PostgreSQL's 63 bytes.
var tableName = regexp.MustCompile(`^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,50}$`)

// WithTable sets the table that holds the sessions (default DefaultTable):
// a lower-case SQL identifier of at most 51 characters, optionally
// qualified by a schema ("auth.sessions"). Migrate creates it, and its
// index on the subject, named after it ("sessions_subject_idx").
func WithTable(name string) Option {
	return func(c *config) error {
		if !tableName.MatchString(name) {
			return fmt.Errorf("sessionmw: pgstore: WithTable: %q is not a lower-case identifier (a-z, 0-9, _) of at most 51 characters, optionally schema-qualified", name)
		}
		c.table = name
		return nil
	}
}

// WithTimeout sets the per-operation timeout (default DefaultTimeout).
// Each call runs under context.WithTimeout(ctx, d), so it returns within
// about d even if the server hangs, with an error wrapping
// sessionmw.ErrStoreUnavailable. d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("sessionmw: pgstore: WithTimeout: non-positive duration %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithCleanupInterval sets how often the background cleaner deletes
// expired sessions (default DefaultCleanupInterval). 0 turns the cleaner
// off, for an application that runs several Stores on one table and
// wants only one of them to clean, or that cleans by other means;
// expired sessions are still never loaded. d must not be negative.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sessionmw: pgstore: WithCleanupInterval: negative duration %v", d)
		}
		c.interval = d
		return nil
	}
}

// WithCleanupBatch sets how many expired sessions one DELETE of the
// cleaner removes at most (default DefaultCleanupBatch). n must be
// positive.
func WithCleanupBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("sessionmw: pgstore: WithCleanupBatch: non-positive batch %d", n)
		}
		c.batch = n
		return nil
	}
}

// WithCodec sets how values are turned into bytes (default
// sessionmw.GobCodec, which keeps Go types). Changing the codec of a
// table that already holds sessions makes their values undecodable: Load
// then returns an error.
func WithCodec(codec sessionmw.Codec) Option {
	return func(c *config) error {
		if codec == nil {
			return errors.New("sessionmw: pgstore: WithCodec: nil Codec")
		}
		c.codec = codec
		return nil
	}
}

// WithLogger sets where the background cleaner reports failures (default
// slog.Default()), at level Warn, with the table and server but no
// session id. The Store logs nothing else: every other failure is
// returned to the caller.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("sessionmw: pgstore: WithLogger: nil Logger")
		}
		c.logger = l
		return nil
	}
}

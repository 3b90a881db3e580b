package sqlitestore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds every Load, Save, Delete and SubjectSessions,
	// on top of the caller's context, waits for the write lock included
	// (it is also SQLite's busy_timeout). A longer timeout rides out
	// longer write bursts or checkpoints; a shorter one answers 503
	// sooner when the disk stalls.
	DefaultTimeout = 2 * time.Second

	// DefaultCleanupInterval is how often the background cleaner deletes
	// expired sessions. Expired sessions are never loaded whatever the
	// interval: the cleaner only reclaims their space.
	DefaultCleanupInterval = 5 * time.Minute

	// DefaultCleanupBatch is how many expired sessions one cleaning
	// transaction removes at most. The cleaner repeats batches until one
	// is short; between them, other writers get the write lock.
	DefaultCleanupBatch = 1000

	// DefaultReaders is how many connections serve Loads and
	// SubjectSessions concurrently. In WAL mode readers never wait for
	// the writer, so more readers serve more concurrent requests, each
	// at the cost of its page cache.
	DefaultReaders = 4
)

// Option configures a Store. Options are validated by New, which reports
// the first invalid one by name.
type Option func(*config) error

type config struct {
	timeout  time.Duration
	interval time.Duration // 0: no cleaner
	batch    int
	readers  int
	codec    sessionmw.Codec
	logger   *slog.Logger
}

func newConfig(opts []Option) (config, error) {
	c := config{
		timeout:  DefaultTimeout,
		interval: DefaultCleanupInterval,
		batch:    DefaultCleanupBatch,
		readers:  DefaultReaders,
		codec:    sessionmw.GobCodec{},
	}
	for _, o := range opts {
		if o == nil {
			return c, errors.New("sessionmw: sqlitestore: nil Option")
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

// WithTimeout sets the per-operation timeout (default DefaultTimeout). d
// must be at least a millisecond (SQLite's busy_timeout counts in them).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return fmt.Errorf("sessionmw: sqlitestore: WithTimeout: %v is under a millisecond", d)
		}
		c.timeout = d
		return nil
	}
}

// WithCleanupInterval sets how often the background cleaner deletes
// expired sessions (default DefaultCleanupInterval). 0 turns the cleaner
// off; expired sessions are still never loaded. d must not be negative.
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sessionmw: sqlitestore: WithCleanupInterval: negative duration %v", d)
		}
		c.interval = d
		return nil
	}
}

// WithCleanupBatch sets how many expired sessions one cleaning
// transaction removes at most (default DefaultCleanupBatch). n must be
// positive.
func WithCleanupBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("sessionmw: sqlitestore: WithCleanupBatch: non-positive batch %d", n)
		}
		c.batch = n
		return nil
	}
}

// WithReaders sets how many connections serve reads (default
// DefaultReaders). Writes always go through one connection of their own.
// n must be positive.
func WithReaders(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("sessionmw: sqlitestore: WithReaders: non-positive count %d", n)
		}
		c.readers = n
		return nil
	}
}

// WithCodec sets how values are turned into bytes (default
// sessionmw.GobCodec, which keeps Go types). Changing the codec of a file
// that already holds sessions makes their values undecodable: Load then
// returns an error.
func WithCodec(codec sessionmw.Codec) Option {
	return func(c *config) error {
		if codec == nil {
			return errors.New("sessionmw: sqlitestore: WithCodec: nil Codec")
		}
		c.codec = codec
		return nil
	}
}

// WithLogger sets where the background cleaner reports failures (default
// slog.Default()), at level Warn, with the file but no session id. The
// Store logs nothing else: every other failure is returned to the caller.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("sessionmw: sqlitestore: WithLogger: nil Logger")
		}
		c.logger = l
		return nil
	}
}

package sessionmw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// fingerprint stands for a session id in logs and errors: a short hash
// that correlates log lines without revealing the id. It is computed only
// when a log line is actually written.
type fingerprint string

// LogValue implements slog.LogValuer.
func (f fingerprint) LogValue() slog.Value { return slog.StringValue(f.String()) }

// String returns the first 8 hex digits of the id's SHA-256.
func (f fingerprint) String() string {
	if f == "" {
		return "(none)"
	}
	sum := sha256.Sum256([]byte(f))
	return hex.EncodeToString(sum[:4])
}

// Fingerprint returns a short, non-reversible stand-in for a session id,
// for logs and error messages (the same one the middleware logs).
func Fingerprint(id string) string { return fingerprint(id).String() }

// DefaultLogRateLimit is how often one kind of warning or error line (one
// message) is written at most; the lines held back in between are counted
// and the count is written with the next one.
const DefaultLogRateLimit = time.Second

// WithLogger sets the logger for session events. The default is
// slog.Default() at Warn and above, so that a store failure or a tampered
// cookie is never silent; routine events (a session ended, a renewal) are
// Info and Debug. Nothing logged ever contains the secret, a cookie value
// or a full session id: ids appear as a short hash (Fingerprint).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("sessionmw: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithLogRateLimit sets how often one kind of warning or error line is
// written at most (default DefaultLogRateLimit; 0 writes every line). Under
// a flood of tampered cookies or a store outage, the log then grows by a
// line per second per kind, each saying how many were held back, instead
// of a line per request.
func WithLogRateLimit(every time.Duration) Option {
	return func(c *config) error {
		if every < 0 {
			return fmt.Errorf("sessionmw: WithLogRateLimit: negative duration %v", every)
		}
		c.logEvery, c.logEverySet = every, true
		return nil
	}
}

// newLogger is the logger a middleware writes to: the configured one or
// slog.Default() at Warn and above, with warnings and errors rate-limited
// per message.
func newLogger(c *config) *slog.Logger {
	h := slog.Default().Handler()
	if c.logger != nil {
		h = c.logger.Handler()
	} else {
		h = minLevel{h, slog.LevelWarn}
	}
	every := DefaultLogRateLimit
	if c.logEverySet {
		every = c.logEvery
	}
	if every > 0 {
		h = &rateLimited{inner: h, every: every, kinds: &sync.Map{}}
	}
	return slog.New(h)
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}

// rateLimited writes at most one warning or error record per kind (its
// message and "reason" attribute) per interval; the next one written
// carries "suppressed", the number held back. Records below Warn pass
// through.
type rateLimited struct {
	inner slog.Handler
	every time.Duration
	kinds *sync.Map // kind → *logKind
}

type logKind struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (h *rateLimited) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *rateLimited) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.inner.Handle(ctx, r)
	}
	kind := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "reason" {
			kind += "\x00" + a.Value.String()
			return false
		}
		return true
	})
	v, _ := h.kinds.LoadOrStore(kind, &logKind{})
	k := v.(*logKind)
	k.mu.Lock()
	if !k.last.IsZero() && r.Time.Sub(k.last) < h.every {
		k.suppressed++
		k.mu.Unlock()
		return nil
	}
	k.last = r.Time
	n := k.suppressed
	k.suppressed = 0
	k.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n))
	}
	return h.inner.Handle(ctx, r)
}

func (h *rateLimited) WithAttrs(as []slog.Attr) slog.Handler {
	return &rateLimited{inner: h.inner.WithAttrs(as), every: h.every, kinds: h.kinds}
}

func (h *rateLimited) WithGroup(name string) slog.Handler {
	return &rateLimited{inner: h.inner.WithGroup(name), every: h.every, kinds: h.kinds}
}

// levelOfRefusal is the log level of a refused credential: routine ones
// (a session that ended, an id the store forgot) are Debug, anything that
// looks like tampering Warn.
func levelOfRefusal(reason string) slog.Level {
	switch reason {
	case RefusedEnded, RefusedUnknown, RefusedRenewed, RefusedExpiredSignature, RefusedAudience:
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

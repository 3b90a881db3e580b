package redisstore

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the options.
const (
	// DefaultPrefix starts every key the Store uses: a session's hash is
	// DefaultPrefix+"session:"+id, a subject's index
	// DefaultPrefix+"subject:"+subject. Change it with WithPrefix to run
	// several applications on one database without their sessions meeting.
	DefaultPrefix = "sessionmw:"

	// DefaultTimeout bounds every Load, Save, Delete and SubjectSessions
	// (and, in New, the dial and the first PING), on top of the caller's
	// context. A server that refuses connections fails a call at once
	// whatever the timeout; a shorter timeout fails faster when the server
	// hangs (a request then gets the middleware's 503 sooner); a longer
	// one rides out longer stalls.
	DefaultTimeout = 2 * time.Second
)

// Option configures a Store. Options are validated by the constructor,
// which reports the first invalid one by name.
type Option func(*config) error

type config struct {
	prefix   string
	timeout  time.Duration
	cacheTTL time.Duration // 0: client-side caching off
	codec    Codec
}

func newConfig(opts []Option) (config, error) {
	c := config{prefix: DefaultPrefix, timeout: DefaultTimeout, codec: GobCodec{}}
	for _, o := range opts {
		if o == nil {
			return c, errors.New("sessionmw: redisstore: nil Option")
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithPrefix sets the prefix of every key the Store uses (default
// DefaultPrefix): sessions are stored under prefix+"session:"+id and
// subject indexes under prefix+"subject:"+subject. An empty prefix is only
// safe in a database that holds nothing else.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		c.prefix = prefix
		return nil
	}
}

// WithTimeout sets the per-operation timeout (default DefaultTimeout). Each
// Load, Save, Delete and SubjectSessions runs under
// context.WithTimeout(ctx, d), so it returns within d even if the server
// hangs, with an error wrapping sessionmw.ErrStoreUnavailable. d must be
// positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("sessionmw: redisstore: WithTimeout: non-positive duration %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithClientCache turns on client-side caching of loads (default off): a
// Load is answered from a copy kept in this process for at most ttl (and
// never past the key's own expiry) when the copy is still valid.
//
// It relies on server-assisted client-side caching: the client speaks RESP3
// and opts in to CLIENT TRACKING for each cached read, and the server pushes
// an invalidation as soon as any client changes or deletes the key, so
// another instance's Save is seen by this one's next Load once that push
// has arrived (typically well under a millisecond later). A Load that
// follows a Save or Delete through the same Store always goes to the server
// for a short while, so a Store reads its own writes. Caching needs Redis 6
// or later, or Valkey, and costs memory in this process (up to valkey-go's
// DefaultCacheBytes per connection). The Store also keeps the decoded
// session of up to 10,000 recently loaded ids, so that a Load answered
// from the cache returns it without decoding the values again.
//
// Revocation bound: a session destroyed through another instance (logout,
// RevokeSubject, a per-subject cap) is refused by this one as soon as the
// invalidation arrives, and at the latest ttl after it was cached, even if
// the invalidation is lost or the connection stalls: a cached copy is never
// used past ttl. ttl is therefore the longest a revoked session may still
// be accepted somewhere; keep it short (a second or less).
// TestClientCacheRevocationBound holds the bound with a stalled connection.
//
// With NewFromClient the client must have been created with caching
// enabled (ClientOption.DisableCache false); otherwise loads silently go to
// the server every time. ttl must be positive.
func WithClientCache(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl <= 0 {
			return fmt.Errorf("sessionmw: redisstore: WithClientCache: non-positive TTL %v", ttl)
		}
		c.cacheTTL = ttl
		return nil
	}
}

// WithCodec sets how values are turned into bytes (default GobCodec, which
// keeps Go types). Changing the codec of a store that already holds
// sessions makes their values undecodable: Load then returns an error.
func WithCodec(codec Codec) Option {
	return func(c *config) error {
		if codec == nil {
			return errors.New("sessionmw: redisstore: WithCodec: nil Codec")
		}
		c.codec = codec
		return nil
	}
}

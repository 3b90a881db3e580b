package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/sessionmw"
)

// Store is a sessionmw.Store that keeps each session in one Redis (or
// Valkey) hash, and a sessionmw.SubjectIndex that keeps one sorted set per
// subject. It is safe for concurrent use. Create it with New, NewCluster
// or NewFromClient, and Close it when done.
type Store struct {
	client   valkey.Client
	own      bool   // the Store created client and closes it
	addr     string // server address(es) for error messages, never a URL
	prefix   string
	timeout  time.Duration
	cacheTTL time.Duration
	codec    Codec
	recent   *recentWrites // nil without client-side caching
	decoded  *decodedCache // nil without client-side caching
	closed   atomic.Bool
}

var (
	_ sessionmw.Store        = (*Store)(nil)
	_ sessionmw.SubjectIndex = (*Store)(nil)
)

// New connects to the server named by rawURL and checks that it answers.
//
// rawURL is a redis:// (or rediss:// for TLS) URL as understood by
// valkey.ParseURL, for example
//
//	redis://user:password@localhost:6379/0
//	rediss://:password@cache.example.com:6380/2?dial_timeout=1s
//	redis://node1:6379?addr=node2:6379&addr=node3:6379   (a cluster)
//
// ctx bounds the initial PING; the dial is bounded by the URL's
// dial_timeout or else by the per-operation timeout. Errors never contain
// the password. A server that cannot be reached gives an error wrapping
// sessionmw.ErrStoreUnavailable.
func New(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	copt, err := valkey.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the whole URL, password included
		}
		return nil, fmt.Errorf("sessionmw: redisstore: New: invalid URL %s: %v", redactURL(rawURL), err)
	}
	if cfg.cacheTTL > 0 && copt.DisableCache {
		return nil, errors.New("sessionmw: redisstore: WithClientCache: the URL turns client-side caching off (client_cache=0)")
	}
	return open(ctx, "New", copt, cfg, false)
}

// NewCluster connects to the Redis Cluster that the nodes at addrs
// (host:port, one or more) belong to, discovering the other nodes, and
// checks that it answers. Each session is one key, so it lives on one node
// and every operation on it is atomic. For a password or TLS, use New with
// a URL listing the nodes, or NewFromClient.
func NewCluster(ctx context.Context, addrs []string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("sessionmw: redisstore: NewCluster: no addresses")
	}
	return open(ctx, "NewCluster", valkey.ClientOption{InitAddress: slices.Clone(addrs)}, cfg, true)
}

// NewFromClient returns a Store that uses client, which the caller keeps
// owning: Close does not close it. Use it to share one client between
// several stores or with the rest of the application, or to configure the
// client in ways the options do not offer.
//
// NewFromClient has no error result, so it panics if client is nil or an
// option is invalid (a programming error); New and NewCluster return those
// errors instead. The client keeps its own retry policy: unlike New's, the
// default one retries a Load until its timeout when the server is down
// (see "Errors" in the package documentation).
func NewFromClient(client valkey.Client, opts ...Option) *Store {
	if client == nil {
		panic("sessionmw: redisstore: NewFromClient: nil client")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		panic(err)
	}
	addrs := slices.Sorted(maps.Keys(client.Nodes()))
	return newStore(client, false, strings.Join(addrs, ","), cfg)
}

func open(ctx context.Context, op string, copt valkey.ClientOption, cfg config, cluster bool) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sessionmw: redisstore: %s: %w", op, err)
	}
	copt.DisableCache = cfg.cacheTTL == 0
	if copt.RetryDelay == nil {
		copt.RetryDelay = retryDelay // fail fast when the server is gone
	}
	if copt.Dialer.Timeout == 0 {
		copt.Dialer.Timeout = cfg.timeout
	}
	if copt.ClientName == "" {
		copt.ClientName = "sessionmw"
	}
	addr := strings.Join(copt.InitAddress, ",")
	client, err := valkey.NewClient(copt)
	if err != nil {
		var verr *valkey.ValkeyError
		if errors.As(err, &verr) {
			// The server answered, and refused (a wrong password, say).
			return nil, fmt.Errorf("sessionmw: redisstore: %s: connect to %s: %w", op, addr, err)
		}
		return nil, fmt.Errorf("sessionmw: redisstore: %s: connect to %s: %w: %w", op, addr, sessionmw.ErrStoreUnavailable, err)
	}
	if cluster && client.Mode() != valkey.ClientModeCluster {
		client.Close()
		return nil, fmt.Errorf("sessionmw: redisstore: %s: %s is not a Redis Cluster (use New)", op, addr)
	}
	s := newStore(client, true, addr, cfg)
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := client.Do(pctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, fmt.Errorf("sessionmw: redisstore: %s: ping %s: %w: %w", op, addr, sessionmw.ErrStoreUnavailable, err)
	}
	return s, nil
}

func newStore(client valkey.Client, own bool, addr string, cfg config) *Store {
	s := &Store{
		client:   client,
		own:      own,
		addr:     addr,
		prefix:   cfg.prefix,
		timeout:  cfg.timeout,
		cacheTTL: cfg.cacheTTL,
		codec:    cfg.codec,
	}
	if s.cacheTTL > 0 {
		s.recent = newRecentWrites(ownWriteWindow, time.Now())
		s.decoded = newDecodedCache(decodedMax)
	}
	return s
}

// redactURL returns rawURL without its password, or a placeholder if it
// does not even parse.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable)"
	}
	return strconv.Quote(u.Redacted())
}

// Close stops the Store: later calls return an error wrapping
// sessionmw.ErrStoreClosed. It closes the client if New or NewCluster
// created it, and leaves a client given to NewFromClient open. Close is
// idempotent and always returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.own {
		s.client.Close()
	}
	return nil
}

// Load implements sessionmw.Store. It reads the session's hash with one
// HGETALL, from the client-side cache when WithClientCache is on.
func (s *Store) Load(ctx context.Context, id string) (*sessionmw.Record, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%s: %w", s.where("load", id), sessionmw.ErrStoreClosed)
	}
	now := time.Now()
	// Lazy: a reply from the client-side cache needs no timer.
	octx := newLazyDeadline(ctx, now, s.timeout)
	defer octx.stop()
	if s.recent == nil || s.recent.containsAt(id, now) {
		res := s.client.Do(octx, s.client.B().Hgetall().Key(s.sessionKey(id)).Build())
		return s.decodeReply(ctx, id, res)
	}
	return s.loadCached(ctx, octx, id)
}

// loadCached is Load through the client-side cache. A reply this Store
// decoded before gives the Record it gave then (see decodedCache).
func (s *Store) loadCached(ctx, octx context.Context, id string) (*sessionmw.Record, error) {
	kept, ok := s.decoded.get(id)
	if !ok {
		kept.key = s.sessionKey(id)
	}
	res := s.client.DoCache(octx, s.client.B().Hgetall().Key(kept.key).Cache(), s.cacheTTL)
	reply, err := res.ToMessage()
	if ok && err == nil && reply == kept.reply {
		return kept.rec, nil
	}
	rec, err := s.decodeReply(ctx, id, res)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		s.decoded.drop(id)
	} else {
		s.decoded.put(id, decoded{key: kept.key, reply: reply, rec: rec})
	}
	return rec, nil
}

// decodeReply returns the session in res, the reply to an HGETALL of id's
// key.
func (s *Store) decodeReply(ctx context.Context, id string, res valkey.ValkeyResult) (*sessionmw.Record, error) {
	if err := res.Error(); err != nil {
		return nil, s.opError(ctx, "load", id, err)
	}
	fields, err := res.AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("%s: unexpected reply: %w", s.where("load", id), err)
	}
	if len(fields) == 0 {
		return nil, nil
	}
	rec, err := s.decode(fields)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where("load", id), err)
	}
	return rec, nil
}

func (s *Store) decode(fields map[string]string) (*sessionmw.Record, error) {
	rec := &sessionmw.Record{Values: make([]sessionmw.Entry, 0, len(fields))}
	for f, raw := range fields {
		if key, ok := strings.CutPrefix(f, valuePrefix); ok {
			v, err := s.codec.Decode([]byte(raw))
			if err != nil {
				return nil, fmt.Errorf("decode value %q: %w", key, err)
			}
			rec.Values = append(rec.Values, sessionmw.Entry{Key: key, Value: v})
			continue
		}
		// Metadata, or a reserved field of a later version: ignored.
		if _, err := decodeMeta(&rec.Meta, f, raw); err != nil {
			return nil, fmt.Errorf("decode field %q: %w", f, err)
		}
	}
	slices.SortFunc(rec.Values, func(a, b sessionmw.Entry) int { return cmp.Compare(a.Key, b.Key) })
	return rec, nil
}

// Save implements sessionmw.Store. It encodes u's values, then applies u
// and the TTL to the session's hash in one atomic Lua script (see the
// package documentation). A delta on a missing session returns an error
// wrapping sessionmw.ErrNotFound and creates nothing. A TTL under a
// millisecond is rounded up to one; a TTL that is not positive is an
// error.
//
// When u.Meta.Subject is set, the same pipeline adds the id to the
// subject's index (see SubjectSessions); if that fails, Save returns an
// error although the session itself was saved.
func (s *Store) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrStoreClosed)
	}
	if ttl <= 0 {
		return fmt.Errorf("%s: non-positive TTL %v", s.where("save", id), ttl)
	}
	ms := ttl.Milliseconds()
	if time.Duration(ms)*time.Millisecond < ttl {
		ms++ // round up: PEXPIRE 0 would delete the key
	}

	args := make([]string, 3, 3+len(u.Delete)+2*len(u.Set)+2*len(metaFields))
	args[0] = "0"
	if u.Replace {
		args[0] = "1"
	}
	args[1] = strconv.FormatInt(ms, 10)
	ndel := 0
	if !u.Replace { // a replaced hash has nothing to delete
		for _, k := range u.Delete {
			args = append(args, valuePrefix+k)
			ndel++
		}
	}
	args[2] = strconv.Itoa(ndel)
	for _, e := range u.Set {
		if slices.Contains(u.Delete, e.Key) {
			continue // as in sessionmw.Merge, a deletion wins
		}
		b, err := s.codec.Encode(e.Value)
		if err != nil {
			return fmt.Errorf("%s: encode value %q: %w", s.where("save", id), e.Key, err)
		}
		args = append(args, valuePrefix+e.Key, string(b))
	}
	args = appendMeta(args, u.Meta)

	calls := []scriptCall{{saveScript, []string{s.sessionKey(id)}, args}}
	subject := u.Meta.Subject
	if subject != "" {
		// A second script in the same round trip, not a step of the
		// first: in a cluster the index may live on another node, and
		// one script cannot touch keys of two slots.
		keep := strconv.FormatInt(ms+indexSlack.Milliseconds(), 10)
		calls = append(calls, scriptCall{indexScript, []string{s.subjectKey(subject)}, []string{id, keep}})
	}

	s.markWrite(id)
	defer s.markWrite(id) // the window starts again once the write is done
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res := s.runScripts(octx, calls...)
	old, err := res[0].ToString()
	superseded := false
	if verr, ok := valkey.IsValkeyErr(res[0].Error()); ok && hasAnyPrefix(verr.Error(), "SUPERSEDED") {
		superseded = true
	}
	switch {
	case valkey.IsValkeyNil(err) || superseded:
		if subject != "" {
			// The index script ran anyway: take back the entry it added
			// for a session that was not saved.
			if score, err := res[1].AsInt64(); err == nil {
				s.dropEntries(octx, subject, []indexEntry{{id, strconv.FormatInt(score, 10)}})
			}
		}
		if superseded {
			return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrSuperseded)
		}
		return fmt.Errorf("%s: %w", s.where("save", id), sessionmw.ErrNotFound)
	case res[0].Error() != nil:
		return s.opError(ctx, "save", id, res[0].Error())
	case err != nil:
		return fmt.Errorf("%s: unexpected reply: %w", s.where("save", id), err)
	}
	if subject != "" {
		if err := res[1].Error(); err != nil {
			return s.opError(ctx, "index", id, err)
		}
	}
	if old != "" && old != subject {
		s.unindexMoved(octx, old, id)
	}
	return nil
}

// Delete implements sessionmw.Store. One Lua script deletes the session's
// hash and returns its subject; a second command takes the id out of that
// subject's index. A failure of the second is not reported: the index is
// advisory, and SubjectSessions drops the entry when it meets it.
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", s.where("delete", id), sessionmw.ErrStoreClosed)
	}
	s.markWrite(id)
	defer s.markWrite(id)
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res := s.runScripts(octx, scriptCall{deleteScript, []string{s.sessionKey(id)}, nil})[0]
	if err := res.Error(); err != nil {
		return s.opError(ctx, "delete", id, err)
	}
	subject, err := res.ToString()
	if err != nil {
		return fmt.Errorf("%s: unexpected reply: %w", s.where("delete", id), err)
	}
	if subject != "" {
		_ = s.client.Do(octx, s.client.B().Zrem().Key(s.subjectKey(subject)).Member(id).Build()).Error()
	}
	return nil
}

// sessionKey is the key of id's hash.
func (s *Store) sessionKey(id string) string { return s.prefix + sessionSpace + id }

// subjectKey is the key of subject's index.
func (s *Store) subjectKey(subject string) string { return s.prefix + subjectSpace + subject }

// markWrite makes this Store's Loads of id bypass the client-side cache for
// a while (see ownWriteWindow), and forgets the Record it kept decoded.
func (s *Store) markWrite(id string) {
	if s.recent != nil {
		s.recent.add(id)
		s.decoded.drop(id)
	}
}

// where names an operation on a session for an error message: the
// operation, a fingerprint of the id (never the id) and the server.
func (s *Store) where(op, id string) string {
	return fmt.Sprintf("sessionmw: redisstore: %s session %s on %s", op, fingerprint(id), s.addr)
}

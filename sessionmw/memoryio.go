package sessionmw

import (
	"context"

	"fmt"
	"github.com/google/uuid"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of MemoryIO.
const (
	// DefaultSweepInterval is how often MemoryIO removes expired sessions
	// in the background. Expired sessions are never returned in between.
	DefaultSweepInterval = time.Minute
	// DefaultMemoryMaxEntries caps the sessions one MemoryIO holds (about
	// 200 bytes each for a small session). At the cap, saving a new
	// session fails with ErrStoreFull (answered 503) instead of growing
	// the heap without bound; existing sessions keep working.
	DefaultMemoryMaxEntries = 2_000_000
)

const memShards = 64

// MemoryIO is the in-process store, authx_extra's MemoryIO and the default
// when no store is given. Sessions live in a sharded map (no global lock on
// the request path), expire after their TTL (checked on every read and
// swept in the background) and are lost when the process exits: use a
// shared store such as redisstore when you run more than one instance.
//
// MemoryIO keeps the values themselves, not copies: see Session.
type MemoryIO struct {
	seed       maphash.Seed
	shards     [memShards]memShard
	count      atomic.Int64
	maxEntries int64
	sweepEvery time.Duration
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	closed     atomic.Bool
	subjects   subjectIndex
}

type memShard struct {
	mu sync.RWMutex
	// uuids holds the middleware's ids (canonical UUID strings) by their
	// 16 bytes, sparing each session a 48-byte string; other holds any
	// other id a caller of the Store interface may use.
	uuids map[[16]byte]memEntry
	other map[string]memEntry
	_     [32]byte // keep shards on separate cache lines
}

// memID is how MemoryIO keys an id: its UUID bytes when it is a
// canonical (lower-case, hyphenated) UUID, else the string itself.
type memID struct {
	u    [16]byte
	s    string
	uuid bool
}

func parseMemID(id string) memID {
	if u, ok := parseCanonicalUUID(id); ok {
		return memID{u: u, uuid: true}
	}
	return memID{s: id}
}

// parseCanonicalUUID parses exactly the form uuid.UUID.String produces,
// so that two different strings never share a key.
func parseCanonicalUUID(id string) (u [16]byte, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return u, false
	}
	var bad byte
	for j, p := range uuidHexPos {
		hi, lo := lowerHexVal[id[p]], lowerHexVal[id[p+1]]
		bad |= hi | lo
		u[j] = hi<<4 | lo
	}
	return u, bad < 0x10
}

// uuidHexPos is where each byte's two hex digits start in a canonical UUID.
var uuidHexPos = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// lowerHexVal maps a lower-case hex digit to its value and every other
// byte to 0xff: a table, because UUID digits are random and branches on
// them mispredict.
var lowerHexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()

func (sh *memShard) get(k memID) (memEntry, bool) {
	if k.uuid {
		e, ok := sh.uuids[k.u]
		return e, ok
	}
	e, ok := sh.other[k.s]
	return e, ok
}

func (sh *memShard) put(k memID, e memEntry) {
	if k.uuid {
		sh.uuids[k.u] = e
	} else {
		sh.other[k.s] = e
	}
}

func (sh *memShard) del(k memID) {
	if k.uuid {
		delete(sh.uuids, k.u)
	} else {
		delete(sh.other, k.s)
	}
}

type memEntry struct {
	rec     *Record
	expires int64 // unix nanoseconds
}

// MemoryOption configures a MemoryIO.
type MemoryOption func(*MemoryIO)

// WithSweepInterval sets how often expired sessions are removed in the
// background (default DefaultSweepInterval; 0 or less disables sweeping,
// leaving expired entries in memory until they are read or overwritten).
func WithSweepInterval(d time.Duration) MemoryOption {
	return func(s *MemoryIO) { s.sweepEvery = d }
}

// WithMaxEntries caps the number of sessions (default
// DefaultMemoryMaxEntries; 0 or less: no cap).
func WithMaxEntries(n int) MemoryOption {
	return func(s *MemoryIO) { s.maxEntries = int64(n) }
}

// NewMemoryIO returns an empty in-memory store. Call Close to stop its
// background sweeper.
func NewMemoryIO(opts ...MemoryOption) *MemoryIO {
	s := &MemoryIO{seed: maphash.MakeSeed(), maxEntries: DefaultMemoryMaxEntries, sweepEvery: DefaultSweepInterval}
	for i := range s.shards {
		s.shards[i].uuids = make(map[[16]byte]memEntry)
		s.shards[i].other = make(map[string]memEntry)
	}
	for _, o := range opts {
		o(s)
	}
	if s.sweepEvery > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweepLoop(s.sweepEvery)
	}
	return s
}

func (s *MemoryIO) shard(k memID) *memShard {
	if k.uuid {
		return &s.shards[k.u[15]%memShards] // random bits of a v4 UUID
	}
	return &s.shards[maphash.String(s.seed, k.s)%memShards]
}

// Load implements Store.
func (s *MemoryIO) Load(ctx context.Context, id string) (*Record, error) {
	return s.loadAt(ctx, id, time.Now().UnixNano())
}

// loadAt is Load at the time now (Unix nanoseconds), for the middleware,
// which has read the clock already.
func (s *MemoryIO) loadAt(_ context.Context, id string, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.RLock()
	e, ok := sh.get(k)
	sh.mu.RUnlock()
	if !ok || now >= e.expires {
		return nil, nil
	}
	return e.rec, nil
}

// Save implements Store.
func (s *MemoryIO) Save(ctx context.Context, id string, u Update, ttl time.Duration) error {
	_, err := s.saveAt(ctx, id, u, ttl, time.Now().UnixNano())
	return err
}

// saveAt is Save at the time now (Unix nanoseconds); it returns the record
// it stored (immutable, like every stored record).
func (s *MemoryIO) saveAt(_ context.Context, id string, u Update, ttl time.Duration, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("sessionmw: MemoryIO.Save: TTL %v is not positive", ttl)
	}
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.get(k)
	live := ok && now < old.expires
	if !live && !u.Replace {
		return nil, fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), ErrNotFound)
	}
	if live && old.rec.Meta.Successor != "" {
		return nil, fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), ErrSuperseded)
	}
	if !ok {
		if s.maxEntries > 0 && s.count.Load() >= s.maxEntries {
			return nil, fmt.Errorf("sessionmw: MemoryIO holds %d sessions, its cap: %w", s.maxEntries, ErrStoreFull)
		}
		s.count.Add(1)
	}
	var base *Record // nil unless the id holds a live session
	if live {
		base = old.rec
	}
	rec := Merge(base, u)
	sh.put(k, memEntry{rec: rec, expires: now + int64(ttl)})
	s.subjects.saved(id, base, u.Meta.Subject)
	return rec, nil
}

// SubjectSessions implements SubjectIndex.
func (s *MemoryIO) SubjectSessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	return s.subjects.list(ctx, subject, s.Load, s.pruneSubject)
}

// pruneSubject drops id from subject's index entry unless, under the
// shard's lock, id holds a live session of subject.
func (s *MemoryIO) pruneSubject(id, subject string) {
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.get(k); ok && time.Now().UnixNano() < e.expires && e.rec.Meta.Subject == subject {
		return
	}
	s.subjects.move(id, subject, "")
}

// Delete implements Store.
func (s *MemoryIO) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.Lock()
	if e, ok := sh.get(k); ok {
		sh.del(k)
		s.count.Add(-1)
		s.subjects.move(id, e.rec.Meta.Subject, "")
	}
	sh.mu.Unlock()
	return nil
}

// Len returns the number of sessions held, including expired ones not yet
// swept.
func (s *MemoryIO) Len() int { return int(s.count.Load()) }

// Sweep removes expired sessions now. The background sweeper calls it.
func (s *MemoryIO) Sweep() {
	now := time.Now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for u, e := range sh.uuids {
			if now >= e.expires {
				delete(sh.uuids, u)
				s.count.Add(-1)
				if e.rec.Meta.Subject != "" {
					s.subjects.move(uuid.UUID(u).String(), e.rec.Meta.Subject, "")
				}
			}
		}
		for id, e := range sh.other {
			if now >= e.expires {
				delete(sh.other, id)
				s.count.Add(-1)
				s.subjects.move(id, e.rec.Meta.Subject, "")
			}
		}
		sh.mu.Unlock()
	}
}

func (s *MemoryIO) sweepLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close stops the background sweeper and waits for it to exit. Later calls
// return ErrStoreClosed. Close is idempotent.
func (s *MemoryIO) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
	return nil
}

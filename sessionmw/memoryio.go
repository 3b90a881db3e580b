package sessionmw

import (
	"context"
	"fmt"
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
	m  map[string]memEntry
	_  [40]byte // keep shards on separate cache lines
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
		s.shards[i].m = make(map[string]memEntry)
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

func (s *MemoryIO) shard(id string) *memShard {
	return &s.shards[maphash.String(s.seed, id)%memShards]
}

// Load implements Store.
func (s *MemoryIO) Load(ctx context.Context, id string) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	sh := s.shard(id)
	sh.mu.RLock()
	e, ok := sh.m[id]
	sh.mu.RUnlock()
	if !ok || time.Now().UnixNano() >= e.expires {
		return nil, nil
	}
	return e.rec, nil
}

// Save implements Store.
func (s *MemoryIO) Save(ctx context.Context, id string, u Update, ttl time.Duration) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	if ttl <= 0 {
		return fmt.Errorf("sessionmw: MemoryIO.Save: TTL %v is not positive", ttl)
	}
	now := time.Now().UnixNano()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.m[id]
	live := ok && now < old.expires
	if !live && !u.Replace {
		return fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), ErrNotFound)
	}
	if !ok {
		if s.maxEntries > 0 && s.count.Load() >= s.maxEntries {
			return fmt.Errorf("sessionmw: MemoryIO holds %d sessions, its cap: %w", s.maxEntries, ErrStoreFull)
		}
		s.count.Add(1)
	}
	var base *Record
	oldSubject := ""
	if ok {
		oldSubject = old.rec.Meta.Subject
	}
	if live {
		base = old.rec
	}
	sh.m[id] = memEntry{rec: Merge(base, u), expires: now + int64(ttl)}
	s.subjects.move(id, oldSubject, u.Meta.Subject)
	return nil
}

// SubjectSessions implements SubjectIndex.
func (s *MemoryIO) SubjectSessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	return s.subjects.list(ctx, subject, s.Load)
}

// Delete implements Store.
func (s *MemoryIO) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	sh := s.shard(id)
	sh.mu.Lock()
	if e, ok := sh.m[id]; ok {
		delete(sh.m, id)
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
		for id, e := range sh.m {
			if now >= e.expires {
				delete(sh.m, id)
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

package sessionmw

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// RistrettoStore is an in-process store bounded by memory: a
// github.com/dgraph-io/ristretto/v2 cache whose cost is the estimated size
// of each session in bytes.
//
// Eviction under pressure ends sessions. When the budget is spent,
// ristretto's admission policy evicts the sessions it deems least valuable,
// and those users are logged out; it may also refuse to admit a new
// session. A refused write is never silent: Save reports it as an error
// wrapping ErrStoreFull (answered 503 by the default error handler). Use it
// when bounded memory matters more than keeping every session, and a
// shared store such as redisstore when sessions must survive.
type RistrettoStore struct {
	cache    *ristretto.Cache[string, *ristrettoEntry]
	seed     maphash.Seed
	locks    [64]sync.Mutex // serialise read-modify-write per id
	closed   atomic.Bool
	subjects subjectIndex
}

type ristrettoEntry struct {
	rec     *Record
	expires int64
}

// NewRistrettoStore returns a store that keeps at most about maxBytes of
// session data. Call Close to stop ristretto's goroutines.
func NewRistrettoStore(maxBytes int64) (*RistrettoStore, error) {
	if maxBytes < 1<<16 {
		return nil, fmt.Errorf("sessionmw: NewRistrettoStore: budget of %d bytes is under the 64 KiB minimum", maxBytes)
	}
	// About one counter per 20 bytes: ten per expected session of ~200 B,
	// as ristretto recommends.
	counters := max(maxBytes/20, 1000)
	c, err := ristretto.NewCache(&ristretto.Config[string, *ristrettoEntry]{
		NumCounters:        counters,
		MaxCost:            maxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("sessionmw: NewRistrettoStore: %w", err)
	}
	return &RistrettoStore{cache: c, seed: maphash.MakeSeed()}, nil
}

// Load implements Store.
func (s *RistrettoStore) Load(ctx context.Context, id string) (*Record, error) {
	return s.loadAt(ctx, id, time.Now().UnixNano())
}

// loadAt is Load at the time now (Unix nanoseconds); see MemoryIO.loadAt.
func (s *RistrettoStore) loadAt(_ context.Context, id string, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	e, ok := s.cache.Get(id)
	if !ok || now >= e.expires {
		return nil, nil
	}
	return e.rec, nil
}

// Save implements Store. It waits until ristretto has applied the write and
// verifies that the session was admitted.
func (s *RistrettoStore) Save(ctx context.Context, id string, u Update, ttl time.Duration) error {
	_, err := s.saveAt(ctx, id, u, ttl, time.Now().UnixNano())
	return err
}

// saveAt is Save at the time now (Unix nanoseconds); see MemoryIO.saveAt.
func (s *RistrettoStore) saveAt(_ context.Context, id string, u Update, ttl time.Duration, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save: TTL %v is not positive", ttl)
	}
	mu := &s.locks[maphash.String(s.seed, id)%uint64(len(s.locks))]
	mu.Lock()
	defer mu.Unlock()
	old, ok := s.cache.Get(id)
	live := ok && now < old.expires
	if !live && !u.Replace {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save %s: %w", fingerprint(id), ErrNotFound)
	}
	if live && old.rec.Meta.Successor != "" {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save %s: %w", fingerprint(id), ErrSuperseded)
	}
	var base *Record // nil unless the id holds a live session
	if live {
		base = old.rec
	}
	e := &ristrettoEntry{rec: Merge(base, u), expires: now + int64(ttl)}
	if !s.cache.SetWithTTL(id, e, recordCost(id, e.rec), ttl) {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save %s: write dropped by ristretto: %w", fingerprint(id), ErrStoreFull)
	}
	s.cache.Wait()
	if got, ok := s.cache.Get(id); !ok || got != e {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save %s: session not admitted (cost budget spent): %w", fingerprint(id), ErrStoreFull)
	}
	prev := ""
	if base != nil {
		prev = base.Meta.Subject
	}
	s.subjects.saved(id, live, prev, u.Meta.Subject)
	return e.rec, nil
}

// SubjectSessions implements SubjectIndex. Sessions ristretto evicted are
// pruned from the index as they are found.
func (s *RistrettoStore) SubjectSessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	return s.subjects.list(ctx, subject, s.Load, s.pruneSubject)
}

// pruneSubject drops id from subject's index entry unless, under id's
// lock, id holds a live session of subject.
func (s *RistrettoStore) pruneSubject(id, subject string) {
	mu := &s.locks[maphash.String(s.seed, id)%uint64(len(s.locks))]
	mu.Lock()
	defer mu.Unlock()
	if e, ok := s.cache.Get(id); ok && time.Now().UnixNano() < e.expires && e.rec.Meta.Subject == subject {
		return
	}
	s.subjects.move(id, subject, "")
}

// Delete implements Store.
func (s *RistrettoStore) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	mu := &s.locks[maphash.String(s.seed, id)%uint64(len(s.locks))]
	mu.Lock()
	defer mu.Unlock()
	if e, ok := s.cache.Get(id); ok {
		s.subjects.move(id, e.rec.Meta.Subject, "")
	}
	s.cache.Del(id)
	s.cache.Wait()
	return nil
}

// Close stops the cache. Later calls return ErrStoreClosed.
func (s *RistrettoStore) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.cache.Close()
	}
	return nil
}

// recordCost estimates the bytes a session occupies.
func recordCost(id string, r *Record) int64 {
	n := int64(len(id)) + 96
	for _, e := range r.Values {
		n += int64(len(e.Key)) + 32 + valueCost(e.Value)
	}
	return n
}

func valueCost(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x))
	case []byte:
		return int64(len(x))
	case []string:
		n := int64(24)
		for _, s := range x {
			n += 16 + int64(len(s))
		}
		return n
	case map[string]any:
		n := int64(48)
		for k, v := range x {
			n += 32 + int64(len(k)) + valueCost(v)
		}
		return n
	default:
		return 16
	}
}

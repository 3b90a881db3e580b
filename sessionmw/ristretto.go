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

// RistrettoStore is an in-process store bounded by memory: it keeps at
// most about maxBytes of sessions, as estimated from their ids and values.
//
// # Admission: what happens when it fills up
//
// A new session starts on probation, in a part of the budget of its own
// (WithProbationBytes, default half); when that part is spent, the oldest
// sessions on probation are evicted to make room, instead of the newcomer
// being refused. A session leaves probation once it proves itself: its
// client comes back with the cookie (the session is loaded), it logs in,
// or it is a renewal's successor. Proven sessions move to a
// github.com/dgraph-io/ristretto/v2 cache that holds the rest of the
// budget, where a flood of new sessions never reaches them; remember-me
// tokens and revocation entries are kept apart and never evicted (they
// count against the proven part; when they alone fill it, saving one
// fails with ErrStoreFull). So a flood of cookie-less requests only
// recycles the probation part: real users who come back, log in or renew
// keep their sessions, and a new visitor is evicted only if the flood
// fills the whole probation part before their second request.
//
// # Real memory pressure
//
// When proven sessions alone outgrow their part of the budget, the cache
// makes room for each new one (a login, a renewal, a visitor's first
// return) by evicting proven sessions it samples at random: those users
// are logged out, and their next request starts a fresh session. Saves
// are never refused for lack of room (ristretto's frequency-based
// admission filter, which would refuse new logins in favour of sessions
// read more often, is disabled); only a session larger than the whole
// part fails, with ErrStoreFull (503). Size the budget for your proven
// sessions, and use a shared store such as redisstore when sessions must
// survive. Evictions (reason "evicted") and the expiries ristretto cleans
// up (reason "expired") are reported to the functions registered with
// NotifyEvictions.
type RistrettoStore struct {
	cache      *ristretto.Cache[string, *ristrettoEntry] // proven sessions
	seed       maphash.Seed
	shards     [ristShards]ristShard
	probBudget int64 // bytes for sessions on probation
	protBudget int64 // bytes for proven sessions and pinned entries
	probBytes  atomic.Int64
	probCount  atomic.Int64
	pinBytes   atomic.Int64
	order      probQueue[string] // probation order
	seq        atomic.Uint32
	closed     atomic.Bool
	subjects   subjectIndex
	evictions  evictions
}

var _ EvictionNotifier = (*RistrettoStore)(nil)

const ristShards = 64

// ristShard serialises the read-modify-write of the ids that hash to it,
// and holds those of its ids that are not in the cache.
type ristShard struct {
	mu     sync.RWMutex
	prob   map[string]*ristrettoEntry // sessions on probation
	pinned map[string]*ristrettoEntry // tokens and revocation entries
	swept  int                        // len(pinned) after its last sweep
}

type ristrettoEntry struct {
	id      string
	rec     *Record
	expires int64
	cost    int64
	seq     uint32 // probation order
}

// where an id's entry is.
const (
	inNone = iota
	inProbation
	inPinned
	inCache
)

// RistrettoOption configures a RistrettoStore.
type RistrettoOption func(*ristrettoConfig) error

type ristrettoConfig struct {
	probation int64
}

// WithProbationBytes sets the part of the budget for sessions on
// probation (default half of it). A smaller part leaves more room for
// proven sessions, but gives a new visitor less time to come back before
// a flood of new sessions pushes theirs out. n must be positive and less
// than the budget.
func WithProbationBytes(n int64) RistrettoOption {
	return func(c *ristrettoConfig) error {
		if n <= 0 {
			return fmt.Errorf("sessionmw: WithProbationBytes: %d bytes is not positive", n)
		}
		c.probation = n
		return nil
	}
}

// NewRistrettoStore returns a store that keeps at most about maxBytes of
// session data. Call Close to stop ristretto's goroutines.
func NewRistrettoStore(maxBytes int64, opts ...RistrettoOption) (*RistrettoStore, error) {
	if maxBytes < 1<<16 {
		return nil, fmt.Errorf("sessionmw: NewRistrettoStore: budget of %d bytes is under the 64 KiB minimum", maxBytes)
	}
	cfg := ristrettoConfig{probation: maxBytes / 2}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.probation >= maxBytes {
		return nil, fmt.Errorf("sessionmw: WithProbationBytes: %d bytes leave nothing of the %d-byte budget for proven sessions", cfg.probation, maxBytes)
	}
	s := &RistrettoStore{seed: maphash.MakeSeed(), probBudget: cfg.probation, protBudget: maxBytes - cfg.probation}
	for i := range s.shards {
		s.shards[i].prob = make(map[string]*ristrettoEntry)
		s.shards[i].pinned = make(map[string]*ristrettoEntry)
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *ristrettoEntry]{
		// The fewest counters ristretto takes: their frequency sketch
		// then resets on every other key it counts, so that its TinyLFU
		// admission estimates every key alike and does not refuse new
		// ones (refusing would fail a login or a renewal: see the type's
		// documentation); eviction still makes room, from a random
		// sample. TestRistrettoAdmitsEveryProvenSession holds this.
		NumCounters:        2,
		MaxCost:            s.protBudget,
		BufferItems:        64,
		IgnoreInternalCost: true,
		OnEvict:            s.onEvict,
	})
	if err != nil {
		return nil, fmt.Errorf("sessionmw: NewRistrettoStore: %w", err)
	}
	s.cache = c
	return s, nil
}

func (s *RistrettoStore) shard(id string) *ristShard {
	return &s.shards[maphash.String(s.seed, id)%ristShards]
}

// findLocked returns id's entry and where it is; call it with sh locked
// (for reading at least).
func (s *RistrettoStore) findLocked(sh *ristShard, id string) (*ristrettoEntry, int) {
	if pinnedID(id) {
		if e, ok := sh.pinned[id]; ok {
			return e, inPinned
		}
		return nil, inNone
	}
	if e, ok := sh.prob[id]; ok {
		return e, inProbation
	}
	if e, ok := s.cache.Get(id); ok {
		return e, inCache
	}
	return nil, inNone
}

// Load implements Store.
func (s *RistrettoStore) Load(ctx context.Context, id string) (*Record, error) {
	return s.loadAt(ctx, id, time.Now().UnixNano())
}

// loadAt is Load at the time now (Unix nanoseconds); see MemoryIO.loadAt.
// Loading a session on probation proves it and moves it to the cache.
func (s *RistrettoStore) loadAt(_ context.Context, id string, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	if !pinnedID(id) {
		if e, ok := s.cache.Get(id); ok { // most loads: a proven session
			if now >= e.expires {
				return nil, nil
			}
			return e.rec, nil
		}
	}
	// Under the shard's lock, which a promotion holds until the session
	// is in the cache, so that the session is found in one place or the
	// other.
	sh := s.shard(id)
	sh.mu.RLock()
	e, where := s.findLocked(sh, id)
	sh.mu.RUnlock()
	if e == nil || now >= e.expires {
		return nil, nil
	}
	if where == inProbation && e.rec.Meta.Successor == "" {
		s.promote(sh, id, e, now)
	}
	return e.rec, nil
}

// promote moves id's entry e from probation to the cache, unless it
// changed meanwhile. If the cache does not take it (a session larger than
// its whole budget), it stays on probation.
func (s *RistrettoStore) promote(sh *ristShard, id string, e *ristrettoEntry, now int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.prob[id] != e || now >= e.expires {
		return
	}
	if s.admit(id, e, now) {
		s.dropProb(sh, id, e)
	}
}

// admit puts e into the cache under id, waits until ristretto has applied
// the write, and reports whether it holds e. With two frequency counters
// for all keys (see NewRistrettoStore), ristretto refuses a new key only
// in a corner case (a cache of one session, the last key it counted), so
// a refusal is retried; a session larger than the cache's budget is never
// admitted.
func (s *RistrettoStore) admit(id string, e *ristrettoEntry, now int64) bool {
	ttl := max(time.Duration(e.expires-now), time.Millisecond) // ristretto's clock is the wall clock
	for range 3 {
		if e.cost > s.cache.MaxCost() {
			return false
		}
		if !s.cache.SetWithTTL(id, e, e.cost, ttl) {
			s.cache.Wait() // the write buffer was full: let it drain
			continue
		}
		s.cache.Wait()
		if got, ok := s.cache.Get(id); ok && got == e {
			return true
		}
	}
	return false
}

// Save implements Store. It waits until ristretto has applied a write to
// the cache and verifies that the session was admitted.
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
	sh := s.shard(id)
	sh.mu.Lock()
	rec, queued, err := s.saveLocked(sh, id, u, ttl, now)
	sh.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sessionmw: RistrettoStore.Save %s: %w", fingerprint(id), err)
	}
	s.relieve(now)
	if queued && s.order.len() > 2*int(s.probCount.Load())+4096 {
		s.order.compact(func(t ticket[string]) bool {
			sh := s.shard(t.key)
			sh.mu.RLock()
			defer sh.mu.RUnlock()
			e, ok := sh.prob[t.key]
			return ok && e.seq == t.seq
		})
	}
	return rec, nil
}

// dropProb removes id's probation entry e from sh (locked).
func (s *RistrettoStore) dropProb(sh *ristShard, id string, e *ristrettoEntry) {
	delete(sh.prob, id)
	s.probBytes.Add(-e.cost)
	s.probCount.Add(-1)
}

// addProb adds e under id to sh (locked).
func (s *RistrettoStore) addProb(sh *ristShard, id string, e *ristrettoEntry) {
	sh.prob[id] = e
	s.probBytes.Add(e.cost)
	s.probCount.Add(1)
}

// saveLocked is saveAt under the lock of id's shard; queued reports a
// session that entered probation.
func (s *RistrettoStore) saveLocked(sh *ristShard, id string, u Update, ttl time.Duration, now int64) (rec *Record, queued bool, err error) {
	old, where := s.findLocked(sh, id)
	live := old != nil && now < old.expires
	if !live && !u.Replace {
		return nil, false, ErrNotFound
	}
	if live && old.rec.Meta.Successor != "" {
		return nil, false, ErrSuperseded
	}
	var base *Record // nil unless the id holds a live session
	prevSubject := ""
	if live {
		base, prevSubject = old.rec, old.rec.Meta.Subject
	}
	rec = Merge(base, u)
	e := &ristrettoEntry{id: id, rec: rec, expires: now + int64(ttl), cost: recordCost(id, rec) + entryOverhead}
	switch class := admissionClass(id, &rec.Meta, live && where == inCache); {
	case pinnedID(id):
		if err := s.pin(sh, id, e, old, now); err != nil {
			return nil, false, err
		}
	case class == classProbation, class == classSuperseded && where == inProbation:
		if e.cost > s.probBudget {
			return nil, false, fmt.Errorf("session of %d bytes over the %d-byte probation budget: %w", e.cost, s.probBudget, ErrStoreFull)
		}
		if where == inProbation {
			s.dropProb(sh, id, old)
		}
		queued = !live || where != inProbation
		if queued {
			e.seq = s.seq.Add(1)
		} else {
			e.seq = old.seq // keeps its place in the order
		}
		s.addProb(sh, id, e)
		if queued {
			s.order.push(id, e.seq)
		}
	default: // proven, or superseded in the cache
		if !s.admit(id, e, now) {
			return nil, false, fmt.Errorf("session of %d bytes not admitted to the %d-byte budget of proven sessions: %w", e.cost, s.cache.MaxCost(), ErrStoreFull)
		}
		if where == inProbation {
			s.dropProb(sh, id, old)
		}
	}
	s.subjects.saved(id, live, prevSubject, rec.Meta.Subject)
	return rec, queued, nil
}

// pin stores a token or revocation entry e under id, replacing old (which
// may be nil), within the budget of proven sessions, which it shrinks.
func (s *RistrettoStore) pin(sh *ristShard, id string, e, old *ristrettoEntry, now int64) error {
	grow := e.cost
	if old != nil {
		grow -= old.cost
	}
	if grow > 0 && s.pinBytes.Load()+grow >= s.protBudget {
		return fmt.Errorf("tokens and revocation entries fill the %d-byte budget of proven sessions: %w", s.protBudget, ErrStoreFull)
	}
	sh.pinned[id] = e
	s.resizeCache(s.pinBytes.Add(grow))
	if len(sh.pinned) > 2*sh.swept+16 {
		s.sweepPinned(sh, now)
	}
	return nil
}

// resizeCache gives the cache what pinned entries leave of its budget.
func (s *RistrettoStore) resizeCache(pinned int64) {
	s.cache.UpdateMaxCost(max(s.protBudget-pinned, 1))
}

// sweepPinned drops sh's expired pinned entries.
func (s *RistrettoStore) sweepPinned(sh *ristShard, now int64) {
	var freed int64
	for id, e := range sh.pinned {
		if now >= e.expires {
			delete(sh.pinned, id)
			freed += e.cost
			if s.evictions.active() {
				s.evictions.send(Eviction{ID: id, Meta: e.rec.Meta, Reason: "expired"})
			}
		}
	}
	sh.swept = len(sh.pinned)
	if freed > 0 {
		s.resizeCache(s.pinBytes.Add(-freed))
	}
}

// relieve evicts sessions on probation, oldest first, while probation is
// over its budget.
func (s *RistrettoStore) relieve(now int64) {
	for s.probBytes.Load() > s.probBudget {
		t, ok := s.order.pop()
		if !ok {
			return
		}
		sh := s.shard(t.key)
		sh.mu.Lock()
		e, ok := sh.prob[t.key]
		if !ok || e.seq != t.seq {
			sh.mu.Unlock()
			continue // a stale ticket
		}
		s.dropProb(sh, t.key, e)
		sh.mu.Unlock()
		if s.evictions.active() {
			s.evictions.send(Eviction{ID: t.key, Meta: e.rec.Meta, Reason: evictionReason(now, e.expires)})
		}
	}
}

// onEvict is ristretto's OnEvict: a proven session evicted to make room,
// or expired and cleaned up.
func (s *RistrettoStore) onEvict(item *ristretto.Item[*ristrettoEntry]) {
	e := item.Value
	if e == nil || s.closed.Load() || !s.evictions.active() {
		return
	}
	s.evictions.send(Eviction{ID: e.id, Meta: e.rec.Meta, Reason: evictionReason(time.Now().UnixNano(), e.expires)})
}

// NotifyEvictions implements EvictionNotifier: f learns of every session
// evicted from probation or from the cache (Reason "evicted"), and of
// expired ones the store cleans up (Reason "expired"; an expired session
// on probation may be reported only when it is evicted, as "expired"),
// from a goroutine of the store's. A listener that falls thousands of
// reports behind misses some.
func (s *RistrettoStore) NotifyEvictions(f func(Eviction)) (stop func()) {
	return s.evictions.register(f)
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
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, _ := s.findLocked(sh, id); e != nil && time.Now().UnixNano() < e.expires && e.rec.Meta.Subject == subject {
		return
	}
	s.subjects.move(id, subject, "")
}

// Delete implements Store.
func (s *RistrettoStore) Delete(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrStoreClosed
	}
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, where := s.findLocked(sh, id)
	if e != nil {
		s.subjects.move(id, e.rec.Meta.Subject, "")
	}
	switch where {
	case inProbation:
		s.dropProb(sh, id, e)
	case inPinned:
		delete(sh.pinned, id)
		s.resizeCache(s.pinBytes.Add(-e.cost))
	default:
		// Also when Get missed: the cache may hold an expired record.
		s.cache.Del(id)
		s.cache.Wait()
	}
	return nil
}

// Close stops the cache and the delivery of evictions. Later calls return
// ErrStoreClosed.
func (s *RistrettoStore) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.cache.Close()
		s.evictions.close()
	}
	return nil
}

// entryOverhead is what the store spends on a session beyond what
// recordCost counts: the map slot or cache item, the entry, the id's
// string and the probation ticket. With it, the estimate of a small
// session on probation (416 bytes) matches the heap it takes (measured:
// 418 bytes).
const entryOverhead = 224

// recordCost estimates the bytes a session occupies.
func recordCost(id string, r *Record) int64 {
	m := &r.Meta
	n := int64(len(id)) + 96 + int64(len(m.Audience)+len(m.Successor)+len(m.Subject)+len(m.Credential)+len(m.Remember))
	if m.Groups != nil {
		n += valueCost(m.Groups)
	}
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

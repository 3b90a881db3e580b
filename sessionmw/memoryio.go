package sessionmw

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Defaults of MemoryIO.
const (
	// DefaultSweepInterval is how often MemoryIO removes expired sessions
	// in the background. Expired sessions are never returned in between.
	DefaultSweepInterval = time.Minute
	// DefaultMemoryMaxEntries caps the sessions one MemoryIO holds (110
	// to 170 bytes each for a small idle session, see MemoryIO). Beyond
	// it, new sessions push out the oldest unproven ones; only when proven
	// sessions fill it does a new session fail with ErrStoreFull
	// (answered 503).
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
//
// # Admission: what happens when it fills up
//
// MemoryIO holds at most WithMaxEntries sessions (DefaultMemoryMaxEntries).
// A new session starts on probation, in a space of at most WithProbation
// sessions (default: half the cap); when probation or the whole store is
// full, the oldest session on probation is evicted to make room, instead
// of the newcomer being refused. A session leaves probation for good once
// it proves itself: its client comes back with the cookie (the session is
// loaded), it logs in, it is a renewal's successor, or it is a remember-me
// token or a revocation entry. Proven sessions are never evicted to make
// room; when they alone fill the store, a new session fails with
// ErrStoreFull (503) while every existing one keeps working, and renewals
// still succeed (they are count-neutral: the old id is superseded and
// expires within the grace period). So a flood of cookie-less requests
// that each create a session only recycles the probation space: real
// users who come back, log in or renew keep their sessions, and a new
// visitor is evicted only if a whole probation space of newer sessions
// arrives before their second request. Memory stays bounded by the cap.
// Evictions (reason "evicted") and sweeps of expired sessions (reason
// "expired") are reported to the functions registered with
// NotifyEvictions.
//
// # Memory
//
// A session holding at most one value of a basic type (bool, an integer
// or a float, such as a counter) and no identity is kept compact: in one
// 64-byte map slot that the garbage collector does not scan (110 to 170
// bytes of heap per session, with the map's spare room and its place in
// the probation order), so a million idle sessions cost the collector
// next to nothing. Its first load builds its *Record, which the store
// keeps while the session is in use; the sweep makes sessions idle for a
// whole sweep interval compact again. Other sessions (logged in, several
// values, strings) keep their *Record, about 200 bytes more.
type MemoryIO struct {
	seed       maphash.Seed
	shards     [memShards]memShard
	maxEntries int64 // 0: no cap
	probation  int64 // cap on sessions on probation; 0: no cap
	reserve    int64 // room over the cap for renewals
	// Sessions held, by admission class, expired ones not yet swept
	// included; superseded ones count towards no cap.
	nProb, nProt, nSup atomic.Int64
	// The order sessions entered probation, by canonical UUID and by any
	// other id, and the sequence numbers it hands out.
	uorder     probQueue[[16]byte]
	oorder     probQueue[string]
	seq        atomic.Uint32
	strs       memStrings
	sweepEvery time.Duration
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	closed     atomic.Bool
	subjects   subjectIndex
	evictions  evictions
}

var _ EvictionNotifier = (*MemoryIO)(nil)

type memShard struct {
	mu sync.RWMutex
	// uuids holds the middleware's ids (canonical UUID strings) by their
	// 16 bytes, sparing each session a 48-byte string; other holds any
	// other id a caller of the Store interface may use.
	uuids map[[16]byte]memEntry
	other map[string]memEntry
	// recs holds the records of entries that are not compact; free lists
	// its unused slots.
	recs []memSlot
	free []uint32
	_    [32]byte // keep shards on separate cache lines
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

// memSlot holds the *Record of an entry that is not compact: a session
// that does not fit a memEntry, or one in use, whose loads then return
// the record without building it. used is set (atomically, under the
// read lock) by every load; the sweep makes idle sessions compact again.
type memSlot struct {
	rec  *Record
	used uint32
}

// full returns the *Record of a non-compact entry, nil for a compact one.
// Call it with sh locked.
func (sh *memShard) full(e *memEntry) *Record {
	if ref := e.ref(); ref != 0 {
		return sh.recs[ref-1].rec
	}
	return nil
}

// keep stores rec for entry e, reusing e's slot if it has one, and marks
// it used.
func (sh *memShard) keep(e *memEntry, rec *Record) {
	ref := e.ref()
	if ref == 0 {
		if n := len(sh.free); n > 0 {
			ref = sh.free[n-1] + 1
			sh.free = sh.free[:n-1]
		} else {
			sh.recs = append(sh.recs, memSlot{})
			ref = uint32(len(sh.recs))
		}
		e.setRef(ref)
	}
	sh.recs[ref-1] = memSlot{rec: rec, used: 1}
}

// freeRef frees record slot ref (0: none).
func (sh *memShard) freeRef(ref uint32) {
	if ref != 0 {
		sh.recs[ref-1] = memSlot{}
		sh.free = append(sh.free, ref-1)
	}
}

// release frees e's record slot, if it has one, for an entry that goes.
func (sh *memShard) release(e *memEntry) {
	sh.freeRef(e.ref())
	e.setRef(0)
}

// popOldest returns the oldest ticket of the probation order.
func (s *MemoryIO) popOldest() (memID, uint32, bool) {
	us, uok := s.uorder.front()
	os, ook := s.oorder.front()
	if uok && (!ook || older(us, os)) {
		if t, ok := s.uorder.pop(); ok {
			return memID{u: t.key, uuid: true}, t.seq, true
		}
	}
	if t, ok := s.oorder.pop(); ok {
		return memID{s: t.key}, t.seq, true
	}
	if t, ok := s.uorder.pop(); ok {
		return memID{u: t.key, uuid: true}, t.seq, true
	}
	return memID{}, 0, false
}

// compactOrder drops stale tickets from the probation order once they
// outnumber live ones. Call it holding no shard lock.
func (s *MemoryIO) compactOrder() {
	if s.uorder.len()+s.oorder.len() <= 2*int(s.nProb.Load())+4096 {
		return
	}
	s.uorder.compact(func(t ticket[[16]byte]) bool { return s.onProbation(memID{u: t.key, uuid: true}, t.seq) })
	s.oorder.compact(func(t ticket[string]) bool { return s.onProbation(memID{s: t.key}, t.seq) })
}

// onProbation reports whether k holds the probation entry of ticket seq.
func (s *MemoryIO) onProbation(k memID, seq uint32) bool {
	sh := s.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e, ok := sh.get(k)
	return ok && e.class() == classProbation && e.seq == seq
}

// String returns the id k was parsed from.
func (k memID) String() string {
	if k.uuid {
		return uuid.UUID(k.u).String()
	}
	return k.s
}

// MemoryOption configures a MemoryIO.
type MemoryOption func(*MemoryIO)

// WithSweepInterval sets how often expired sessions are removed in the
// background (default DefaultSweepInterval; 0 or less disables sweeping,
// leaving expired entries in memory until they are read, overwritten or
// evicted).
func WithSweepInterval(d time.Duration) MemoryOption {
	return func(s *MemoryIO) { s.sweepEvery = d }
}

// WithMaxEntries caps the number of sessions (default
// DefaultMemoryMaxEntries; 0 or less: no cap, and no cap on probation
// unless WithProbation sets one). See MemoryIO for what happens at the
// cap.
func WithMaxEntries(n int) MemoryOption {
	return func(s *MemoryIO) { s.maxEntries = max(int64(n), 0) }
}

// WithProbation caps the sessions on probation, which have not proven
// themselves yet (default: half of WithMaxEntries; never more than it).
// When probation is full, its oldest session is evicted to make room for
// a new one. A smaller probation space bounds the memory a flood of new
// sessions takes, but gives a new visitor less time to come back before
// the flood pushes their session out: at r new sessions per second, about
// n/r seconds. n must be at least 1 (0 or less: the default).
func WithProbation(n int) MemoryOption {
	return func(s *MemoryIO) { s.probation = max(int64(n), 0) }
}

// NewMemoryIO returns an empty in-memory store. Call Close to stop its
// background sweeper.
func NewMemoryIO(opts ...MemoryOption) *MemoryIO {
	s := &MemoryIO{seed: maphash.MakeSeed(), maxEntries: DefaultMemoryMaxEntries, sweepEvery: DefaultSweepInterval}
	s.strs.keys.limit, s.strs.auds.limit = internKeys, internAuds
	for i := range s.shards {
		s.shards[i].uuids = make(map[[16]byte]memEntry)
		s.shards[i].other = make(map[string]memEntry)
	}
	for _, o := range opts {
		o(s)
	}
	if s.probation == 0 {
		s.probation = s.maxEntries / 2
	}
	if s.maxEntries > 0 {
		s.probation = max(min(s.probation, s.maxEntries), 1)
		s.reserve = max(s.maxEntries/1000, 64)
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

// counter returns the count of admission class c.
func (s *MemoryIO) counter(c uint8) *atomic.Int64 {
	switch c {
	case classProbation:
		return &s.nProb
	case classProtected:
		return &s.nProt
	}
	return &s.nSup
}

// Load implements Store.
func (s *MemoryIO) Load(ctx context.Context, id string) (*Record, error) {
	return s.loadAt(ctx, id, time.Now().UnixNano())
}

// loadAt is Load at the time now (Unix nanoseconds), for the middleware,
// which has read the clock already. Loading a session on probation proves
// it: the client came back.
func (s *MemoryIO) loadAt(_ context.Context, id string, now int64) (*Record, error) {
	if s.closed.Load() {
		return nil, ErrStoreClosed
	}
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.RLock()
	e, ok := sh.get(k)
	var rec *Record
	if ref := e.ref(); ok && ref != 0 {
		slot := &sh.recs[ref-1]
		rec = slot.rec
		if atomic.LoadUint32(&slot.used) == 0 {
			atomic.StoreUint32(&slot.used, 1)
		}
	}
	sh.mu.RUnlock()
	if !ok || now >= e.expires {
		return nil, nil
	}
	if rec == nil || e.class() == classProbation {
		return s.use(sh, k, e), nil
	}
	return rec, nil
}

// use returns the record of k's entry e, which a load found compact or on
// probation: it proves the session and keeps the record built, so that
// the next loads return it as it is (until the sweep finds the session
// idle), unless the entry changed meanwhile.
func (s *MemoryIO) use(sh *memShard, k memID, e memEntry) *Record {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cur, ok := sh.get(k)
	rec := sh.full(&e)
	if !ok || cur != e {
		if rec == nil {
			rec = s.strs.record(&e)
		}
		return rec
	}
	if e.class() == classProbation {
		e.setClass(classProtected)
		s.nProb.Add(-1)
		s.nProt.Add(1)
	}
	if rec == nil {
		rec = s.strs.record(&e)
		sh.keep(&e, rec)
	}
	sh.put(k, e)
	return rec
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
	old, had := sh.get(k)
	live := had && now < old.expires
	if !live && !u.Replace {
		sh.mu.Unlock()
		return nil, fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), ErrNotFound)
	}
	if live && old.class() == classSuperseded {
		sh.mu.Unlock()
		return nil, fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), ErrSuperseded)
	}
	var rec *Record
	prevSubject := ""
	switch {
	case !live:
		rec = mergeEntries(nil, u)
	case old.ref() != 0:
		base := sh.full(&old)
		rec, prevSubject = Merge(base, u), base.Meta.Subject
	default:
		rec = s.mergeCompact(&old, u)
	}
	class := admissionClass(id, &rec.Meta, live && old.class() == classProtected)
	if !live {
		if err := s.room(class, &rec.Meta); err != nil {
			sh.mu.Unlock()
			return nil, fmt.Errorf("sessionmw: MemoryIO.Save %s: %w", fingerprint(id), err)
		}
	}

	// A new session, or one not in use, is kept compact until loaded (if
	// it fits); one in use keeps its record, in its slot.
	e := memEntry{expires: now + int64(ttl), flags: class}
	ref := old.ref() // old is zero unless had
	if (!live || ref == 0) && s.strs.pack(rec, &e) {
		sh.freeRef(ref)
	} else {
		e.setRef(ref)
		sh.keep(&e, rec)
	}
	// A session on probation keeps its place in the order; one entering
	// it queues at the back.
	queued := class == classProbation && !(live && old.class() == classProbation)
	switch {
	case queued:
		e.seq = s.seq.Add(1)
	case class == classProbation:
		e.seq = old.seq
	}
	sh.put(k, e)
	if queued {
		if k.uuid {
			s.uorder.push(k.u, e.seq)
		} else {
			s.oorder.push(k.s, e.seq)
		}
	}
	if !had || old.class() != class {
		if had {
			s.counter(old.class()).Add(-1)
		}
		s.counter(class).Add(1)
	}
	s.subjects.saved(id, live, prevSubject, rec.Meta.Subject)
	sh.mu.Unlock()
	if !live && class != classSuperseded {
		s.relieve(now)
	}
	if queued {
		s.compactOrder()
	}
	return rec, nil
}

// mergeCompact is Merge for a compact entry.
func (s *MemoryIO) mergeCompact(old *memEntry, u Update) *Record {
	var kept [1]Entry
	n := 0
	if old.key != 0 && !u.Replace {
		key := s.strs.keys.str(old.key)
		if !containsKey(u.Delete, key) && indexOf(u.Set, key) < 0 {
			kept[0], n = s.strs.value(old), 1
		}
	}
	return mergeEntries(kept[:n], u)
}

// room checks that a new session of class c with metadata m may be added.
// While sessions on probation remain, one of them makes room.
func (s *MemoryIO) room(c uint8, m *Meta) error {
	if s.maxEntries == 0 || c == classSuperseded {
		return nil
	}
	prob, prot := s.nProb.Load(), s.nProt.Load()
	if prob > 0 || prob+prot < s.maxEntries {
		return nil
	}
	if c == classProtected && renewal(m) && prot < s.maxEntries+s.reserve {
		return nil
	}
	return fmt.Errorf("MemoryIO holds %d proven sessions, its cap: %w", prot, ErrStoreFull)
}

// over reports whether probation, or the whole store, is over its cap
// while some session on probation could be evicted.
func (s *MemoryIO) over() bool {
	prob := s.nProb.Load()
	if prob == 0 {
		return false
	}
	return (s.probation > 0 && prob > s.probation) || (s.maxEntries > 0 && prob+s.nProt.Load() > s.maxEntries)
}

// evicted is a session evicted or swept, to report once its shard is
// unlocked.
type evicted struct {
	reason string // "": nothing to report
	k      memID
	e      memEntry
	r      *Record // the record of a non-compact entry
}

// relieve evicts sessions on probation, oldest first, while the store is
// over a cap.
func (s *MemoryIO) relieve(now int64) {
	for s.over() {
		k, seq, ok := s.popOldest()
		if !ok {
			return
		}
		sh := s.shard(k)
		sh.mu.Lock()
		e, ok := sh.get(k)
		if !ok || e.class() != classProbation || e.seq != seq {
			sh.mu.Unlock()
			continue // a stale ticket
		}
		r := sh.full(&e)
		s.dropLocked(sh, k, &e)
		sh.release(&e)
		sh.mu.Unlock()
		if s.evictions.active() {
			s.report(evicted{reason: evictionReason(now, e.expires), k: k, e: e, r: r})
		}
	}
}

// report sends ev to the eviction listeners.
func (s *MemoryIO) report(ev evicted) {
	if ev.reason == "" {
		return
	}
	meta := s.strs.meta(&ev.e)
	if ev.r != nil {
		meta = ev.r.Meta
	}
	s.evictions.send(Eviction{ID: ev.k.String(), Meta: meta, Reason: ev.reason})
}

// NotifyEvictions implements EvictionNotifier: f learns of every session
// evicted from probation (Reason "evicted") and every expired session the
// sweeper removes (Reason "expired"), from a goroutine of the store's. A
// listener that falls thousands of reports behind misses some.
func (s *MemoryIO) NotifyEvictions(f func(Eviction)) (stop func()) {
	return s.evictions.register(f)
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
	if e, ok := sh.get(k); ok && time.Now().UnixNano() < e.expires {
		if r := sh.full(&e); r != nil && r.Meta.Subject == subject {
			return
		}
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
	defer sh.mu.Unlock()
	if e, ok := sh.get(k); ok {
		s.dropLocked(sh, k, &e)
		if r := sh.full(&e); r != nil {
			s.subjects.move(id, r.Meta.Subject, "")
		}
		sh.release(&e)
	}
	return nil
}

// dropLocked removes k's entry e from sh and from the counts; e's record
// slot is left for the caller to release.
func (s *MemoryIO) dropLocked(sh *memShard, k memID, e *memEntry) {
	sh.del(k)
	s.counter(e.class()).Add(-1)
}

// Len returns the number of sessions held, including expired ones not yet
// swept.
func (s *MemoryIO) Len() int { return int(s.nProb.Load() + s.nProt.Load() + s.nSup.Load()) }

// Sweep removes expired sessions now. The background sweeper calls it.
func (s *MemoryIO) Sweep() {
	now := time.Now().UnixNano()
	notify := s.evictions.active()
	var gone []evicted
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for u, e := range sh.uuids {
			switch {
			case now >= e.expires:
				gone = s.sweepLocked(sh, memID{u: u, uuid: true}, e, notify, gone)
			case e.ref() != 0 && s.idle(sh, &e):
				sh.uuids[u] = e
			}
		}
		for id, e := range sh.other {
			switch {
			case now >= e.expires:
				gone = s.sweepLocked(sh, memID{s: id}, e, notify, gone)
			case e.ref() != 0 && s.idle(sh, &e):
				sh.other[id] = e
			}
		}
		sh.mu.Unlock()
		for _, ev := range gone {
			s.report(ev)
		}
		gone = gone[:0]
	}
	s.compactOrder()
}

// idle makes entry e, which keeps its record, compact if it was not used
// since the last sweep and fits, and reports whether it did; a used entry
// is marked unused.
func (s *MemoryIO) idle(sh *memShard, e *memEntry) bool {
	ref := e.ref()
	slot := &sh.recs[ref-1]
	if slot.used != 0 {
		slot.used = 0
		return false
	}
	c := memEntry{expires: e.expires, seq: e.seq, flags: e.class()}
	if !s.strs.pack(slot.rec, &c) {
		return false
	}
	sh.freeRef(ref)
	*e = c
	return true
}

func (s *MemoryIO) sweepLocked(sh *memShard, k memID, e memEntry, notify bool, gone []evicted) []evicted {
	s.dropLocked(sh, k, &e)
	r := sh.full(&e)
	if r != nil && r.Meta.Subject != "" {
		s.subjects.move(k.String(), r.Meta.Subject, "")
	}
	sh.release(&e)
	if notify {
		gone = append(gone, evicted{reason: "expired", k: k, e: e, r: r})
	}
	return gone
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

// Close stops the background sweeper and the delivery of evictions, and
// waits for them to exit. Later calls return ErrStoreClosed. Close is
// idempotent.
func (s *MemoryIO) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		s.evictions.close()
	})
	return nil
}

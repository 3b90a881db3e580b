package sessionmw

import (
	"fmt"
	"iter"
	"reflect"
	"slices"
	"sync"

	"github.com/sessionmw/go/sessionmw/internal/values"
)

// Session is one visitor's data, a dictionary from string keys to values,
// like authx_extra's session dict. Get it from SessionManager.GetSession.
// It is safe for concurrent use by the goroutines of one request.
//
// Values keep their Go type on every store, and no two requests ever share
// a mutable value: Set keeps a copy of a map, slice or pointer, and Get
// hands out a copy, so a value changed in place is saved only when it is
// Set again, on MemoryIO as on Redis. Stores that serialise (redisstore,
// pgstore, sqlitestore, cookie storage) use GobCodec; see Codec for the
// types that need no gob.Register.
//
// Only changed keys are saved: two concurrent requests that Set different
// keys both persist. For the same key, the last save wins.
type Session struct {
	mu      sync.Mutex
	base    *Record  // as loaded; never modified
	set     []Entry  // keys set by this request
	deleted []string // keys of base deleted by this request
	cleared bool     // base is ignored
	dirty   bool
	strict  bool // WithStrictValues: Set checks that the value round-trips
	orphan  bool // no middleware saves it: a Set is reported (once)
}

// Get returns the value stored under key and whether it exists. A map,
// slice or pointer comes back as a copy of its own: changing it in place
// changes nothing in the session until it is Set again.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.getLocked(key)
	return values.Clone(v), ok
}

func (s *Session) getLocked(key string) (any, bool) {
	if i := indexOf(s.set, key); i >= 0 {
		return s.set[i].Value, true
	}
	if s.cleared || containsKey(s.deleted, key) {
		return nil, false
	}
	return s.base.Get(key)
}

// Get returns the value stored under key in s as a T. ok is false when the
// key is missing or holds a value of another type, except that integer
// types convert into one another when the value fits (an int stored on
// one instance is an int64 to Get[int64] on any store).
//
//	n, _ := sessionmw.Get[int](s, "test_counter")
func Get[T any](s *Session, key string) (v T, ok bool) {
	x, found := s.Get(key)
	if !found {
		return v, false
	}
	if v, ok = x.(T); ok {
		return v, true
	}
	if c, ok := values.Convert(x, reflect.TypeFor[T]()); ok {
		return c.Interface().(T), true
	}
	return v, false
}

// Has reports whether key is in the session.
func (s *Session) Has(key string) bool {
	_, ok := s.Get(key)
	return ok
}

// Set stores value under key; the session keeps a copy of a map, slice or
// pointer, so changing it afterwards changes nothing until it is Set
// again. The session is saved before the response headers are written.
//
// Any value GobCodec keeps works on every store: see Codec for the types
// that need no registration. With WithStrictValues, Set panics on a value
// that would not come back from a store that serialises.
func (s *Session) Set(key string, value any) {
	if s.strict {
		mustRoundTrip(key, value)
	}
	if s.orphan {
		warnOrphanWrite()
	}
	value = values.Clone(value)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	if i := slices.Index(s.deleted, key); i >= 0 {
		s.deleted = slices.Delete(s.deleted, i, i+1)
	}
	if i := indexOf(s.set, key); i >= 0 {
		s.set[i].Value = value
		return
	}
	s.set = append(s.set, Entry{Key: key, Value: value})
}

// Delete removes key from the session.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := indexOf(s.set, key); i >= 0 {
		s.set = slices.Delete(s.set, i, i+1)
		s.dirty = true
	}
	if !s.cleared && !containsKey(s.deleted, key) {
		if _, ok := s.base.Get(key); ok {
			s.deleted = append(s.deleted, key)
			s.dirty = true
		}
	}
}

// Clear removes every key (authx_extra's session.clear()). The session and
// its id stay; use SessionManager.Destroy to end it.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set, s.deleted = nil, nil
	s.cleared = true
	s.dirty = true
}

// Len returns the number of keys.
func (s *Session) Len() int {
	return len(s.Keys())
}

// Keys returns the keys, in no particular order.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, e := range s.entriesLocked() {
		keys = append(keys, e.Key)
	}
	return keys
}

// All iterates over the keys and values, in no particular order, on a
// snapshot taken when iteration starts.
func (s *Session) All() iter.Seq2[string, any] {
	s.mu.Lock()
	es := s.entriesLocked()
	s.mu.Unlock()
	return func(yield func(string, any) bool) {
		for _, e := range es {
			if !yield(e.Key, values.Clone(e.Value)) {
				return
			}
		}
	}
}

// Modified reports whether the session was changed by this request.
func (s *Session) Modified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// entriesLocked returns the session's current entries in a new slice.
func (s *Session) entriesLocked() []Entry {
	var out []Entry
	if !s.cleared && s.base != nil {
		for _, e := range s.base.Values {
			if containsKey(s.deleted, e.Key) || indexOf(s.set, e.Key) >= 0 {
				continue
			}
			out = append(out, e)
		}
	}
	return append(out, s.set...)
}

// update returns what to save. With full, it is the whole session as a
// Replace (new ids, renewals, Clear); otherwise the delta.
func (s *Session) update(full bool, m Meta) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	if full || s.cleared {
		return Update{Replace: true, Set: s.entriesLocked(), Meta: m}
	}
	return Update{Set: s.set, Delete: s.deleted, Meta: m}
}

// markSaved makes the saved state the new base, so a later save (after the
// response was committed) only sends what changed since, and returns it.
// u is the update that was saved.
//
// stored, when not nil, is the record the store kept for u (immutable, so
// it can be shared); it is built from u otherwise.
func (s *Session) markSaved(u Update, stored *Record) *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stored == nil {
		stored = Merge(s.base, u)
	}
	s.base = stored
	s.set, s.deleted, s.cleared, s.dirty = nil, nil, false, false
	return s.base
}

// reset empties the session entirely, as for a new visitor.
func (s *Session) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base, s.set, s.deleted, s.cleared, s.dirty = nil, nil, nil, false, false
}

// touched reports whether this request set or deleted key, or cleared the
// session.
func (s *Session) touched(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cleared || indexOf(s.set, key) >= 0 || containsKey(s.deleted, key)
}

// wasCleared reports whether this request cleared the session.
func (s *Session) wasCleared() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cleared
}

// mustRoundTrip panics unless v survives GobCodec unchanged (nil and
// empty containers count as equal, as gob does not keep the difference).
func mustRoundTrip(key string, v any) {
	b, err := GobCodec{}.Encode(v)
	if err == nil {
		var back any
		if back, err = (GobCodec{}).Decode(b); err == nil && !values.EqualStored(v, back) {
			err = fmt.Errorf("it comes back as %#v (%T)", back, back)
		}
	}
	if err != nil {
		panic(fmt.Sprintf("sessionmw: Set(%q, %T): the value cannot be stored on every store: %v (register its type with gob.Register)", key, v, err))
	}
}

// entries returns the session's current entries (shared values: callers
// must not change them).
func (s *Session) entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entriesLocked()
}

// rewriteAll marks every value of the base as changed, so that the next
// save writes them all again.
func (s *Session) rewriteAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base == nil || len(s.base.Values) == 0 {
		s.dirty = true
		return
	}
	for _, e := range s.base.Values {
		if indexOf(s.set, e.Key) < 0 && !containsKey(s.deleted, e.Key) {
			s.set = append(s.set, e)
		}
	}
	s.dirty = true
}

// touchAll marks the session changed without changing a value, so that
// its metadata is saved.
func (s *Session) touchAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
}

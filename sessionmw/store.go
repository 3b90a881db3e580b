package sessionmw

import (
	"context"
	"slices"
	"time"
)

// Store keeps sessions on the server side. It is the contract every backend
// (MemoryIO, RistrettoStore, redisstore, …) fulfils; the exported conformance
// suite in package sessionmw/storetest checks it.
//
// Every method takes the request's context and must return promptly once that
// context is done. Implementations are safe for concurrent use.
type Store interface {
	// Load returns the record saved under id.
	//
	// An id the store does not know, or whose TTL has passed, is reported as
	// (nil, nil): that is not an error. A non-nil error means the store could
	// not answer (unreachable, timed out, undecodable data); the middleware
	// then calls its error handler instead of starting a fresh session, so
	// that stored data is never overwritten because of a transient failure.
	//
	// The returned *Record is shared: callers must not modify it, and the
	// store must not modify it after returning it (Save builds a new one).
	Load(ctx context.Context, id string) (*Record, error)

	// Save applies u to the record under id and makes the record expire ttl
	// from now. The TTL is always positive: no session lives forever.
	//
	// With u.Replace the record is created or overwritten with exactly
	// u.Set. Without it, u is a delta: u.Set is merged in and u.Delete
	// removed, keeping every other key as it is in the store (which another
	// request may have changed since this one loaded it; that is how two
	// concurrent requests that change different keys both persist). A delta
	// for an id the store does not hold (expired, destroyed by a concurrent
	// logout) must not recreate it: Save returns an error wrapping
	// ErrNotFound and stores nothing.
	//
	// A record whose Meta.Successor is set is superseded: a Save on it
	// (delta or Replace) while it lives returns an error wrapping
	// ErrSuperseded and stores nothing. Renewal relies on this to be a
	// compare-and-set: of two requests that mark the same id with a
	// successor, exactly one succeeds, and a superseded id is never
	// extended, un-superseded or written to afterwards.
	//
	// Save must not retain u.Set or u.Delete after it returns.
	Save(ctx context.Context, id string, u Update, ttl time.Duration) error

	// Delete removes id. Deleting an unknown id is not an error.
	Delete(ctx context.Context, id string) error
}

// Record is one session as a Store keeps it: the application's values and
// the middleware's own metadata. Records are immutable once built.
type Record struct {
	// Values holds the application's data, at most one entry per key.
	Values []Entry

	// inline holds Values for the common one-entry session, in the same
	// allocation as the Record (one fewer allocation and pointer chase).
	// It comes before Meta so that a load, which reads Values, the
	// timestamps, Audience and Successor, touches two cache lines.
	inline [1]Entry

	// Meta is maintained by the middleware, never by the application.
	Meta Meta
}

// Get returns the value stored under key.
func (r *Record) Get(key string) (any, bool) {
	if r == nil {
		return nil, false
	}
	for i := range r.Values {
		if r.Values[i].Key == key {
			return r.Values[i].Value, true
		}
	}
	return nil, false
}

// Entry is one key and its value in a session.
type Entry struct {
	Key   string
	Value any
}

// Meta is the middleware's bookkeeping for a session, stored beside the
// application's values. Times are Unix nanoseconds (0: unset) so that every
// store can keep them compactly. Stores must round-trip every field.
type Meta struct {
	// Created is when the session was first saved.
	Created int64
	// Issued is when the current id was issued (creation or last renewal).
	// Auto-renewal compares against it.
	Issued int64
	// Saved is when the session was last saved or touched; the idle timeout
	// counts from it.
	Saved int64
	// Audience is the audience the session belongs to (WithAudience).
	Audience string
	// Successor is set on an id that auto-renewal replaced, for the short
	// grace period it stays readable: the id the session moved to.
	// Requests still carrying the old id are served the successor.
	Successor string
	// Subject, Credential and Groups are the identity that authenticated
	// the session (SessionManager.Login); all empty for an anonymous
	// session. Stores implementing SubjectIndex index records by Subject.
	Subject    string
	Credential string
	Groups     []string
	// Remember is the id of the remember-me token issued with this
	// session (WithRemember), revoked with it.
	Remember string
	// Bind is a keyed hash of the client attributes the session is bound
	// to (WithBind), or "" for an unbound session.
	Bind string
	// Deadline is a time (Unix nanoseconds) the session ends at the
	// latest, set with SessionManager.SetDeadline; 0 for none.
	Deadline int64
	// Persist makes the session's cookie persistent (SessionManager.
	// RememberMe): it outlives the browser, with a Max-Age of the time
	// left.
	Persist bool
	// Sealed holds, encrypted, the metadata that must not be readable in
	// the store (WithEncryptionAtRest, WithHashedIDs, WithHashedSubjects):
	// opaque to stores, which only round-trip it.
	Sealed string
}

// SubjectIndex is an optional Store capability, found by type assertion:
// a store that implements it indexes every record whose Meta.Subject is
// set, so that a subject's sessions can be listed (and revoked) without
// scanning the store. Save adds a record to its subject's entry, Delete
// and expiry remove it (expired entries may be pruned lazily, but must
// never be returned).
type SubjectIndex interface {
	// SubjectSessions returns the live sessions of subject, oldest first
	// (by Meta.Created). An unknown subject gives an empty list.
	SubjectSessions(ctx context.Context, subject string) ([]SessionInfo, error)
}

// SessionInfo describes one stored session.
type SessionInfo struct {
	ID   string
	Meta Meta
}

// Update is what Store.Save applies to one record.
type Update struct {
	// Replace drops every value the store holds for the id before Set is
	// applied, and creates the record when it is missing.
	Replace bool
	// Set holds the values to store, at most one entry per key.
	Set []Entry
	// Delete holds the keys to remove.
	Delete []string
	// Meta replaces the record's metadata.
	Meta Meta
}

// Merge returns the record that results from applying u to old (which may be
// nil). It never modifies old, and it copies what it keeps from u. Stores
// that keep *Record values in memory use it to implement Save.
func Merge(old *Record, u Update) *Record {
	var kept []Entry
	if !u.Replace && old != nil {
		kept = old.Values
	}
	return mergeEntries(kept, u)
}

// mergeEntries is Merge for a record whose values are kept (nil for none
// or a Replace). It only copies from kept, so a store that keeps values
// in another form can pass a slice on its stack.
func mergeEntries(kept []Entry, u Update) *Record {
	keepOld := func(e Entry) bool { return !containsKey(u.Delete, e.Key) && indexOf(u.Set, e.Key) < 0 }
	keepNew := func(e Entry) bool { return !containsKey(u.Delete, e.Key) }
	n := 0 // counted first, so that one entry fits in the record itself
	for _, e := range kept {
		if keepOld(e) {
			n++
		}
	}
	for _, e := range u.Set {
		if keepNew(e) {
			n++
		}
	}
	rec := &Record{}
	var vals []Entry
	if n <= len(rec.inline) {
		vals = rec.inline[:0:n]
	} else {
		vals = make([]Entry, 0, n)
	}
	for _, e := range kept {
		if keepOld(e) {
			vals = append(vals, e)
		}
	}
	for _, e := range u.Set {
		if keepNew(e) {
			vals = append(vals, e)
		}
	}
	rec.Values, rec.Meta = vals, u.Meta
	rec.Meta.Groups = slices.Clone(u.Meta.Groups)
	return rec
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func indexOf(es []Entry, k string) int {
	for i := range es {
		if es[i].Key == k {
			return i
		}
	}
	return -1
}

// clockedStore is implemented by this package's stores, which check expiry
// against a clock: the middleware passes the time it read once per request
// (reading the clock costs as much as the rest of a MemoryIO lookup), and
// gets back the record a save stored, which it keeps as the session's new
// base instead of building the same record again.
type clockedStore interface {
	loadAt(ctx context.Context, id string, now int64) (*Record, error)
	saveAt(ctx context.Context, id string, u Update, ttl time.Duration, now int64) (*Record, error)
}

// loadAt loads id from s, at now if the store takes the time.
func loadAt(ctx context.Context, s Store, id string, now int64) (*Record, error) {
	if c, ok := s.(clockedStore); ok {
		return c.loadAt(ctx, id, now)
	}
	return s.Load(ctx, id)
}

// saveAt saves u under id in s, at now if the store takes the time. The
// record is what the store kept, or nil if it does not say.
func saveAt(ctx context.Context, s Store, id string, u Update, ttl time.Duration, now int64) (*Record, error) {
	if c, ok := s.(clockedStore); ok {
		return c.saveAt(ctx, id, u, ttl, now)
	}
	return nil, s.Save(ctx, id, u, ttl)
}

// Eviction describes a session a store dropped on its own, not through
// Delete: swept after expiry, or evicted to make room.
type Eviction struct {
	ID     string
	Meta   Meta
	Reason string // "expired" or "evicted"
}

// EvictionNotifier is an optional Store capability, found by type
// assertion: a store that drops sessions on its own reports each one to
// every function registered with NotifyEvictions, from its own goroutine,
// after the session is gone. The returned stop function unregisters f.
// Middlewares register when they are created (for their hooks and
// metrics) and unregister on Close.
type EvictionNotifier interface {
	NotifyEvictions(f func(Eviction)) (stop func())
}

package bench

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/uuid"
	"github.com/gorilla/sessions"

	"github.com/sessionmw/go/sessionmw"
)

// secret is every contender's key (at least 32 bytes).
var secret = []byte("sessionmw bench secret, 32+ bytes long")

// counterKey is the one session value every handler reads and writes.
const counterKey = "counter"

// lib is one contender as the benchmarks drive it.
type lib struct {
	name string
	// wrap puts the library's middleware around a handler (identity for
	// libraries without one).
	wrap func(http.Handler) http.Handler
	// get returns the request's counter (0 when unset); nil for bare.
	get func(r *http.Request) int
	// set stores n as the request's counter; nil for bare.
	set func(w http.ResponseWriter, r *http.Request, n int)
	// add stores one session holding counter=1 directly through the
	// library's store API, in exactly the form its middleware would have
	// stored it for a new visitor; nil when there is no server-side state.
	add func()
	// seedWrap, when not nil, replaces wrap for creating the sessions of
	// returning visitors (another instance writes, this one reads).
	seedWrap func(http.Handler) http.Handler
}

// handler is the counter handler through l: read the counter, store
// counter+1 when write, answer 204. check, if not nil, sees the value
// read (or written).
func (l *lib) handler(write bool, check func(int)) http.Handler {
	return l.handlerWrapped(l.wrap, write, check)
}

func (l *lib) handlerWrapped(wrap func(http.Handler) http.Handler, write bool, check func(int)) http.Handler {
	if l.get == nil { // bare
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
	}
	return wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.get(r)
		if write {
			n++
			l.set(w, r, n)
		}
		if check != nil {
			check(n)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// seedHandler is the handler that creates sessions for returning visitors.
func (l *lib) seedHandler() http.Handler {
	if l.seedWrap != nil {
		return l.handlerWrapped(l.seedWrap, true, nil)
	}
	return l.handler(true, nil)
}

type libMaker struct {
	name string
	new  func(tb testing.TB) *lib
}

// memLibs are the in-memory contenders, the bare baseline first.
var memLibs = []libMaker{
	{"bare", newBare},
	{"floor", newFloor},
	{"sessionmw", newSessionmw},
	{"scs", newSCS},
	{"gorilla", newGorilla},
}

func newBare(testing.TB) *lib {
	return &lib{name: "bare", wrap: func(h http.Handler) http.Handler { return h }}
}

// sessionmwLib drives a sessionmw middleware on store.
func sessionmwLib(tb testing.TB, name string, store sessionmw.Store) *lib {
	tb.Helper()
	mw, err := sessionmw.New(secret, sessionmw.WithStore(store))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mw.Close() })
	return &lib{
		name: name,
		wrap: mw.Handler,
		get: func(r *http.Request) int {
			n, _ := sessionmw.Get[int](sessionmw.FromRequest(r).GetSession(), counterKey)
			return n
		},
		set: func(_ http.ResponseWriter, r *http.Request, n int) {
			sessionmw.FromRequest(r).GetSession().Set(counterKey, n)
		},
	}
}

func newSessionmw(tb testing.TB) *lib {
	store := sessionmw.NewMemoryIO()
	tb.Cleanup(func() { store.Close() })
	l := sessionmwLib(tb, "sessionmw", store)
	ctx := context.Background()
	l.add = func() {
		// What the middleware saves for a new visitor who set counter=1:
		// a Replace with the session's entries and fresh metadata, under
		// a UUIDv4 id, for the idle timeout (MaxAge is 0).
		now := time.Now().UnixNano()
		err := store.Save(ctx, uuid.NewString(), sessionmw.Update{
			Replace: true,
			Set:     []sessionmw.Entry{{Key: counterKey, Value: 1}},
			Meta:    sessionmw.Meta{Created: now, Issued: now, Saved: now},
		}, sessionmw.DefaultIdleTimeout)
		if err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

// scsLib drives scs's LoadAndSave on store.
func scsLib(name string, store scs.Store) (*lib, *scs.SessionManager) {
	sm := scs.New()
	sm.Store = store
	return &lib{
		name: name,
		wrap: sm.LoadAndSave,
		get:  func(r *http.Request) int { return sm.GetInt(r.Context(), counterKey) },
		set: func(_ http.ResponseWriter, r *http.Request, n int) {
			sm.Put(r.Context(), counterKey, n)
		},
	}, sm
}

func newSCS(tb testing.TB) *lib {
	store := memstore.New()
	tb.Cleanup(store.StopCleanup)
	l, sm := scsLib("scs", store)
	l.add = func() {
		// What scs's Commit stores for a new visitor: the gob of the
		// deadline and values under a random 32-byte base64 token.
		deadline := time.Now().Add(sm.Lifetime).UTC()
		b, err := sm.Codec.Encode(deadline, map[string]any{counterKey: 1})
		if err != nil {
			tb.Fatal(err)
		}
		if err := store.Commit(randToken(32), b, deadline); err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

func newGorilla(tb testing.TB) *lib {
	const name = "gsid"
	store := sessions.NewCookieStore(secret) // authentication key only: signed, not encrypted
	return &lib{
		name: "gorilla",
		wrap: func(h http.Handler) http.Handler { return h },
		get: func(r *http.Request) int {
			s, _ := store.Get(r, name)
			n, _ := s.Values[counterKey].(int)
			return n
		},
		set: func(w http.ResponseWriter, r *http.Request, n int) {
			s, _ := store.Get(r, name)
			s.Values[counterKey] = n
			if err := s.Save(r, w); err != nil {
				panic(err)
			}
		},
	}
}

func randToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// floor is the reference the brief asks for: the least work a signed
// cookie holding a server-side session id can cost. The cookie is
// "id.base64(HMAC-SHA256(id))"; a request costs r.Cookie, one HMAC with a
// pooled hasher, hmac.Equal, one map lookup under RLock and r.WithContext.
// It has no expiry, no lazy save, no store interface: it is a floor, not a
// library.
type floor struct {
	pool sync.Pool // *floorScratch
	mu   sync.RWMutex
	m    map[string]*floorSession
}

type floorScratch struct {
	h   hash.Hash
	buf [64]byte // the id, then the base64 MAC, copied so nothing escapes
	sum [sha256.Size]byte
	mac [sha256.Size]byte
}

type floorSession struct {
	mu   sync.Mutex
	id   string // "" until saved
	vals []floorEntry
}

type floorEntry struct {
	key string
	val any
}

type floorKey struct{}

const floorCookie = "fid"

// strictB64 refuses set unused bits in the last character, so that one MAC
// has one spelling.
var strictB64 = base64.RawURLEncoding.Strict()

func newFloor(testing.TB) *lib {
	f := &floor{m: make(map[string]*floorSession)}
	f.pool.New = func() any { return &floorScratch{h: hmac.New(sha256.New, secret)} }
	return &lib{
		name: "floor",
		wrap: f.wrap,
		get: func(r *http.Request) int {
			s := r.Context().Value(floorKey{}).(*floorSession)
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, e := range s.vals {
				if e.key == counterKey {
					n, _ := e.val.(int)
					return n
				}
			}
			return 0
		},
		set: func(w http.ResponseWriter, r *http.Request, n int) {
			s := r.Context().Value(floorKey{}).(*floorSession)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.setLocked(counterKey, n)
			if s.id == "" {
				s.id = f.insert(s)
				w.Header().Add("Set-Cookie", floorCookie+"="+f.sign(s.id)+"; Path=/; HttpOnly; SameSite=Lax")
			}
		},
		add: func() {
			s := &floorSession{}
			s.setLocked(counterKey, 1)
			s.id = f.insert(s)
		},
	}
}

func (s *floorSession) setLocked(key string, v any) {
	for i := range s.vals {
		if s.vals[i].key == key {
			s.vals[i].val = v
			return
		}
	}
	s.vals = append(s.vals, floorEntry{key, v})
}

func (f *floor) insert(s *floorSession) string {
	id := randToken(16)
	f.mu.Lock()
	f.m[id] = s
	f.mu.Unlock()
	return id
}

func (f *floor) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *floorSession
		if c, err := r.Cookie(floorCookie); err == nil {
			if id, ok := f.verify(c.Value); ok {
				f.mu.RLock()
				s = f.m[id]
				f.mu.RUnlock()
			}
		}
		if s == nil {
			s = &floorSession{} // saved on the first set
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), floorKey{}, s)))
	})
}

func (f *floor) sign(id string) string {
	sc := f.pool.Get().(*floorScratch)
	defer f.pool.Put(sc)
	sc.h.Reset()
	sc.h.Write([]byte(id))
	return id + "." + base64.RawURLEncoding.EncodeToString(sc.h.Sum(sc.sum[:0]))
}

func (f *floor) verify(v string) (string, bool) {
	id, mac, ok := strings.Cut(v, ".")
	if !ok || len(id) > 64 || len(mac) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return "", false
	}
	sc := f.pool.Get().(*floorScratch)
	defer f.pool.Put(sc)
	sc.h.Reset()
	sc.h.Write(sc.buf[:copy(sc.buf[:], id)])
	sum := sc.h.Sum(sc.sum[:0])
	if _, err := strictB64.Decode(sc.mac[:], sc.buf[:copy(sc.buf[:], mac)]); err != nil {
		return "", false
	}
	return id, hmac.Equal(sum, sc.mac[:])
}

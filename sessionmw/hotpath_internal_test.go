package sessionmw

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNewIDIsRandomV4(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := newID()
		u, err := uuid.Parse(id)
		if err != nil {
			t.Fatalf("newID() = %q: %v", id, err)
		}
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("newID() = %s: version %d, variant %v; want 4, RFC 4122", id, u.Version(), u.Variant())
		}
		if u.String() != id {
			t.Fatalf("newID() = %q is not canonical", id)
		}
		if seen[id] {
			t.Fatalf("newID() repeated %s", id)
		}
		seen[id] = true
	}
}

// The one-allocation Set-Cookie rendering must be byte for byte what the
// general path (encode, then gorilla/sessions' NewCookie) produces.
func TestSessionCookieFastMatchesNewCookie(t *testing.T) {
	opts := [][]Option{
		nil,
		{WithSecure(true), WithSameSite(http.SameSiteStrictMode), WithDomain("example.com"), WithPath("/app")},
		{WithSessionCookie("__Host-sid"), WithSecure(true), WithPartitioned(true)},
	}
	for _, o := range opts {
		mw, err := New([]byte("0123456789abcdef0123456789abcdef"), o...)
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Now().Unix()
		mw.ids.now = func() int64 { return ts }
		u := uuid.New()
		fast, ok := mw.sessionCookieFast(u)
		if !ok {
			t.Fatalf("%v: fast path not taken", o)
		}
		v, err := mw.ids.encode(mw.cfg.cookieName, u.String())
		if err != nil {
			t.Fatal(err)
		}
		if slow := mw.renderCookie(mw.cfg.cookieName, v, 0); fast != slow {
			t.Errorf("fast path  %q\nNewCookie  %q", fast, slow)
		}
		mw.Close()
	}
	// Persistent cookies (Expires changes every second) and ids outside
	// cookies take the general path.
	for _, o := range []Option{WithMaxAge(time.Hour), WithKeyLookup("header:X-Session")} {
		mw, err := New([]byte("0123456789abcdef0123456789abcdef"), WithMaxAge(time.Hour), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := mw.sessionCookieFast(uuid.New()); ok {
			t.Errorf("fast path taken with %v", o)
		}
		mw.Close()
	}
}

func TestMergeKeepsOneEntryInline(t *testing.T) {
	old := Merge(nil, Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}})
	rec := Merge(old, Update{Set: []Entry{{Key: "n", Value: 2}}})
	if len(rec.Values) != 1 || rec.Values[0].Value != 2 {
		t.Fatalf("Values = %v, want [n=2]", rec.Values)
	}
	if &rec.Values[0] != &rec.inline[0] {
		t.Error("a one-entry record allocated its values separately")
	}
	rec = Merge(rec, Update{Set: []Entry{{Key: "m", Value: 3}}, Delete: []string{"n"}})
	if len(rec.Values) != 1 || rec.Values[0].Key != "m" {
		t.Fatalf("Values = %v, want [m=3]", rec.Values)
	}
	rec = Merge(rec, Update{Set: []Entry{{Key: "a", Value: 4}}})
	if len(rec.Values) != 2 || rec.Values[0].Key != "m" || rec.Values[1].Key != "a" {
		t.Fatalf("Values = %v, want [m=3 a=4]", rec.Values)
	}
}

// The allocations of the middleware on a returning read: the manager, the
// request copy that WithContext makes, and the id string (the Cookie
// header is scanned in place). A change that adds one should be
// deliberate (the performance issue's budget is 5 over the floor's).
func TestReturningReadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	mw, err := New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, _ := Get[int](FromRequest(r).GetSession(), "n"); n != 1 {
			t.Errorf("n = %d, want 1", n)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	set := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		FromRequest(r).GetSession().Set("n", 1)
	}))
	rec := httptest.NewRecorder()
	set.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	w := &headerWriter{h: make(http.Header, 4)}
	allocs := testing.AllocsPerRun(1000, func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	})
	// manager, request copy (WithContext), id string
	const want = 3
	if allocs > want {
		t.Errorf("a returning read allocates %v times, want at most %d", allocs, want)
	}
}

// headerWriter is a ResponseWriter that keeps headers and discards the rest.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(int)             {}

// saveAt hands back the record the store kept, which the middleware then
// shares as the session's base: a Load must return it (MemoryIO keeps a
// new small session compact, and its first Load builds an equal record,
// which it then keeps while the session is in use), and honour now for
// expiry.
func TestSaveAtReturnsStoredRecord(t *testing.T) {
	rs, err := NewRistrettoStore(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]clockedStore{"MemoryIO": NewMemoryIO(WithSweepInterval(0)), "RistrettoStore": rs}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			defer s.(interface{ Close() error }).Close()
			ctx := t.Context()
			id := uuid.NewString()
			now := time.Now().UnixNano()
			saved, err := s.saveAt(ctx, id, Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}, Meta: Meta{Saved: now}}, time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.(Store).Load(ctx, id)
			if err != nil || got == nil || (got != saved && !reflect.DeepEqual(*got, *saved)) {
				t.Fatalf("Load = %+v, %v; saveAt returned %+v", got, err, saved)
			}
			if again, _ := s.(Store).Load(ctx, id); again != got {
				t.Fatalf("a second Load = %p, the first %p: the record in use is built again", again, got)
			}
			if v, _ := saved.Get("n"); v != 1 || saved.Meta.Saved != now {
				t.Fatalf("saved record = %+v", saved)
			}
			// A delta on it; the record returned holds both.
			delta, err := s.saveAt(ctx, id, Update{Set: []Entry{{Key: "m", Value: 2}}, Meta: Meta{Saved: now + 1}}, time.Minute, now+1)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := delta.Get("n"); v != 1 || delta == saved {
				t.Fatalf("delta record = %+v", delta)
			}
			// Expiry follows the time given, not the wall clock.
			if rec, _ := s.loadAt(ctx, id, now+int64(time.Minute)+2); rec != nil {
				t.Error("loadAt after the TTL still returns the record")
			}
			if rec, _ := s.loadAt(ctx, id, now+int64(time.Second)); rec != delta {
				t.Error("loadAt within the TTL does not return the stored record")
			}
		})
	}
}

package sessionmw_test

// Shared pieces of the lifecycle tests (lifecycle_test.go) and the model
// test (model_test.go): a clock that tests move, a small browser that keeps
// cookies the way one does, an application that exposes every lifecycle
// operation over HTTP, and the stores every invariant is checked on.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

var lcSecret = []byte("lifecycle-secret-0123456789abcdef")

// testClock runs with the real clock plus an offset that only grows, so it
// is never behind the real time a Redis TTL counts in.
type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// storeKind makes one kind of server store for a test.
type storeKind struct {
	name string
	make func(t *testing.T) sessionmw.Store
}

// redisOnce starts one redis-server per top-level test, shared by its
// subtests (each store gets its own key prefix).
type redisOnce struct {
	top *testing.T // owns the server
	mu  sync.Mutex
	srv *redistest.Server
	n   int
}

func (r *redisOnce) store(t *testing.T, opts ...redisstore.Option) sessionmw.Store {
	r.mu.Lock()
	if r.srv == nil {
		r.srv = redistest.Start(r.top)
	}
	r.n++
	prefix := fmt.Sprintf("t%d:", r.n)
	r.mu.Unlock()
	s, err := redisstore.New(context.Background(), r.srv.URL(), append(opts, redisstore.WithPrefix(prefix))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serverStores are the stores every lifecycle invariant is checked on. The
// redis-server they share is started on first use and stopped when the
// test ends (so call it from the top-level test).
func serverStores(t *testing.T) []storeKind {
	r := &redisOnce{top: t}
	return []storeKind{
		{"MemoryIO", func(t *testing.T) sessionmw.Store {
			s := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"Ristretto", func(t *testing.T) sessionmw.Store {
			s, err := sessionmw.NewRistrettoStore(64 << 20)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"Redis", func(t *testing.T) sessionmw.Store { return r.store(t) }},
		{"RedisClientCache", func(t *testing.T) sessionmw.Store { return r.store(t, redisstore.WithClientCache(time.Second)) }},
	}
}

// newMW builds a middleware on clock, failing the test on error.
func newMW(t *testing.T, clock *testClock, opts ...sessionmw.Option) *sessionmw.Middleware {
	t.Helper()
	mw, err := sessionmw.New(lcSecret, append([]sessionmw.Option{sessionmw.WithSecure(false)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		sessionmw.SetClock(mw, clock.now)
	}
	t.Cleanup(func() { mw.Close() })
	return mw
}

// lcApp exposes the lifecycle over HTTP. Every answer is, after the
// session was committed, "id=ID sub=SUBJECT k=v …" (keys sorted).
//
//	/login?sub=S   Login as S          /logout   Destroy
//	/set?k=K&v=V   Set K to V          /renew    RenewID
//	/get           read only           /clear    Clear
//	/gate?…        wait for gate(r) to return, then act on ?login= and ?k=&v=
//
// Any path also takes ?login=S (after the gate) and ?k=K&v=V (last).
func lcApp(gate func(r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		s := m.GetSession()
		q := r.URL.Query()
		switch r.URL.Path {
		case "/login":
			if err := m.Login(sessionmw.Identity{Subject: q.Get("sub")}); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		case "/logout":
			if err := m.Destroy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		case "/renew":
			m.RenewID()
		case "/clear":
			m.Clear()
		case "/gate":
			if gate != nil {
				gate(r)
			}
		}
		if sub := q.Get("login"); sub != "" {
			if err := m.Login(sessionmw.Identity{Subject: sub}); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		if k := q.Get("k"); k != "" {
			s.Set(k, q.Get("v"))
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, describe(m))
	})
}

// describe renders what a handler sees of its session.
func describe(m *sessionmw.SessionManager) string {
	id := "-"
	if !m.IsNew() {
		id = m.GetSessionID()
	}
	sub := "-"
	if who, ok := m.Identity(); ok {
		sub = who.Subject
	}
	parts := []string{"id=" + id, "sub=" + sub}
	var kv []string
	for k, v := range m.GetSession().All() {
		kv = append(kv, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(kv)
	return strings.Join(append(parts, kv...), " ")
}

// field returns the value of name in a describe string.
func field(body, name string) string {
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

// browser keeps cookies as a browser does: by name, replaced by each
// Set-Cookie, removed by an expired one.
type browser struct {
	t       *testing.T
	h       http.Handler
	hdr     string // a header that carries the session id (header key lookup), or ""
	mu      sync.Mutex
	cookies map[string]string // by name; the header credential under hdrKey
}

// hdrKey is where a browser keeps a header credential among its cookies.
const hdrKey = "\x00header"

func newBrowser(t *testing.T, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]string{}}
}

// header is the Cookie header the browser sends.
func (b *browser) header() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.cookies))
	for n := range b.cookies {
		if n != hdrKey {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+b.cookies[n])
	}
	return strings.Join(parts, "; ")
}

// do sends a request with the browser's cookies and keeps what it is told.
func (b *browser) do(method, target string) *httptest.ResponseRecorder {
	return b.send(method, target, b.header(), true)
}

// send sends a request with the given Cookie header; keep says whether the
// browser takes in the response's cookies (false: the response was lost).
func (b *browser) send(method, target, cookie string, keep bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if v := b.cookie(hdrKey); b.hdr != "" && v != "" && cookie == b.header() {
		req.Header.Set(b.hdr, v)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	if keep {
		b.take(rec)
	}
	return rec
}

// take applies a response's Set-Cookie headers.
func (b *browser) take(rec *httptest.ResponseRecorder) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	if vs, ok := rec.Header()[http.CanonicalHeaderKey(b.hdr)]; ok && b.hdr != "" {
		if len(vs) == 0 || vs[0] == "" {
			delete(b.cookies, hdrKey)
		} else {
			b.cookies[hdrKey] = vs[0]
		}
	}
}

// cookie returns the browser's cookie called name.
func (b *browser) cookie(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cookies[name]
}

// clone is another browser holding the same cookies (a copy an attacker
// took, or a second tab after the fact).
func (b *browser) clone() *browser {
	c := newBrowser(b.t, b.h)
	c.hdr = b.hdr
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range b.cookies {
		c.cookies[k] = v
	}
	return c
}

// mustOK fails the test unless rec is a 200 and returns its body.
func mustOK(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// setTarget is the /set URL for k=v.
func setTarget(k, v string) string {
	return "/set?k=" + url.QueryEscape(k) + "&v=" + url.QueryEscape(v)
}

// liveSessions counts subject's sessions that the middleware would still
// accept at the clock's time (stores with real-time TTLs may still list
// ones the moved clock has ended).
func liveSessions(t *testing.T, mw *sessionmw.Middleware, clock *testClock, ttl time.Duration, subject string) int {
	t.Helper()
	infos, err := mw.Sessions(context.Background(), subject)
	if err != nil {
		t.Fatalf("Sessions(%q): %v", subject, err)
	}
	now := clock.now().UnixNano()
	n := 0
	for _, in := range infos {
		if now-in.Meta.Saved < int64(ttl) {
			n++
		}
	}
	return n
}

// gated holds requests at /gate: start sends one in the background and
// returns once its handler has loaded the session and stopped there;
// the function it returns lets it go on and returns its response.
type gated struct{ loaded, release chan struct{} }

func newGated() *gated { return &gated{make(chan struct{}), make(chan struct{})} }

func (g *gated) gate(*http.Request) { g.loaded <- struct{}{}; <-g.release }

func (g *gated) start(b *browser, method, target string) (finish func() *httptest.ResponseRecorder) {
	var rec *httptest.ResponseRecorder
	done := make(chan struct{})
	go func() { rec = b.do(method, target); close(done) }()
	<-g.loaded
	return func() *httptest.ResponseRecorder {
		close(g.release)
		<-done
		return rec
	}
}

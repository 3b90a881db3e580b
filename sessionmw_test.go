// End-to-end tests of sessionmw's public API, through net/http/httptest.
package sessionmw_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/sessionmw/go/internal/syncbuf"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionmw/go/sessionmw"
)

var (
	secret      = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
)

// logSink collects every log line the tests produce, so that TestMain can
// check that none of them reveals a secret, a cookie value or a session id.
var logSink = &syncBuffer{}

type syncBuffer = syncbuf.Buffer

var testLogger = slog.New(slog.NewTextHandler(logSink, &slog.HandlerOptions{Level: slog.LevelDebug}))

// seen records every cookie value and session id the tests observed.
var seen struct {
	mu     sync.Mutex
	values []string
}

func remember(vals ...string) {
	seen.mu.Lock()
	defer seen.mu.Unlock()
	for _, v := range vals {
		if len(v) >= 8 {
			seen.values = append(seen.values, v)
		}
	}
}

// countingStore counts the calls that reach a store.
type countingStore struct {
	sessionmw.Store
	loads, saves, deletes atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, id string) (*sessionmw.Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, id)
}

func (c *countingStore) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	c.saves.Add(1)
	return c.Store.Save(ctx, id, u, ttl)
}

func (c *countingStore) Delete(ctx context.Context, id string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, id)
}

type fixture struct {
	mw    *sessionmw.Middleware
	store *countingStore
	h     http.Handler
	ids   chan string
}

// counter is the seed's /session_test handler.
func counter(ids chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		s := m.GetSession()
		n, _ := sessionmw.Get[int](s, "test_counter")
		s.Set("test_counter", n+1)
		if ids != nil {
			ids <- m.GetSessionID()
		}
		fmt.Fprintf(w, `{"test_counter": %d}`, n+1)
	}
}

func newFixture(t *testing.T, h func(ids chan<- string) http.HandlerFunc, opts ...sessionmw.Option) *fixture {
	t.Helper()
	mem := sessionmw.NewMemoryIO()
	t.Cleanup(func() { mem.Close() })
	f := &fixture{store: &countingStore{Store: mem}, ids: make(chan string, 1000)}
	opts = append([]sessionmw.Option{sessionmw.WithStore(f.store), sessionmw.WithLogger(testLogger)}, opts...)
	mw, err := sessionmw.New(secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	f.mw = mw
	f.h = mw.Handler(h(f.ids))
	return f
}

// do sends a GET with the given Cookie header (may be empty).
func (f *fixture) do(cookie string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "https://example.com/session_test", nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) lastID(t *testing.T) string {
	t.Helper()
	select {
	case id := <-f.ids:
		remember(id)
		return id
	default:
		t.Fatal("the handler reported no session id")
		return ""
	}
}

// sessionCookie returns the one session Set-Cookie header of rec ("" when
// none) and fails if there are several.
func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder, name string) string {
	t.Helper()
	var found []string
	for _, v := range rec.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			found = append(found, v)
		}
	}
	if len(found) > 1 {
		t.Fatalf("%d Set-Cookie headers for %s: %q", len(found), name, found)
	}
	if len(found) == 0 {
		return ""
	}
	remember(cookieValue(found[0]))
	return found[0]
}

// cookiePair turns a Set-Cookie header into a Cookie header pair.
func cookiePair(setCookie string) string {
	pair, _, _ := strings.Cut(setCookie, ";")
	return pair
}

func cookieValue(setCookie string) string {
	_, v, _ := strings.Cut(cookiePair(setCookie), "=")
	return v
}

func body(rec *httptest.ResponseRecorder) string { return strings.TrimSpace(rec.Body.String()) }

func TestCounterIncrements(t *testing.T) {
	f := newFixture(t, counter)
	rec := f.do("")
	if rec.Code != 200 || body(rec) != `{"test_counter": 1}` {
		t.Fatalf("first visit: %d %q", rec.Code, body(rec))
	}
	sc := sessionCookie(t, rec, "sid")
	if sc == "" {
		t.Fatal("first visit set no session cookie")
	}
	id := f.lastID(t)
	cookie := cookiePair(sc)
	for want := 2; want <= 5; want++ {
		rec = f.do(cookie)
		if got := body(rec); got != fmt.Sprintf(`{"test_counter": %d}`, want) {
			t.Fatalf("visit %d: body %q", want, got)
		}
		if got := f.lastID(t); got != id {
			t.Fatalf("visit %d: id changed", want)
		}
		if sc := sessionCookie(t, rec, "sid"); sc != "" {
			cookie = cookiePair(sc)
		}
	}
	if strings.Contains(sc, id) {
		t.Fatal("the cookie carries the raw session id; it must be signed")
	}
}

func TestLazySessions(t *testing.T) {
	reader := func(ids chan<- string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n, _ := sessionmw.Get[int](sessionmw.FromRequest(r).GetSession(), "test_counter")
			fmt.Fprint(w, n)
		}
	}
	t.Run("untouched new visitor", func(t *testing.T) {
		f := newFixture(t, reader)
		rec := f.do("")
		if sc := sessionCookie(t, rec, "sid"); sc != "" {
			t.Fatalf("untouched session set a cookie: %s", sc)
		}
		if n := f.store.saves.Load() + f.store.loads.Load(); n != 0 {
			t.Fatalf("untouched session caused %d store calls", n)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "" {
			t.Fatalf("Cache-Control %q on a response without a session", cc)
		}
	})
	t.Run("read-only returning visitor", func(t *testing.T) {
		f := newFixture(t, counter)
		cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
		f.h = f.mw.Handler(reader(nil))
		saves := f.store.saves.Load()
		rec := f.do(cookie)
		if body(rec) != "1" {
			t.Fatalf("read %q, want 1", body(rec))
		}
		if sc := sessionCookie(t, rec, "sid"); sc != "" {
			t.Fatalf("read-only request set a cookie: %s", sc)
		}
		if f.store.saves.Load() != saves {
			t.Fatal("read-only request wrote to the store")
		}
		if v := rec.Header().Get("Vary"); v != "Cookie" {
			t.Fatalf("Vary = %q on a response that loaded a session, want Cookie", v)
		}
	})
}

// TestHostileCookies: whatever the client sends, it gets a fresh session
// (never a 500, never another id), and the log says why without the value.
func TestHostileCookies(t *testing.T) {
	f := newFixture(t, counter)
	foreign, err := sessionmw.New(otherSecret, sessionmw.WithStore(f.store))
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	frec := httptest.NewRecorder()
	foreign.Handler(counter(nil)).ServeHTTP(frec, httptest.NewRequest("GET", "/", nil))
	foreignValue := cookieValue(sessionCookie(t, frec, "sid"))

	otherName, err := sessionmw.New(secret, sessionmw.WithStore(f.store), sessionmw.WithSessionCookie("remember"))
	if err != nil {
		t.Fatal(err)
	}
	defer otherName.Close()
	orec := httptest.NewRecorder()
	otherName.Handler(counter(nil)).ServeHTTP(orec, httptest.NewRequest("GET", "/", nil))
	otherNameValue := cookieValue(sessionCookie(t, orec, "remember"))

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	stdAlphabet := strings.NewReplacer("-", "+", "_", "/")
	tests := []struct {
		name   string
		cookie func(good, id string) string
		same   bool // the value is the same bytes as good: same session
		why    string
	}{
		{"mac byte flipped", func(g, _ string) string { return "sid=" + flip(g, len(g)-5) }, false, "the HMAC no longer verifies"},
		{"id byte flipped", func(g, _ string) string { return "sid=" + flip(g, 20) }, false, "the signed part changed"},
		{"truncated by one", func(g, _ string) string { return "sid=" + g[:len(g)-1] }, false, "incomplete value"},
		{"truncated to half", func(g, _ string) string { return "sid=" + g[:len(g)/2] }, false, "incomplete value"},
		{"empty value", func(string, string) string { return "sid=" }, false, "empty is absent"},
		{"other secret", func(string, string) string { return "sid=" + foreignValue }, false, "signed with a key we do not hold"},
		{"other cookie name", func(string, string) string { return "sid=" + otherNameValue }, false, "the MAC binds the cookie name"},
		{"raw uuid", func(_, id string) string { return "sid=" + id }, false, "client-chosen unsigned id: never adopted"},
		{"garbage", func(string, string) string { return "sid=%%%not-base64!!!" }, false, "not base64"},
		{"oversized", func(string, string) string { return "sid=" + strings.Repeat("A", 5000) }, false, "rejected before any crypto"},
		{"std base64 alphabet", func(g, _ string) string { return "sid=" + stdAlphabet.Replace(g) }, false, "another encoding of the same bytes"},
		{"padding removed", func(g, _ string) string { return "sid=" + strings.TrimRight(g, "=") }, false, "another encoding of the same bytes"},
		{"quoted", func(g, _ string) string { return `sid="` + g + `"` }, false, "another spelling: only the encoder's exact form is accepted"},
		{"non-canonical last char", func(g, _ string) string { return "sid=" + nonCanonical(g) }, false, "unused base64 bits set: same bytes, refused"},
		{"case variant name", func(g, _ string) string { return "SID=" + g }, false, "cookie names are case-sensitive"},
		{"host prefix variant", func(g, _ string) string { return "__host-sid=" + g }, false, "not our cookie"},
		{"nul byte", func(g, _ string) string { return "sid=" + g[:10] + "\x00" + g[10:] }, false, "dropped by the cookie parser"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := cookieValue(sessionCookie(t, f.do(""), "sid"))
			goodID := f.lastID(t)
			cookie := tc.cookie(good, goodID)
			same := tc.same || cookie == "sid="+good // e.g. no '-' or '_' to swap
			rec := f.do(cookie)
			if rec.Code != 200 {
				t.Fatalf("status %d (%s)", rec.Code, tc.why)
			}
			id := f.lastID(t)
			if same {
				if id != goodID || body(rec) != `{"test_counter": 2}` {
					t.Fatalf("identical bytes: id changed or counter %q", body(rec))
				}
				return
			}
			if body(rec) != `{"test_counter": 1}` {
				t.Fatalf("body %q, want a fresh session (%s)", body(rec), tc.why)
			}
			if id == goodID {
				t.Fatalf("kept the original id (%s)", tc.why)
			}
			sc := sessionCookie(t, rec, "sid")
			if sc == "" || strings.Contains(sc, goodID) {
				t.Fatalf("fresh session cookie %q", sc)
			}
			if v := cookieValue(cookie); len(v) > 8 && strings.Contains(logSink.String(), v) {
				t.Fatal("the log contains the hostile cookie value")
			}
			if r, _ := f.store.Load(context.Background(), goodID); r == nil {
				t.Fatal("the legitimate session disappeared")
			}
		})
	}
}

// nonCanonical sets the unused low bits of the last base64 character
// before the padding: a different string that lax decoders map to the same
// bytes.
func nonCanonical(v string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	trimmed := strings.TrimRight(v, "=")
	pad := len(v) - len(trimmed)
	if pad == 0 {
		return v + "x" // no spare bits: make it invalid instead
	}
	last := strings.IndexByte(alphabet, trimmed[len(trimmed)-1])
	return trimmed[:len(trimmed)-1] + string(alphabet[last|1]) + v[len(trimmed):]
}

func TestUnknownSignedIDGetsNewID(t *testing.T) {
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	id := f.lastID(t)
	if err := f.store.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rec := f.do(cookie)
	newID := f.lastID(t)
	if newID == id || body(rec) != `{"test_counter": 1}` {
		t.Fatalf("deleted session: id reused=%v body=%q", newID == id, body(rec))
	}
	if r, _ := f.store.Load(context.Background(), id); r != nil {
		t.Fatal("the old id was written back")
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name    string
		opts    []sessionmw.Option
		want    []string
		notWant []string
	}{
		{"defaults", nil,
			[]string{"sid=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"},
			[]string{"Max-Age", "Expires", "Domain"}},
		{"seed example (secure off, max_age 0)", []sessionmw.Option{sessionmw.WithSecure(false), sessionmw.WithMaxAge(0)},
			[]string{"HttpOnly", "SameSite=Lax"},
			[]string{"Secure", "Max-Age", "Expires"}},
		{"max age", []sessionmw.Option{sessionmw.WithMaxAge(10 * time.Minute)},
			[]string{"Max-Age=600", "Expires="}, nil},
		{"strict, domain, path", []sessionmw.Option{sessionmw.WithSameSite(http.SameSiteStrictMode), sessionmw.WithDomain("example.com"), sessionmw.WithPath("/app")},
			[]string{"SameSite=Strict", "Domain=example.com", "Path=/app"}, nil},
		{"no httponly", []sessionmw.Option{sessionmw.WithHTTPOnly(false)}, nil, []string{"HttpOnly"}},
		{"host prefix, partitioned", []sessionmw.Option{sessionmw.WithSessionCookie("__Host-sid"), sessionmw.WithPartitioned(true)},
			[]string{"__Host-sid=", "Path=/", "Secure", "Partitioned"}, []string{"Domain"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, counter, tc.opts...)
			rec := f.do("")
			name := "sid"
			if len(tc.want) > 0 && strings.HasPrefix(tc.want[0], "__Host-") {
				name = "__Host-sid"
			}
			sc := sessionCookie(t, rec, name)
			for _, w := range tc.want {
				if !strings.Contains(sc, w) {
					t.Errorf("Set-Cookie %q lacks %q", sc, w)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(sc, nw) {
					t.Errorf("Set-Cookie %q has %q", sc, nw)
				}
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if len(name)+1+len(cookieValue(sc)) > 4096 {
				t.Errorf("cookie is %d bytes", len(sc))
			}
		})
	}
}

func TestResponseHygiene(t *testing.T) {
	h := func(ids chan<- string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
			w.Header().Set("Cache-Control", "private, max-age=0")
			sessionmw.FromRequest(r).GetSession().Set("k", 1)
			w.Write([]byte("body")) // Write only: the cookie must still go out
		}
	}
	f := newFixture(t, h)
	rec := f.do("")
	all := rec.Result().Header.Values("Set-Cookie")
	if len(all) != 2 || !strings.HasPrefix(all[0], "theme=dark") || !strings.HasPrefix(all[1], "sid=") {
		t.Fatalf("Set-Cookie headers = %q, want the handler's and the session's", all)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "private, max-age=0" {
		t.Fatalf("Cache-Control = %q: the handler's own value was replaced", cc)
	}
}

func TestSkipHeader(t *testing.T) {
	var got *sessionmw.SessionManager
	h := func(ids chan<- string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got = sessionmw.FromRequest(r)
			got.GetSession().Set("k", 1) // must be safe even when skipped
			w.Write([]byte("ok"))
		}
	}
	f := newFixture(t, h,
		sessionmw.WithSkipHeader("X-Skip-Session", "*"),
		sessionmw.WithSkipHeader("x-probe", "kube"))
	first := f.do("")
	cookie := cookiePair(sessionCookie(t, first, "sid"))
	tests := []struct {
		name   string
		hdr    []string
		skip   bool
		reason string
	}{
		{"any value", []string{"X-Skip-Session", "1"}, true, `"*" matches any value`},
		{"lower-case name", []string{"x-skip-session", "yes"}, true, "names match case-insensitively"},
		{"exact value", []string{"X-Probe", "kube"}, true, "value matches exactly"},
		{"other value", []string{"X-Probe", "kube2"}, false, "a non-matching value does not skip"},
		{"value case differs", []string{"X-Probe", "Kube"}, false, "values match exactly"},
		{"no header", nil, false, "no rule matches"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loads, saves := f.store.loads.Load(), f.store.saves.Load()
			rec := f.do(cookie, tc.hdr...)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			touched := f.store.loads.Load() != loads || f.store.saves.Load() != saves
			if tc.skip {
				if touched || got.Active() || got.GetSessionID() != "" || len(rec.Result().Cookies()) != 0 {
					t.Fatalf("skipped request touched the session (%s)", tc.reason)
				}
			} else if !touched || !got.Active() {
				t.Fatalf("request was skipped (%s)", tc.reason)
			}
		})
	}
}

func TestFromRequestOutsideMiddleware(t *testing.T) {
	m := sessionmw.FromRequest(httptest.NewRequest("GET", "/", nil))
	if m == nil || m.Active() || m.GetSessionID() != "" {
		t.Fatalf("FromRequest outside a middleware = %+v", m)
	}
	m.GetSession().Set("a", 1)
	if v, ok := sessionmw.Get[int](m.GetSession(), "a"); !ok || v != 1 {
		t.Fatal("inactive session does not hold values for the request")
	}
	m.RenewID()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestTwoMiddlewaresDoNotClash(t *testing.T) {
	user, err := sessionmw.New(secret, sessionmw.WithLogger(testLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	admin, err := sessionmw.New(otherSecret, sessionmw.WithSessionCookie("admin_sid"), sessionmw.WithSessionObject("admin"), sessionmw.WithLogger(testLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	h := user.Handler(admin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionmw.FromRequest(r).GetSession()
		a := sessionmw.FromRequestNamed(r, "admin").GetSession()
		nu, _ := sessionmw.Get[int](u, "n")
		na, _ := sessionmw.Get[int](a, "n")
		u.Set("n", nu+1)
		a.Set("n", na+10)
		fmt.Fprintf(w, "%d %d", nu+1, na+10)
	})))
	var cookies []string
	for i, want := range []string{"1 10", "2 20", "3 30"} {
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range cookies {
			req.Header.Add("Cookie", c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if body(rec) != want {
			t.Fatalf("request %d: %q, want %q", i, body(rec), want)
		}
		if i == 0 {
			cookies = []string{cookiePair(sessionCookie(t, rec, "sid")), cookiePair(sessionCookie(t, rec, "admin_sid"))}
		}
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name     string
		opts     []sessionmw.Option
		alive    time.Duration // a read after this long still finds the session
		expired  time.Duration // a read after this long (from the last save) does not
		maxAgeOK bool
	}{
		{"max age", []sessionmw.Option{sessionmw.WithMaxAge(10 * time.Minute)}, 9 * time.Minute, 10*time.Minute + time.Second, true},
		{"browser session: idle timeout", []sessionmw.Option{sessionmw.WithIdleTimeout(30 * time.Minute)}, 29 * time.Minute, 30*time.Minute + time.Second, false},
		{"browser session: default idle timeout", nil, 2*time.Hour - time.Minute, 2*time.Hour + time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, counter, tc.opts...)
				cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
				time.Sleep(tc.alive)
				rec := f.do(cookie)
				if body(rec) != `{"test_counter": 2}` {
					t.Fatalf("after %v: %q, want the session alive", tc.alive, body(rec))
				}
				if sc := sessionCookie(t, rec, "sid"); sc != "" {
					cookie = cookiePair(sc)
				}
				time.Sleep(tc.expired)
				rec = f.do(cookie)
				if body(rec) != `{"test_counter": 1}` {
					t.Fatalf("after %v idle: %q, want a fresh session", tc.expired, body(rec))
				}
			})
		})
	}
}

// TestTouchThrottled: reads refresh a session's expiry at most once per
// touch interval, so an active reader stays logged in without a store
// write on every request.
func TestTouchThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, counter, sessionmw.WithIdleTimeout(10*time.Minute))
		cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
		f.h = f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := sessionmw.Get[int](sessionmw.FromRequest(r).GetSession(), "test_counter")
			fmt.Fprint(w, n)
		}))
		saves := f.store.saves.Load()
		for i := range 30 { // 30 reads 30 s apart: 15 minutes, past the idle timeout
			time.Sleep(30 * time.Second)
			rec := f.do(cookie)
			if body(rec) != "1" {
				t.Fatalf("read %d: %q, the session expired although in use", i, body(rec))
			}
			if sc := sessionCookie(t, rec, "sid"); sc != "" {
				cookie = cookiePair(sc)
			}
		}
		if n := f.store.saves.Load() - saves; n < 7 || n > 15 {
			t.Fatalf("%d touches for 30 reads over 15 min, want one per minute at most", n)
		}
	})
}

func TestRenewID(t *testing.T) {
	f := newFixture(t, counter)
	planted := cookiePair(sessionCookie(t, f.do(""), "sid")) // e.g. an attacker's pre-login cookie
	oldID := f.lastID(t)
	login := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		m.RenewID()
		m.GetSession().Set("user", "fiona")
		f.ids <- m.GetSessionID()
	}))
	req := httptest.NewRequest("POST", "/login", nil)
	req.Header.Set("Cookie", planted)
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, req)
	newID := f.lastID(t)
	if newID == oldID {
		t.Fatal("RenewID kept the id")
	}
	after := cookiePair(sessionCookie(t, rec, "sid"))
	// The old id is retired: it leads nowhere, and no save can revive it.
	if r, _ := f.store.Load(context.Background(), oldID); r != nil && (r.Meta.Successor == "" || r.Meta.Successor == newID) {
		t.Fatalf("the old id is still live or leads to the new one: %+v", r.Meta)
	}
	if body(f.do(planted)) != `{"test_counter": 1}` {
		t.Fatal("the pre-login cookie still maps to the session")
	}
	f.lastID(t)
	rec = f.do(after)
	if body(rec) != `{"test_counter": 2}` {
		t.Fatalf("renewed session lost its data: %q", body(rec))
	}
	if got := f.lastID(t); got != newID {
		t.Fatal("renewed cookie does not map to the new id")
	}
}

func TestDestroy(t *testing.T) {
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	id := f.lastID(t)
	logout := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Destroy(); err != nil {
			t.Error(err)
		}
		w.Write([]byte("bye"))
	}))
	req := httptest.NewRequest("POST", "/logout", nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	logout.ServeHTTP(rec, req)
	sc := sessionCookie(t, rec, "sid")
	if !strings.Contains(sc, "Max-Age=0") || !strings.Contains(sc, "Expires=Thu, 01 Jan 1970") {
		t.Fatalf("logout cookie %q does not expire the session cookie", sc)
	}
	if r, _ := f.store.Load(context.Background(), id); r != nil {
		t.Fatal("destroyed session still in the store")
	}
	if body(f.do(cookie)) != `{"test_counter": 1}` {
		t.Fatal("replaying the pre-logout cookie found the session")
	}
	if f.lastID(t) == id {
		t.Fatal("replayed cookie got the old id back")
	}
}

// TestConcurrentRequestsDistinctKeys: 50 concurrent requests on one session,
// each incrementing its own key 100 times: no update may be lost.
func TestConcurrentRequestsDistinctKeys(t *testing.T) {
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	h := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		key := r.URL.Query().Get("k")
		n, _ := sessionmw.Get[int](s, key)
		s.Set(key, n+1)
	}))
	const workers, rounds = 50, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				req := httptest.NewRequest("GET", fmt.Sprintf("/?k=k%d", w), nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Errorf("status %d", rec.Code)
				}
			}
		})
	}
	wg.Wait()
	h = f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		for i := range workers {
			if n, _ := sessionmw.Get[int](s, fmt.Sprintf("k%d", i)); n != rounds {
				t.Errorf("k%d = %d, want %d", i, n, rounds)
			}
		}
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", cookie)
	h.ServeHTTP(httptest.NewRecorder(), req)
}

func TestParallelNewVisitorsGetDistinctIDs(t *testing.T) {
	f := newFixture(t, counter)
	const n = 1000
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { f.do("") })
	}
	wg.Wait()
	ids := map[string]bool{}
	for range n {
		ids[<-f.ids] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct ids for %d visitors", len(ids), n)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		opts   []sessionmw.Option
		want   string // the error must name this
	}{
		{"empty secret", nil, nil, "at least 32"},
		{"short secret", []byte("short"), nil, "secret key is 5 bytes"},
		{"empty cookie name", secret, []sessionmw.Option{sessionmw.WithSessionCookie("")}, "WithSessionCookie"},
		{"cookie name with space", secret, []sessionmw.Option{sessionmw.WithSessionCookie("my sid")}, "WithSessionCookie"},
		{"cookie name with semicolon", secret, []sessionmw.Option{sessionmw.WithSessionCookie("sid;")}, "WithSessionCookie"},
		{"negative max age", secret, []sessionmw.Option{sessionmw.WithMaxAge(-time.Second)}, "WithMaxAge: negative duration -1s"},
		{"samesite none without secure", secret, []sessionmw.Option{sessionmw.WithSameSite(http.SameSiteNoneMode), sessionmw.WithSecure(false)}, "WithSameSite"},
		{"host prefix without secure", secret, []sessionmw.Option{sessionmw.WithSessionCookie("__Host-sid"), sessionmw.WithSecure(false)}, "WithSessionCookie"},
		{"host prefix with domain", secret, []sessionmw.Option{sessionmw.WithSessionCookie("__Host-sid"), sessionmw.WithDomain("example.com")}, "WithDomain"},
		{"host prefix with path", secret, []sessionmw.Option{sessionmw.WithSessionCookie("__Host-sid"), sessionmw.WithPath("/app")}, "WithPath"},
		{"lower-case host prefix without secure", secret, []sessionmw.Option{sessionmw.WithSessionCookie("__host-sid"), sessionmw.WithSecure(false)}, "WithSessionCookie"},
		{"secure prefix without secure", secret, []sessionmw.Option{sessionmw.WithSessionCookie("__Secure-sid"), sessionmw.WithSecure(false)}, "WithSecure(true)"},
		{"partitioned without secure", secret, []sessionmw.Option{sessionmw.WithPartitioned(true), sessionmw.WithSecure(false)}, "WithPartitioned"},
		{"nil store", secret, []sessionmw.Option{sessionmw.WithStore(nil)}, "WithStore"},
		{"empty object name", secret, []sessionmw.Option{sessionmw.WithSessionObject("")}, "WithSessionObject"},
		{"bad skip header", secret, []sessionmw.Option{sessionmw.WithSkipHeader("X Skip", "*")}, "WithSkipHeader"},
		{"short idle timeout", secret, []sessionmw.Option{sessionmw.WithIdleTimeout(time.Millisecond)}, "WithIdleTimeout"},
		{"short fallback key", secret, []sessionmw.Option{sessionmw.WithSecretFallbacks([]byte("old"))}, "WithSecretFallbacks"},
		{"path without slash", secret, []sessionmw.Option{sessionmw.WithPath("app")}, "WithPath"},
		{"over-long cookie name", secret, []sessionmw.Option{sessionmw.WithSessionCookie(strings.Repeat("s", 257))}, "WithSessionCookie: cookie name \"ssssssssssssssss\"… is 257 bytes"},
		{"over-long cookie name in key lookup", secret, []sessionmw.Option{sessionmw.WithKeyLookup("cookie:" + strings.Repeat("s", 4000))}, "over the 256-byte limit"},
		{"over-long remember cookie name", secret, []sessionmw.Option{sessionmw.WithRememberCookie(strings.Repeat("r", 300))}, "WithRememberCookie"},
		{"over-long path", secret, []sessionmw.Option{sessionmw.WithPath("/" + strings.Repeat("p", 1024))}, "WithPath: path is 1025 bytes"},
		{"over-long domain", secret, []sessionmw.Option{sessionmw.WithDomain(strings.Repeat("d", 1025))}, "WithDomain: domain is 1025 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := sessionmw.New(tc.secret, tc.opts...)
			if err == nil {
				mw.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "sessionmw: ") {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// failingStore is a store whose backend is down.
type failingStore struct{ err error }

func (s failingStore) Load(context.Context, string) (*sessionmw.Record, error) { return nil, s.err }
func (s failingStore) Save(context.Context, string, sessionmw.Update, time.Duration) error {
	return s.err
}
func (s failingStore) Delete(context.Context, string) error { return s.err }

// saveFails loads fine but fails on save.
type saveFails struct {
	sessionmw.Store
	err error
}

func (s saveFails) Save(context.Context, string, sessionmw.Update, time.Duration) error {
	return s.err
}

func TestStoreErrors(t *testing.T) {
	down := fmt.Errorf("dial tcp 127.0.0.1:1: %w", sessionmw.ErrStoreUnavailable)
	// A valid cookie so that Load runs.
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	tests := []struct {
		name   string
		store  sessionmw.Store
		cookie string
		code   int
	}{
		{"load: store down", failingStore{down}, cookie, 503},
		{"load: other failure", failingStore{errors.New("corrupt record")}, cookie, 500},
		{"save: store down", saveFails{f.store, down}, "", 503},
		{"save: store full", saveFails{f.store, sessionmw.ErrStoreFull}, "", 503},
		{"save: timeout", saveFails{f.store, context.DeadlineExceeded}, "", 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := sessionmw.New(secret, sessionmw.WithStore(tc.store), sessionmw.WithLogger(testLogger))
			if err != nil {
				t.Fatal(err)
			}
			called := false
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				sessionmw.FromRequest(r).GetSession().Set("k", 1)
				w.WriteHeader(201)
				if _, err := w.Write([]byte("handler body")); err == nil {
					t.Error("Write after a failed save reported success")
				}
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if tc.cookie != "" {
				req.Header.Set("Cookie", tc.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			if strings.Contains(rec.Body.String(), "handler body") || sessionCookie(t, rec, "sid") != "" {
				t.Fatal("the handler's response or a cookie leaked out after the store failed")
			}
			if strings.HasPrefix(tc.name, "load") && called {
				t.Fatal("the handler ran without its session")
			}
		})
	}
	t.Run("custom error handler", func(t *testing.T) {
		var got error
		mw, err := sessionmw.New(secret, sessionmw.WithStore(failingStore{down}), sessionmw.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(599)
		}))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		mw.Handler(counter(nil)).ServeHTTP(rec, req)
		if rec.Code != 599 || !errors.Is(got, sessionmw.ErrStoreUnavailable) || !strings.Contains(got.Error(), "load session") {
			t.Fatalf("code %d, err %v", rec.Code, got)
		}
	})
}

// TestConcurrentLogoutNotResurrected: a slow request that loaded the
// session before a logout must not bring it back when it saves.
func TestConcurrentLogoutNotResurrected(t *testing.T) {
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	id := f.lastID(t)
	loaded, release := make(chan struct{}), make(chan struct{})
	slow := f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		close(loaded)
		<-release
		s.Set("late", true)
	}))
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		slow.ServeHTTP(rec, req)
		done <- rec
	}()
	<-loaded
	if err := f.store.Delete(context.Background(), id); err != nil { // the logout
		t.Fatal(err)
	}
	close(release)
	rec := <-done
	if rec.Code != 200 {
		t.Fatalf("slow request: status %d", rec.Code)
	}
	if r, _ := f.store.Load(context.Background(), id); r != nil {
		t.Fatal("the slow request's save resurrected the destroyed session")
	}
}

func TestKeyRotation(t *testing.T) {
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	oldMW, err := sessionmw.New(otherSecret, sessionmw.WithStore(mem))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	oldMW.Handler(counter(nil)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	oldCookie := cookiePair(sessionCookie(t, rec, "sid"))

	rotated, err := sessionmw.New(secret, sessionmw.WithStore(mem), sessionmw.WithSecretFallbacks(otherSecret))
	if err != nil {
		t.Fatal(err)
	}
	reader := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := sessionmw.Get[int](sessionmw.FromRequest(r).GetSession(), "test_counter")
		fmt.Fprint(w, n)
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", oldCookie)
	rec = httptest.NewRecorder()
	rotated.Handler(reader).ServeHTTP(rec, req)
	if body(rec) != "1" {
		t.Fatalf("cookie signed with a fallback key: %q, want the session", body(rec))
	}
	reissued := sessionCookie(t, rec, "sid")
	if reissued == "" || cookiePair(reissued) == oldCookie {
		t.Fatal("a cookie signed with a fallback key was not re-issued under the current key")
	}
	// The re-issued cookie verifies without the fallback.
	current, err := sessionmw.New(secret, sessionmw.WithStore(mem))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cookie, want string }{{cookiePair(reissued), "1"}, {oldCookie, "0"}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", tc.cookie)
		rec := httptest.NewRecorder()
		current.Handler(reader).ServeHTTP(rec, req)
		if body(rec) != tc.want {
			t.Fatalf("without fallback, cookie %q… read %q, want %q", tc.cookie[:12], body(rec), tc.want)
		}
	}
}

// TestSeveralSessionCookies: of several cookies with the session's name,
// invalid and dead ones are skipped; one live session is adopted; two
// different live sessions (a tossed cookie beside the client's own) give
// neither, so a client never lands in a session it did not start.
func TestSeveralSessionCookies(t *testing.T) {
	f := newFixture(t, counter)
	victim := cookiePair(sessionCookie(t, f.do(""), "sid"))
	victimID := f.lastID(t)
	attacker := cookiePair(sessionCookie(t, f.do(""), "sid"))
	f.lastID(t)
	dead := cookiePair(sessionCookie(t, f.do(""), "sid"))
	deadID := f.lastID(t)
	if err := f.store.Delete(context.Background(), deadID); err != nil {
		t.Fatal(err)
	}

	rec := f.do("sid=planted-garbage; " + dead + "; " + victim)
	if body(rec) != `{"test_counter": 2}` || f.lastID(t) != victimID {
		t.Fatalf("garbage and a dead id before the live cookie: %q, want the live session", body(rec))
	}
	if !strings.Contains(logSink.String(), "several session credentials") {
		t.Fatal("the anomaly was not logged")
	}
	for _, header := range []string{attacker + "; " + victim, victim + "; " + attacker} {
		rec = f.do(header)
		if body(rec) != `{"test_counter": 1}` || f.lastID(t) == victimID {
			t.Fatalf("%s: %q, want a fresh session (neither live session)", header, body(rec))
		}
	}
	if !strings.Contains(logSink.String(), "reason=ambiguous") {
		t.Fatal("the tossing was not logged")
	}
	// The victim's own session is intact.
	if rec = f.do(victim); body(rec) != `{"test_counter": 3}` {
		t.Fatalf("victim's session afterwards: %q", body(rec))
	}
	f.lastID(t)
}

func TestWriterPassesThroughFlushAndHijack(t *testing.T) {
	mw, err := sessionmw.New(secret, sessionmw.WithSecure(false))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("k", "v")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		w.Write([]byte("flushed"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})
	srv := httptest.NewServer(mw.Handler(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for path, want := range map[string]string{"/flush": "flushed", "/hijack": "hijacked"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Fatalf("%s: %q", path, b)
		}
		if path == "/flush" && len(resp.Cookies()) != 1 {
			t.Fatalf("flushed response carries %d cookies, want the session cookie", len(resp.Cookies()))
		}
	}
	u, _ := url.Parse(srv.URL)
	if len(jar.Cookies(u)) != 1 {
		t.Fatal("the browser-like client holds no session cookie")
	}
}

func TestChangesAfterWriteAreSaved(t *testing.T) {
	f := newFixture(t, counter)
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	f.h = f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("streamed"))
		sessionmw.FromRequest(r).GetSession().Set("late", "yes")
	}))
	f.do(cookie)
	var got string
	f.h = f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = sessionmw.Get[string](sessionmw.FromRequest(r).GetSession(), "late")
	}))
	f.do(cookie)
	if got != "yes" {
		t.Fatalf("late change = %q, want it saved for an existing session", got)
	}
}

func TestValuesKeepTheirType(t *testing.T) {
	type prefs struct{ Theme string }
	f := newFixture(t, func(chan<- string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s := sessionmw.FromRequest(r).GetSession()
			s.Set("int", 7)
			s.Set("prefs", prefs{"dark"})
		}
	})
	cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
	f.h = f.mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		if n, ok := sessionmw.Get[int](s, "int"); !ok || n != 7 {
			t.Errorf("Get[int] = %v, %v", n, ok)
		}
		if _, ok := sessionmw.Get[string](s, "int"); ok {
			t.Error("Get[string] of an int reported ok")
		}
		if p, ok := sessionmw.Get[prefs](s, "prefs"); !ok || p.Theme != "dark" {
			t.Errorf("Get[prefs] = %v, %v", p, ok)
		}
	}))
	f.do(cookie)
}

// TestMain runs the suite, then checks that its logs never revealed the
// secret, a cookie value or a full session id.
func TestMain(m *testing.M) {
	// Middlewares without WithLogger write to slog.Default: check those
	// lines too.
	slog.SetDefault(testLogger)
	code := m.Run()
	logs := logSink.String()
	if code == 0 {
		seen.mu.Lock()
		leaks := 0
		for _, bad := range append([]string{string(secret), string(otherSecret)}, seen.values...) {
			if strings.Contains(logs, bad) {
				fmt.Printf("FAIL: the logs contain %q…\n", bad[:8])
				leaks++
			}
		}
		full := flag.Lookup("test.run").Value.String() == ""
		if full && (len(seen.values) < 10 || !strings.Contains(logs, "session credential refused")) {
			fmt.Println("FAIL: the log check saw too little to be meaningful")
			leaks++
		}
		seen.mu.Unlock()
		if err := goleak.Find(); err != nil {
			fmt.Println("FAIL: goroutines outlived the tests:", err)
			leaks++
		}
		if leaks > 0 {
			code = 1
		}
	}
	os.Exit(code)
}

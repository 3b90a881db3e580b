// Tests of the Kong-class features: cookie storage, the timeout model,
// logout and key rotation in cookie storage.
package sessionmw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// jar is a minimal cookie jar for httptest: it applies Set-Cookie headers
// (including deletions) and renders the Cookie header.
type jar struct{ c map[string]string }

func newJar() *jar { return &jar{c: map[string]string{}} }

func (j *jar) update(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.c, c.Name)
			continue
		}
		if len(c.Name)+len(c.Value) > 4096 {
			t.Fatalf("cookie %s is %d bytes, over the 4096-byte budget", c.Name, len(c.Name)+len(c.Value))
		}
		remember(c.Value)
		j.c[c.Name] = c.Value
	}
}

func (j *jar) header() string {
	var parts []string
	for k, v := range j.c {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

// client drives h like a browser would.
type client struct {
	t   *testing.T
	h   http.Handler
	jar *jar
}

func (c *client) do(method, target string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, target, body)
	if h := c.jar.header(); h != "" {
		req.Header.Set("Cookie", h)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	c.jar.update(c.t, rec)
	return rec
}

// kongApp: GET /?set=K&size=N stores N bytes under K; GET / reads "n";
// every request increments n unless ro=1.
func kongApp(w http.ResponseWriter, r *http.Request) {
	s := sessionmw.FromRequest(r).GetSession()
	q := r.URL.Query()
	if k := q.Get("set"); k != "" {
		var size int
		fmt.Sscan(q.Get("size"), &size)
		s.Set(k, strings.Repeat("x", size))
	}
	if k := q.Get("del"); k != "" {
		s.Delete(k)
	}
	n, _ := sessionmw.Get[int](s, "n")
	if q.Get("ro") == "" {
		n++
		s.Set("n", n)
	}
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "n=%d body=%d", n, len(b))
}

func newCookieClient(t *testing.T, opts ...sessionmw.Option) (*client, *sessionmw.Middleware) {
	t.Helper()
	opts = append([]sessionmw.Option{sessionmw.WithCookieStorage(), sessionmw.WithLogger(testLogger)}, opts...)
	mw, err := sessionmw.New(secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	return &client{t: t, h: mw.Handler(http.HandlerFunc(kongApp)), jar: newJar()}, mw
}

func TestCookieStorageRoundTrip(t *testing.T) {
	c, mw := newCookieClient(t)
	if mw.Store() != nil {
		t.Fatal("cookie storage created a server store")
	}
	for want := 1; want <= 3; want++ {
		if got := body(c.do("GET", "/", nil)); got != fmt.Sprintf("n=%d body=0", want) {
			t.Fatalf("visit %d: %q", want, got)
		}
	}
	if strings.Contains(c.jar.c["sid"], "n=") {
		t.Fatal("session data readable in the cookie")
	}
	// Read-only requests send no cookie.
	if rec := c.do("GET", "/?ro=1", nil); rec.Header().Get("Set-Cookie") != "" || body(rec) != "n=3 body=0" {
		t.Fatalf("read-only request: %q, Set-Cookie %q", body(rec), rec.Header().Get("Set-Cookie"))
	}
}

func TestCookieStorageChunks(t *testing.T) {
	c, _ := newCookieClient(t, sessionmw.WithCookieChunks(4))
	// ~7 KB of data: 3 cookies.
	c.do("GET", "/?set=big&size=7000", nil)
	if len(c.jar.c) != 3 || c.jar.c["sid2"] == "" || c.jar.c["sid3"] == "" {
		t.Fatalf("7 KB session stored in cookies %v, want sid, sid2, sid3", keys(c.jar.c))
	}
	if got := body(c.do("GET", "/", nil)); got != "n=2 body=0" {
		t.Fatalf("chunked session: %q", got)
	}
	// Shrink to one cookie: the stale chunks are expired.
	rec := c.do("GET", "/?del=big", nil)
	if len(c.jar.c) != 1 {
		t.Fatalf("after shrinking: cookies %v, Set-Cookie %q", keys(c.jar.c), rec.Result().Header.Values("Set-Cookie"))
	}
	if got := body(c.do("GET", "/", nil)); got != "n=4 body=0" {
		t.Fatalf("after shrinking: %q", got)
	}
	// Over the cap: ErrSessionTooLarge, a 500, and the old cookies untouched.
	before := c.jar.header()
	rec = c.do("GET", "/?set=huge&size=20000", nil)
	if rec.Code != 500 || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("oversized session: %d, Set-Cookie %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
	if c.jar.header() != before {
		t.Fatal("a truncated cookie was sent")
	}
	if !strings.Contains(logSink.String(), "session too large") {
		t.Fatal("ErrSessionTooLarge was not reported")
	}
}

func TestCookieStorageErrSessionTooLargeIsSentinel(t *testing.T) {
	var got error
	c, _ := newCookieClient(t, sessionmw.WithCookieChunks(1), sessionmw.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(507)
	}))
	if rec := c.do("GET", "/?set=a&size=5000", nil); rec.Code != 507 || !errorsIs(got, sessionmw.ErrSessionTooLarge) {
		t.Fatalf("code %d, err %v", rec.Code, got)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCookieStorageTampering: any change to the encrypted cookie gives a
// fresh session, never an error or the old data.
func TestCookieStorageTampering(t *testing.T) {
	c, _ := newCookieClient(t)
	c.do("GET", "/?set=big&size=5000", nil) // two chunks
	c.do("GET", "/", nil)
	good := map[string]string{"sid": c.jar.c["sid"], "sid2": c.jar.c["sid2"]}
	flipAt := func(v string, i int) string {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, _ := newCookieClient(t, sessionmw.WithCookieChunks(4))
	other.do("GET", "/", nil)
	otherKey, err := sessionmw.New(otherSecret, sessionmw.WithCookieStorage())
	if err != nil {
		t.Fatal(err)
	}
	foreign := &client{t: t, h: otherKey.Handler(http.HandlerFunc(kongApp)), jar: newJar()}
	foreign.do("GET", "/", nil)

	tests := []struct {
		name   string
		cookie string
		why    string
	}{
		{"nonce byte", "sid=" + flipAt(good["sid"], 3) + "; sid2=" + good["sid2"], "the nonce is authenticated"},
		{"ciphertext byte", "sid=" + flipAt(good["sid"], 2000) + "; sid2=" + good["sid2"], "GCM refuses it"},
		{"tag byte", "sid=" + good["sid"] + "; sid2=" + flipAt(good["sid2"], len(good["sid2"])-3), "the tag is the last 16 bytes"},
		{"chunk count raised", "sid=3" + good["sid"][1:] + "; sid2=" + good["sid2"], "chunk 3 is missing"},
		{"chunk count lowered", "sid=1" + good["sid"][1:] + "; sid2=" + good["sid2"], "the payload is incomplete"},
		{"missing chunk", "sid=" + good["sid"], "sid2 is gone"},
		{"chunks swapped", "sid=2." + good["sid2"] + "; sid2=" + good["sid"][2:], "order matters"},
		{"chunk count absurd", "sid=300." + good["sid"][2:] + "; sid2=" + good["sid2"], "over the chunk cap"},
		{"other secret", "sid=" + foreign.jar.c["sid"], "another key"},
		{"other session's chunk", "sid=" + good["sid"] + "; sid2=" + flipAt(good["sid2"], 10), "mixed sessions"},
		{"garbage", "sid=1.%%%%", "not base64"},
		{"truncated", "sid=" + good["sid"][:100], "too short"},
		{"empty", "sid=", "absent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", tc.cookie)
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if rec.Code != 200 || body(rec) != "n=1 body=0" {
				t.Fatalf("%d %q, want a fresh session (%s)", rec.Code, body(rec), tc.why)
			}
		})
	}
	t.Run("300 chunk cookies", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("sid=300." + good["sid"][2:])
		for i := 2; i <= 300; i++ {
			fmt.Fprintf(&b, "; sid%d=%s", i, good["sid2"][:50])
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", b.String())
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != 200 || body(rec) != "n=1 body=0" {
			t.Fatalf("%d %q", rec.Code, body(rec))
		}
		// The fresh session's cookies must clear every stale chunk it saw
		// within the cap, and never more than the cap.
		if n := len(rec.Result().Cookies()); n > sessionmw.DefaultCookieChunks {
			t.Fatalf("%d Set-Cookie headers for one fresh session", n)
		}
	})
}

func errorsIs(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			if m, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range m.Unwrap() {
					if errorsIs(e, target) {
						return true
					}
				}
			}
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestCookieStorageKeyRotation(t *testing.T) {
	old, _ := newCookieClient(t)
	old.h = mustMW(t, otherSecret, sessionmw.WithCookieStorage()).Handler(http.HandlerFunc(kongApp))
	old.do("GET", "/", nil)
	oldCookie := old.jar.header()

	rotated := &client{t: t, h: mustMW(t, secret, sessionmw.WithCookieStorage(), sessionmw.WithSecretFallbacks(otherSecret)).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
	rotated.jar.c["sid"] = old.jar.c["sid"]
	rec := rotated.do("GET", "/?ro=1", nil)
	if body(rec) != "n=1 body=0" || rec.Header().Get("Set-Cookie") == "" {
		t.Fatalf("fallback-key cookie: %q, re-issued %v", body(rec), rec.Header().Get("Set-Cookie") != "")
	}
	current := &client{t: t, h: mustMW(t, secret, sessionmw.WithCookieStorage()).Handler(http.HandlerFunc(kongApp)), jar: rotated.jar}
	if got := body(current.do("GET", "/?ro=1", nil)); got != "n=1 body=0" {
		t.Fatalf("re-issued cookie under the current key: %q", got)
	}
	removed := &client{t: t, h: current.h, jar: newJar()}
	req := httptest.NewRequest("GET", "/?ro=1", nil)
	req.Header.Set("Cookie", oldCookie)
	rec = httptest.NewRecorder()
	removed.h.ServeHTTP(rec, req)
	if body(rec) != "n=0 body=0" {
		t.Fatalf("cookie under a removed key: %q", body(rec))
	}
}

func mustMW(t *testing.T, key []byte, opts ...sessionmw.Option) *sessionmw.Middleware {
	t.Helper()
	mw, err := sessionmw.New(key, append([]sessionmw.Option{sessionmw.WithLogger(testLogger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	return mw
}

// TestTimeouts: idle, rolling and absolute timeouts, in both storage modes.
func TestTimeouts(t *testing.T) {
	modes := map[string][]sessionmw.Option{
		"server": nil,
		"cookie": {sessionmw.WithCookieStorage()},
	}
	for mode, base := range modes {
		t.Run(mode+"/idle", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &client{t: t, h: mustMW(t, secret, append(base, sessionmw.WithIdleTimeout(15*time.Minute))...).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
				c.do("GET", "/", nil)
				time.Sleep(14 * time.Minute) // idle−1 min: alive, and extended
				if got := body(c.do("GET", "/?ro=1", nil)); got != "n=1 body=0" {
					t.Fatalf("at idle-1m: %q", got)
				}
				time.Sleep(14 * time.Minute) // alive again thanks to the touch
				if got := body(c.do("GET", "/?ro=1", nil)); got != "n=1 body=0" {
					t.Fatalf("touch did not extend: %q", got)
				}
				time.Sleep(15*time.Minute + time.Second)
				if got := body(c.do("GET", "/?ro=1", nil)); got != "n=0 body=0" {
					t.Fatalf("at idle+1s: %q", got)
				}
			})
		})
		t.Run(mode+"/rolling without renewal", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &client{t: t, h: mustMW(t, secret, append(base, sessionmw.WithRollingTimeout(time.Hour), sessionmw.WithAutoRenew(0))...).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
				for range 6 { // a write every 10 minutes keeps it from idling
					c.do("GET", "/", nil)
					time.Sleep(10 * time.Minute)
				}
				if got := body(c.do("GET", "/", nil)); got != "n=1 body=0" {
					t.Fatalf("after the rolling timeout: %q, want a fresh session", got)
				}
			})
		})
		t.Run(mode+"/absolute", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &client{t: t, h: mustMW(t, secret, append(base, sessionmw.WithIdleTimeout(15*time.Minute), sessionmw.WithRollingTimeout(time.Hour), sessionmw.WithAbsoluteTimeout(3*time.Hour))...).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
				n := 0
				// Activity every idle/2: renewals keep it rolling until 3h.
				for elapsed := time.Duration(0); elapsed < 3*time.Hour-10*time.Minute; elapsed += 7*time.Minute + 30*time.Second {
					n++
					if got := body(c.do("GET", "/", nil)); got != fmt.Sprintf("n=%d body=0", n) {
						t.Fatalf("at %v: %q, want n=%d", elapsed, got, n)
					}
					time.Sleep(7*time.Minute + 30*time.Second)
				}
				time.Sleep(15 * time.Minute)
				if got := body(c.do("GET", "/", nil)); got != "n=1 body=0" {
					t.Fatalf("past the absolute timeout: %q", got)
				}
			})
		})
	}
}

func TestAutoRenewMustBeShorterThanRolling(t *testing.T) {
	_, err := sessionmw.New(secret, sessionmw.WithRollingTimeout(time.Hour), sessionmw.WithAutoRenew(2*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "WithAutoRenew") || !strings.Contains(err.Error(), "WithRollingTimeout") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogout(t *testing.T) {
	for _, mode := range []string{"server", "cookie", "cookie+revocation"} {
		t.Run(mode, func(t *testing.T) {
			opts := []sessionmw.Option{sessionmw.WithLogout()}
			switch mode {
			case "cookie":
				opts = append(opts, sessionmw.WithCookieStorage())
			case "cookie+revocation":
				rev := sessionmw.NewMemoryIO()
				t.Cleanup(func() { rev.Close() })
				opts = append(opts, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(rev))
			}
			c := &client{t: t, h: mustMW(t, secret, opts...).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
			c.do("GET", "/", nil)
			c.do("GET", "/", nil)
			loggedIn := c.jar.header()

			// Not a logout: GET is not a logout method; the body is untouched.
			if got := body(c.do("GET", "/?session_logout=1", nil)); got != "n=3 body=0" {
				t.Fatalf("GET with the arg: %q", got)
			}
			form := "a=1&b=2"
			if got := body(c.do("POST", "/", strings.NewReader(form), "Content-Type", "application/x-www-form-urlencoded")); got != fmt.Sprintf("n=4 body=%d", len(form)) {
				t.Fatalf("non-logout POST: %q, the next handler must get the whole body", got)
			}
			big := bytes.Repeat([]byte("x"), 10<<20)
			if got := body(c.do("POST", "/", bytes.NewReader(big), "Content-Type", "application/x-www-form-urlencoded")); got != fmt.Sprintf("n=5 body=%d", len(big)) {
				t.Fatalf("10 MB POST: %q", got)
			}
			chunked := io.MultiReader(bytes.NewReader(big), strings.NewReader("&session_logout=1"))
			req := httptest.NewRequest("POST", "/", chunked)
			req.ContentLength = -1 // unknown length: read bounded, then replayed
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", c.jar.header())
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if body(rec) != fmt.Sprintf("n=6 body=%d", len(big)+17) {
				t.Fatalf("10 MB body of unknown length: %q", body(rec))
			}
			c.jar.update(t, rec)

			// Logout through the form body.
			rec = c.do("POST", "/", strings.NewReader("session_logout=1"), "Content-Type", "application/x-www-form-urlencoded")
			if rec.Code != 200 || body(rec) != "" {
				t.Fatalf("logout: %d %q, want 200 without the next handler", rec.Code, body(rec))
			}
			if sc := rec.Header().Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
				t.Fatalf("logout did not expire the cookie: %q", sc)
			}
			if got := body(c.do("GET", "/", nil)); got != "n=1 body=0" {
				t.Fatalf("after logout: %q", got)
			}
			// Replay the logged-in cookie.
			req = httptest.NewRequest("GET", "/?ro=1", nil)
			req.Header.Set("Cookie", loggedIn)
			rec = httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			replayed := body(rec) != "n=0 body=0"
			if want := mode == "cookie"; replayed != want {
				t.Fatalf("replayed pre-logout cookie accepted = %v, want %v (%s; documented)", replayed, want, body(rec))
			}
			// Logout through the query string, with DELETE.
			c.do("GET", "/", nil)
			if rec := c.do("DELETE", "/?session_logout", nil); rec.Code != 200 || body(rec) != "" {
				t.Fatalf("DELETE logout: %d %q", rec.Code, body(rec))
			}
		})
	}
	t.Run("no session passes through", func(t *testing.T) {
		c := &client{t: t, h: mustMW(t, secret, sessionmw.WithLogout()).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
		if got := body(c.do("POST", "/?session_logout=1", nil)); got != "n=1 body=0" {
			t.Fatalf("logout without a session: %q, want the next handler", got)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for _, o := range []sessionmw.Option{sessionmw.WithLogoutMethods("PATCH"), sessionmw.WithLogoutMethods(), sessionmw.WithLogoutQueryArg("a&b")} {
			if _, err := sessionmw.New(secret, o); err == nil || !strings.Contains(err.Error(), "WithLogout") {
				t.Errorf("err = %v", err)
			}
		}
	})
}

func TestCookieStorageConfigErrors(t *testing.T) {
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	for name, opts := range map[string][]sessionmw.Option{
		"header lookup":   {sessionmw.WithCookieStorage(), sessionmw.WithKeyLookup("header:X-S")},
		"chunks too many": {sessionmw.WithCookieStorage(), sessionmw.WithCookieChunks(50)},
	} {
		if _, err := sessionmw.New(secret, opts...); err == nil || !strings.Contains(err.Error(), "WithCookie") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// WithStore and WithCookieStorage choose where sessions live: the
	// last one given wins.
	for name, tc := range map[string]struct {
		opts      []sessionmw.Option
		wantStore bool
	}{
		"store after cookie storage": {[]sessionmw.Option{sessionmw.WithCookieStorage(), sessionmw.WithStore(mem)}, true},
		"cookie storage after store": {[]sessionmw.Option{sessionmw.WithStore(mem), sessionmw.WithCookieStorage()}, false},
	} {
		mw, err := sessionmw.New(secret, tc.opts...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := mw.Store() != nil; got != tc.wantStore {
			t.Errorf("%s: server store = %v, want %v", name, got, tc.wantStore)
		}
	}
}

// TestCookieStorageTimestampsAreAuthenticated: the payload carries the
// timestamps; a client cannot decode or move them without the key.
func TestCookieStorageTimestampsAreAuthenticated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &client{t: t, h: mustMW(t, secret, sessionmw.WithCookieStorage(), sessionmw.WithAbsoluteTimeout(time.Hour), sessionmw.WithIdleTimeout(time.Hour)).Handler(http.HandlerFunc(kongApp)), jar: newJar()}
		c.do("GET", "/", nil)
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.jar.c["sid"], "1."))
		if err != nil {
			t.Fatal(err)
		}
		// Flip every byte in turn where the timestamps could sit (after the
		// 12-byte nonce): each edit must be refused.
		for i := 12; i < 12+41; i++ {
			edited := bytes.Clone(raw)
			edited[i] ^= 0x01
			req := httptest.NewRequest("GET", "/?ro=1", nil)
			req.Header.Set("Cookie", "sid=1."+base64.RawURLEncoding.EncodeToString(edited))
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if body(rec) != "n=0 body=0" {
				t.Fatalf("edited byte %d accepted: %q", i, body(rec))
			}
		}
		_ = context.Background()
	})
}

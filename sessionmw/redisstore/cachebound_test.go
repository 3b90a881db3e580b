package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// TestClientCacheRevocationBound: a session destroyed through one
// instance is refused by another instance that has it in its client-side
// cache within the cache's TTL, even when the invalidation the server
// pushes never arrives (its connection stalls): a revocation does not
// depend on that message.
func TestClientCacheRevocationBound(t *testing.T) {
	const ttl = 300 * time.Millisecond
	srv := redistest.Start(t)
	proxy := redistest.StartProxy(t, srv.Addr())
	secret := []byte(strings.Repeat("s", 32))
	mk := func(url string) http.Handler {
		s, err := redisstore.New(context.Background(), url, redisstore.WithPrefix("bound:"),
			redisstore.WithClientCache(ttl), redisstore.WithTimeout(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		mw, err := sessionmw.New(secret, sessionmw.WithStore(s), sessionmw.WithSecure(false))
		if err != nil {
			t.Fatal(err)
		}
		return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := sessionmw.FromRequest(r)
			switch r.URL.Path {
			case "/login":
				m.Login(sessionmw.Identity{Subject: "alice"})
			case "/logout":
				m.Destroy()
			}
			if who, ok := m.Identity(); ok {
				w.Write([]byte(who.Subject))
			}
		}))
	}
	a, b := mk(srv.URL()), mk(proxy.URL())
	do := func(h http.Handler, path, cookie string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, stall := range []bool{false, true} {
		rec := do(a, "/login", "")
		cookie := strings.Split(rec.Header().Get("Set-Cookie"), ";")[0]
		if got := do(b, "/", cookie).Body.String(); got != "alice" {
			t.Fatalf("instance B before logout: %q", got)
		}
		if stall {
			proxy.Stall()
		}
		do(a, "/logout", cookie)
		loggedOut := time.Now()
		accepted := time.Duration(0) // how long B still accepted it
		for time.Since(loggedOut) < ttl+200*time.Millisecond {
			rec := do(b, "/", cookie)
			since := time.Since(loggedOut)
			if rec.Body.String() == "alice" {
				accepted = since
				if since > ttl+50*time.Millisecond {
					t.Fatalf("stall=%v: instance B accepted a destroyed session %v after logout, past the %v bound", stall, since, ttl)
				}
			} else if !stall && rec.Code != http.StatusOK {
				t.Fatalf("B: status %d", rec.Code)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("stall=%v: instance B accepted the destroyed session for %v after logout (bound %v)", stall, accepted, ttl)
		if stall {
			proxy.Resume()
		}
	}
}

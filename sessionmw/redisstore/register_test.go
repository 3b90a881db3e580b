package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// TestSeedYAMLOnValkeyStorage loads the seed's YAML, whose storage is
// "ValkeySessionStorage", against a real redis-server passed under that
// name, and checks that sessions land in Redis.
func TestSeedYAMLOnValkeyStorage(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(context.Background(), srv.URL(), redisstore.WithPrefix("yaml:"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc := `
middlewares:
  LoadSessionMiddleware:
    use: plugins.session.middlewares.LoadSessionMiddleware
    config:
      storage: "ValkeySessionStorage"
      keyLookup: "cookie:session_id"
      cookieHTTPOnly: true
      cookieSecure: false
      cookieSameSite: "Lax"
      cookieExpiration: 2h
      disableAutoRenew: false
      autoRenewAfter: 30m
      disableSessionForward: false
`
	mws, err := config.Load([]byte(doc), config.Options{Secret: []byte(strings.Repeat("k", 32)), Storages: redisstore.Storages(s)})
	if err != nil {
		t.Fatal(err)
	}
	defer mws.Close()
	h, _ := mws.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("user_id", 7)
	}), "LoadSessionMiddleware")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !strings.HasPrefix(rec.Header().Get("Set-Cookie"), "session_id=") {
		t.Fatalf("Set-Cookie %q", rec.Header().Get("Set-Cookie"))
	}
	keys := srv.CLI("--scan", "--pattern", "yaml:*")
	if strings.Count(strings.TrimSpace(keys), "\n") != 0 || !strings.HasPrefix(keys, "yaml:") {
		t.Fatalf("keys in Redis: %q, want one session", keys)
	}
	if ttl := strings.TrimSpace(srv.CLI("PTTL", strings.TrimSpace(keys))); ttl == "-1" || strings.HasPrefix(ttl, "-") || ttl == "0" {
		t.Fatalf("PTTL %s: the session has no expiry", ttl)
	}
}

// TestBrowserSessionCookieStillExpires: MaxAge 0 makes a browser-session
// cookie, but the Redis key still has a finite TTL (the idle timeout).
func TestBrowserSessionCookieStillExpires(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.New(context.Background(), srv.URL(), redisstore.WithPrefix("b:"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mw, err := sessionmw.New([]byte(strings.Repeat("k", 32)), sessionmw.WithStore(s), sessionmw.WithMaxAge(0), sessionmw.WithIdleTimeout(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	rec := httptest.NewRecorder()
	mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("k", 1)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if sc := rec.Header().Get("Set-Cookie"); strings.Contains(sc, "Max-Age") || strings.Contains(sc, "Expires") {
		t.Fatalf("browser-session cookie has a lifetime: %q", sc)
	}
	key := strings.TrimSpace(srv.CLI("--scan", "--pattern", "b:session:*"))
	ttl, err := strconv.Atoi(srv.CLI("PTTL", key))
	if err != nil || ttl <= 0 || ttl > int((30*time.Minute)/time.Millisecond) {
		t.Fatalf("PTTL of %q = %d (%v), want 0 < PTTL <= 30 min", key, ttl, err)
	}
}

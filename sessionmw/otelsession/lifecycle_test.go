package otelsession_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// stores are the stores the lifecycle tests run on: the default
// in-process one and Redis (a real redis-server).
var stores = []struct {
	name string
	open func(t *testing.T) sessionmw.Store
}{
	{"MemoryIO", func(t *testing.T) sessionmw.Store {
		s := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"Redis", func(t *testing.T) sessionmw.Store {
		return openRedis(t, redistest.Start(t).URL())
	}},
}

func openRedis(t *testing.T, url string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), url, redisstore.WithTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMetricsFollowTheLifecycle drives scripted traffic through a
// middleware on each store and checks, after every step, exactly which
// series moved and by how much: each lifecycle counter by its reason, and
// the store histogram by operation.
func TestMetricsFollowTheLifecycle(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			tel := newTelemetry(t)
			mw := newMW(t, tel, st.open(t), sessionmw.WithMaxSessionsPerSubject(1))
			h := mw.Handler(app())
			a, b, c := tel.browser(t, h), tel.browser(t, h), tel.browser(t, h)
			steps := []struct {
				name string
				do   func()
				want map[string]int64
			}{
				{"a new visitor writes", func() { a.do("GET", "/set") },
					map[string]int64{created("new"): 1, store("save"): 1}},
				{"a read", func() { a.do("GET", "/get") },
					map[string]int64{loaded: 1, store("load"): 1}},
				{"a write", func() { a.do("GET", "/set") },
					map[string]int64{loaded: 1, store("load"): 1, store("save"): 1}},
				// Login moves the session to a new id (saves, and marks the
				// old id) and checks the subject's cap (lists); how many
				// calls that takes depends on the store.
				{"login", func() { a.do("POST", "/login?sub=alice") },
					map[string]int64{loaded: 1, renewed("explicit"): 1, store("load"): some, store("save"): some, store("list"): some}},
				{"a tampered cookie: refused, the request goes on without a session", func() { a.send("GET", "/get", "sid="+strings.Repeat("A", 60)) },
					map[string]int64{refused("bad_signature"): 1}},
				{"a value that is no credential at all", func() { a.send("GET", "/get", "sid=forged") },
					map[string]int64{refused("malformed"): 1}},
				{"a second login beyond the cap of one ends the first session", func() {
					b.do("GET", "/set")
					b.do("POST", "/login?sub=alice")
				}, map[string]int64{created("new"): 1, loaded: 1, renewed("explicit"): 1, destroyed("limit"): 1,
					store("load"): some, store("save"): some, store("list"): some, store("delete"): some}},
				{"the capped session's cookie leads nowhere", func() { a.do("GET", "/get") },
					map[string]int64{refused("unknown_id"): 1, store("load"): 1}},
				{"logout", func() { b.do("POST", "/logout") },
					map[string]int64{loaded: 1, destroyed("logout"): 1, store("load"): 1, store("delete"): some}},
				{"RevokeSubject", func() {
					c.do("POST", "/login?sub=bob")
					tel.delta(t) // the login's own series are the step above's business
					if n, err := mw.RevokeSubject(context.Background(), "bob"); n != 1 || err != nil {
						t.Fatalf("RevokeSubject = %d, %v", n, err)
					}
				}, map[string]int64{destroyed("revoke"): 1, store("list"): 1, store("load"): some, store("delete"): some}},
			}
			tel.delta(t)
			for _, s := range steps {
				s.do()
				checkDelta(t, s.name, tel.delta(t), s.want)
			}
		})
	}
}

// TestRedisOutageMetrics stops redis-server under a middleware: requests
// answer 503, and the store histogram counts the failed load and save with
// error.type "unavailable", their spans say Error; once the server is back,
// calls succeed and count as such again.
func TestRedisOutageMetrics(t *testing.T) {
	srv := redistest.Start(t)
	tel := newTelemetry(t)
	mw := newMW(t, tel, openRedis(t, srv.URL()))
	h := mw.Handler(app())
	a := tel.browser(t, h)
	a.do("GET", "/set")
	tel.delta(t)
	srv.Stop()

	steps := []struct {
		name, target, cookie string
		want                 map[string]int64
	}{
		{"a returning visitor's load fails", "/get", a.cookie,
			map[string]int64{storeErr("load", "unavailable"): 1}},
		{"a new visitor's save fails", "/set", "",
			map[string]int64{storeErr("save", "unavailable"): 1}},
	}
	for _, s := range steps {
		tel.spans.Reset()
		if code := a.send("GET", s.target, s.cookie); code != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d, want 503", s.name, code)
		}
		checkDelta(t, s.name, tel.delta(t), s.want)
		var failed int
		for _, sp := range tel.spans.GetSpans() {
			if strings.HasPrefix(sp.Name, "sessionmw.store.") {
				if sp.Status.Code.String() != "Error" || sp.Status.Description != "unavailable" || len(sp.Events) == 0 || sp.Events[0].Name != "exception" {
					t.Fatalf("%s: span %s: status %v, events %v", s.name, sp.Name, sp.Status, sp.Events)
				}
				failed++
			}
		}
		if failed != 1 {
			t.Fatalf("%s: %d failed store spans, want 1", s.name, failed)
		}
	}

	srv.Restart() // empty: the session is gone, the next write starts one
	a.do("GET", "/set")
	checkDelta(t, "after the restart", tel.delta(t),
		map[string]int64{refused("unknown_id"): 1, store("load"): 1, created("new"): 1, store("save"): 1})
}

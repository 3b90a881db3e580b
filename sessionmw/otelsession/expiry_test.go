package otelsession_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
)

// lazyExpiry is a store that drops records a while after their TTL, as a
// store that only expires lazily (a SQL table's cleaner, say) does: the
// middleware then meets sessions whose deadline passed.
type lazyExpiry struct{ sessionmw.Store }

func (s lazyExpiry) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	return s.Store.Save(ctx, id, u, 2*ttl)
}

// TestExpiryAndRenewalOnMemory moves time on (testing/synctest's clock,
// which the middleware and MemoryIO read) past auto-renewal and idle
// deadlines: an automatic renewal counts as renewed (auto); an expired
// session counts as refused (unknown_id) where the store has dropped it at
// its deadline, and as destroyed (expired) where the middleware finds it
// ended.
func TestExpiryAndRenewalOnMemory(t *testing.T) {
	cases := []struct {
		name string
		wrap func(sessionmw.Store) sessionmw.Store
		want map[string]int64
	}{
		{"the store dropped it", func(s sessionmw.Store) sessionmw.Store { return s },
			map[string]int64{refused("unknown_id"): 1, store("load"): 1}},
		{"the middleware finds it ended", func(s sessionmw.Store) sessionmw.Store { return lazyExpiry{s} },
			map[string]int64{destroyed("expired"): 1, store("load"): 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tel := newTelemetry(t)
				mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
				defer mem.Close()
				mw := newMW(t, tel, c.wrap(mem), sessionmw.WithIdleTimeout(time.Hour), sessionmw.WithAutoRenew(30*time.Minute))
				a := tel.browser(t, mw.Handler(app()))
				a.do("GET", "/set")
				tel.delta(t)

				time.Sleep(31 * time.Minute)
				a.do("GET", "/get")
				checkDelta(t, "past the auto-renewal age", tel.delta(t),
					map[string]int64{loaded: 1, renewed("auto"): 1, store("load"): some, store("save"): some})

				// Past the idle timeout, within the signature's life (TTL
				// plus one touch interval).
				time.Sleep(time.Hour + 30*time.Second)
				a.send("GET", "/get", a.cookie)
				checkDelta(t, "past the idle timeout", tel.delta(t), c.want)
			})
		})
	}
}

// TestExpiryOnRedis: a Redis record whose idle deadline passed but which
// Redis still holds (its m:saved set back two hours, as a server whose TTL
// runs late would keep it) is counted destroyed (expired) when a request
// brings its cookie.
func TestExpiryOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	tel := newTelemetry(t)
	mw := newMW(t, tel, openRedis(t, srv.URL()), sessionmw.WithIdleTimeout(time.Hour))
	a := tel.browser(t, mw.Handler(app()))
	a.do("GET", "/set")
	keys := strings.Fields(srv.CLI("KEYS", "sessionmw:session:*"))
	if len(keys) != 1 {
		t.Fatalf("keys %q, want one session", keys)
	}
	srv.CLI("HSET", keys[0], "m:saved", strconv.FormatInt(time.Now().Add(-2*time.Hour).UnixNano(), 10))
	tel.delta(t)
	a.send("GET", "/get", a.cookie)
	checkDelta(t, "an ended session", tel.delta(t), map[string]int64{destroyed("expired"): 1, store("load"): 1})
}

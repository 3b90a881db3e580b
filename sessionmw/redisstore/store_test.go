package redisstore_test

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
	"github.com/sessionmw/go/sessionmw/storetest"
)

// A long, distinctive id, so that a test can tell whether it leaked into
// an error message.
const secretID = "S3CR3T-5e55i0n-1d-0123456789abcdef0123456789abcdef"

// profile is an application type: gob needs it registered.
type profile struct {
	Name  string
	Roles []string
	Age   int
}

func init() { gob.Register(profile{}) }

func e(k string, v any) sessionmw.Entry { return sessionmw.Entry{Key: k, Value: v} }

// newStore returns a Store on srv that the test closes.
func newStore(t testing.TB, srv *redistest.Server, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawClient returns a plain client for inspecting what the store wrote.
func rawClient(t testing.TB, addrs ...string) valkey.Client {
	t.Helper()
	c, err := valkey.NewClient(valkey.ClientOption{InitAddress: addrs, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func do(t testing.TB, c valkey.Client, cmd ...string) valkey.ValkeyResult {
	t.Helper()
	return c.Do(context.Background(), c.B().Arbitrary(cmd...).Build())
}

func mustSave(t testing.TB, s sessionmw.Store, id string, u sessionmw.Update, ttl time.Duration) {
	t.Helper()
	if err := s.Save(context.Background(), id, u, ttl); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func mustLoad(t testing.TB, s sessionmw.Store, id string) *sessionmw.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"Plain", nil},
		{"ClientCache", []redisstore.Option{redisstore.WithClientCache(time.Minute)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) sessionmw.Store {
				// A fresh prefix per subtest gives an empty store on the
				// shared server.
				opts := append([]redisstore.Option{redisstore.WithPrefix(t.Name() + ":")}, mode.opts...)
				return newStore(t, srv, opts...)
			})
		})
	}
}

func TestRoundTripKeepsTypes(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	tests := []struct {
		name  string
		value any
	}{
		{"int", 42},
		{"negative int", -7},
		{"int64", int64(1) << 62},
		{"uint8", uint8(200)},
		{"string", "héllo, wörld"},
		{"empty string", ""},
		{"bool", true},
		{"float64", 2.5},
		{"float32", float32(0.25)},
		{"strings", []string{"a", "b"}},
		{"bytes", []byte{0, 1, 2, 255}},
		{"map", map[string]any{"n": 1, "s": "x", "nested": map[string]any{"b": false}}},
		{"slice of any", []any{1, "two", 3.0}},
		{"registered struct", profile{Name: "ana", Roles: []string{"admin"}, Age: 41}},
		{"nil", nil},
	}
	var set []sessionmw.Entry
	for _, tc := range tests {
		set = append(set, e(tc.name, tc.value))
	}
	meta := sessionmw.Meta{
		Created: 1700000000123456789, Issued: 1700000000223456789, Saved: -1, Successor: "next-id",
		Subject: "ana@example.com", Credential: "ldap:ana", Audience: "admin-ui", Remember: "rem-1",
		// Groups come back byte for byte, whatever they contain; invalid
		// UTF-8 too, which encoding/json would turn into U+FFFD.
		Groups: []string{"admins", "", "3:x", "a:b,c", `"quoted"`, "ünï", "\xff\xfe invalid", "new\nline"},
	}
	mustSave(t, s, secretID, sessionmw.Update{Replace: true, Set: set, Meta: meta}, time.Hour)
	r := mustLoad(t, s, secretID)
	if r == nil {
		t.Fatal("Load after Save = nil")
	}
	if !reflect.DeepEqual(r.Meta, meta) {
		t.Errorf("Meta = %+v, want %+v", r.Meta, meta)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r.Get(tc.name)
			if !ok {
				t.Fatal("value missing")
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tc.value) || !reflect.DeepEqual(got, tc.value) {
				t.Fatalf("got %#v (%T), want %#v (%T)", got, got, tc.value, tc.value)
			}
		})
	}
	if len(r.Values) != len(tests) {
		t.Fatalf("%d values, want %d", len(r.Values), len(tests))
	}
}

func TestSaveAlwaysSetsTTL(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("ttl:"))
	raw := rawClient(t, srv.Addr())
	tests := []struct {
		name     string
		u        sessionmw.Update
		ttl      time.Duration
		positive bool // PTTL must be > 0 (not just "not -1")
	}{
		{"replace", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour, true},
		{"replace with nothing", sessionmw.Update{Replace: true}, time.Hour, true},
		{"delta set", sessionmw.Update{Set: []sessionmw.Entry{e("b", 2)}}, time.Hour, true},
		{"delta delete only", sessionmw.Update{Delete: []string{"a"}}, time.Hour, true},
		{"delta deleting everything", sessionmw.Update{Delete: []string{"a", "b"}}, time.Hour, true},
		{"touch", sessionmw.Update{Meta: sessionmw.Meta{Saved: 5}}, time.Hour, true},
		{"sub-second TTL", sessionmw.Update{Set: []sessionmw.Entry{e("c", 3)}}, 800 * time.Millisecond, true},
		{"long TTL", sessionmw.Update{Replace: true}, 400 * 24 * time.Hour, true},
		{"longest TTL", sessionmw.Update{Replace: true}, time.Duration(math.MaxInt64), true}, // no overflow to a negative PEXPIRE
		// TTLs this small may be over before PTTL runs: the key must then
		// be gone, never left without expiry.
		{"one millisecond", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("d", 4)}}, time.Millisecond, false},
		{"one nanosecond rounds up to 1ms", sessionmw.Update{Replace: true}, time.Nanosecond, false},
		{"1.5ms rounds up to 2ms", sessionmw.Update{Replace: true}, 1500 * time.Microsecond, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := "s" + strconv.Itoa(i)
			if !tc.u.Replace { // a delta needs a session to apply to
				mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 0)}}, time.Hour)
			}
			mustSave(t, s, id, tc.u, tc.ttl)
			pttl, err := do(t, raw, "PTTL", "ttl:session:"+id).AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case pttl == -1:
				t.Fatalf("key without expiry after %s", tc.name)
			case tc.positive && (pttl <= 0 || time.Duration(pttl)*time.Millisecond > tc.ttl):
				t.Fatalf("PTTL = %dms, want in (0, %v]", pttl, tc.ttl)
			case !tc.positive && pttl > tc.ttl.Milliseconds()+1:
				t.Fatalf("PTTL = %dms, want at most %v rounded up", pttl, tc.ttl)
			}
		})
	}
	// And no key at all is left without expiry.
	keys, err := do(t, raw, "KEYS", "ttl:*").AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if p, _ := do(t, raw, "PTTL", k).AsInt64(); p == -1 {
			t.Errorf("%s has no expiry", k)
		}
	}
}

func TestSaveRejectsNonPositiveTTL(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("p:"))
	raw := rawClient(t, srv.Addr())
	for _, ttl := range []time.Duration{0, -time.Second} {
		err := s.Save(context.Background(), "x", sessionmw.Update{Replace: true}, ttl)
		if err == nil || !strings.Contains(err.Error(), "TTL") {
			t.Errorf("Save with TTL %v: err = %v, want an error about the TTL", ttl, err)
		}
	}
	if n, _ := do(t, raw, "EXISTS", "p:session:x").AsInt64(); n != 0 {
		t.Fatal("a Save with a non-positive TTL stored a key (it would never expire)")
	}
}

func TestDeltaOnMissingKey(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("m:"))
	raw := rawClient(t, srv.Addr())
	mustSave(t, s, "expired", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
	do(t, raw, "DEL", "m:session:expired") // as if it expired, or a concurrent logout
	tests := []struct {
		name string
		id   string
		u    sessionmw.Update
	}{
		{"never existed, set", "never", sessionmw.Update{Set: []sessionmw.Entry{e("a", 1)}}},
		{"never existed, touch", "never", sessionmw.Update{Meta: sessionmw.Meta{Saved: 1}}},
		{"never existed, delete", "never", sessionmw.Update{Delete: []string{"a"}}},
		{"destroyed meanwhile", "expired", sessionmw.Update{Set: []sessionmw.Entry{e("b", 2)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Save(context.Background(), tc.id, tc.u, time.Hour)
			if !errors.Is(err, sessionmw.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Fatalf("err = %v also claims the store is unavailable", err)
			}
			if n, _ := do(t, raw, "EXISTS", "m:session:"+tc.id).AsInt64(); n != 0 {
				t.Fatal("a delta on a missing session created it")
			}
		})
	}
}

func TestReplaceClearsOldFields(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("r:"))
	raw := rawClient(t, srv.Addr())
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1), e("b", 2), e("c", 3)}}, time.Hour)
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("d", 4)}, Delete: []string{"a"}}, time.Hour)
	fields, err := do(t, raw, "HGETALL", "r:session:id").AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for f := range fields {
		if strings.HasPrefix(f, "v:") {
			values = append(values, f)
		}
	}
	if len(values) != 1 || fields["v:d"] == "" {
		t.Fatalf("value fields after Replace = %q, want v:d only", values)
	}
	if got := mustLoad(t, s, "id").Values; !reflect.DeepEqual(got, []sessionmw.Entry{e("d", 4)}) {
		t.Fatalf("values = %v, want [d=4]", got)
	}
}

// Application keys cannot collide with the metadata fields, whatever they
// are called.
func TestHostileKeys(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	meta := sessionmw.Meta{Created: 1, Issued: 2, Saved: 3, Successor: "s", Subject: "sub", Groups: []string{"g"}}
	keys := []string{
		"m:created", // a metadata field's name
		"m:saved",
		"m:successor",
		"m:subject",
		"m:groups",
		"v:x", // the value prefix itself
		"",    // empty key
		"with space and\nnewline",
		"ключ",
	}
	var set []sessionmw.Entry
	for i, k := range keys {
		set = append(set, e(k, i))
	}
	mustSave(t, s, "h", sessionmw.Update{Replace: true, Set: set, Meta: meta}, time.Hour)
	r := mustLoad(t, s, "h")
	if !reflect.DeepEqual(r.Meta, meta) {
		t.Fatalf("Meta = %+v, want %+v: an application key overwrote it", r.Meta, meta)
	}
	for i, k := range keys {
		if v, ok := r.Get(k); !ok || v != i {
			t.Errorf("Get(%q) = %v, %v; want %d", k, v, ok, i)
		}
	}
	// Hostile ids are just key names.
	for _, id := range []string{"", "*", "a b", "x:y:z", strings.Repeat("i", 4096)} {
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("id", id)}}, time.Hour)
		if v, _ := mustLoad(t, s, id).Get("id"); v != id {
			t.Errorf("id %.20q: got %.20q", id, v)
		}
	}
}

func TestPrefixSeparatesStores(t *testing.T) {
	srv := redistest.Start(t)
	a := newStore(t, srv, redisstore.WithPrefix("app1:"))
	b := newStore(t, srv, redisstore.WithPrefix("app2:"))
	raw := rawClient(t, srv.Addr())
	mustSave(t, a, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("who", "a")}}, time.Hour)
	if r := mustLoad(t, b, "id"); r != nil {
		t.Fatalf("store with another prefix sees %+v", r)
	}
	if n, _ := do(t, raw, "EXISTS", "app1:session:id").AsInt64(); n != 1 {
		t.Fatal(`session not stored under "app1:session:id"`)
	}
	def := newStore(t, srv)
	mustSave(t, def, "id", sessionmw.Update{Replace: true}, time.Hour)
	if n, _ := do(t, raw, "EXISTS", redisstore.DefaultPrefix+"session:id").AsInt64(); n != 1 {
		t.Fatalf("session not stored under DefaultPrefix %q", redisstore.DefaultPrefix)
	}
}

// Fifty goroutines increment their own key on one session with load,
// compute, delta save: no increment may be lost.
func TestNoLostUpdates(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"Plain", nil},
		{"ClientCache", []redisstore.Option{redisstore.WithClientCache(time.Minute)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := newStore(t, srv, append([]redisstore.Option{redisstore.WithPrefix(mode.name + ":")}, mode.opts...)...)
			const workers, rounds = 50, 100
			mustSave(t, s, "shared", sessionmw.Update{Replace: true}, time.Hour)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					key := fmt.Sprintf("k%d", w)
					for range rounds {
						r, err := s.Load(context.Background(), "shared")
						if err != nil || r == nil {
							errs <- fmt.Errorf("%s: Load = %v, %v", key, r, err)
							return
						}
						n, _ := r.Get(key)
						i, _ := n.(int)
						u := sessionmw.Update{Set: []sessionmw.Entry{e(key, i+1)}, Meta: sessionmw.Meta{Saved: int64(i)}}
						if err := s.Save(context.Background(), "shared", u, time.Hour); err != nil {
							errs <- fmt.Errorf("%s: Save: %v", key, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			r := mustLoad(t, s, "shared")
			for w := range workers {
				key := fmt.Sprintf("k%d", w)
				if v, _ := r.Get(key); v != rounds {
					t.Errorf("%s = %v, want %d", key, v, rounds)
				}
			}
		})
	}
}

// commandCalls returns how many times the server has run cmd.
func commandCalls(t *testing.T, raw valkey.Client, cmd string) int {
	t.Helper()
	info, err := do(t, raw, "INFO", "commandstats").ToString()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls="); ok {
			n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
			return n
		}
	}
	return 0
}

func TestClientCache(t *testing.T) {
	srv := redistest.Start(t)
	raw := rawClient(t, srv.Addr())
	opts := []redisstore.Option{redisstore.WithClientCache(time.Minute), redisstore.WithPrefix("cc:")}
	a := newStore(t, srv, opts...) // two stores, two clients,
	b := newStore(t, srv, opts...) // as in two application instances

	mustSave(t, a, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("v", 1)}}, time.Hour)
	if v, _ := mustLoad(t, b, "id").Get("v"); v != 1 {
		t.Fatalf("b sees v = %v, want 1", v)
	}

	t.Run("loads are served from the cache", func(t *testing.T) {
		before := commandCalls(t, raw, "hgetall")
		for range 20 {
			if v, _ := mustLoad(t, b, "id").Get("v"); v != 1 {
				t.Fatalf("v = %v, want 1", v)
			}
		}
		if n := commandCalls(t, raw, "hgetall") - before; n > 1 {
			t.Fatalf("20 cached loads ran HGETALL %d times on the server, want at most 1", n)
		}
	})

	// waitFor polls b until want holds: the invalidation is pushed by the
	// server asynchronously.
	waitFor := func(t *testing.T, what string, want func(*sessionmw.Record) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r := mustLoad(t, b, "id")
			if want(r) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("b still loads %+v, %s was not seen within 5s", r, what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Run("another client's write invalidates", func(t *testing.T) {
		mustSave(t, a, "id", sessionmw.Update{Set: []sessionmw.Entry{e("v", 2)}}, time.Hour)
		waitFor(t, "a's Save", func(r *sessionmw.Record) bool { v, _ := r.Get("v"); return v == 2 })
	})
	t.Run("a write by anyone invalidates", func(t *testing.T) {
		mustLoad(t, b, "id") // cached again
		do(t, raw, "HSET", "cc:session:id", "m:saved", "99")
		waitFor(t, "a raw HSET", func(r *sessionmw.Record) bool { return r.Meta.Saved == 99 })
	})
	t.Run("another client's delete invalidates", func(t *testing.T) {
		mustLoad(t, b, "id")
		if err := a.Delete(context.Background(), "id"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a's Delete", func(r *sessionmw.Record) bool { return r == nil })
	})
	t.Run("a cached miss is invalidated by a create", func(t *testing.T) {
		if r := mustLoad(t, b, "id"); r != nil { // caches the miss
			t.Fatalf("Load = %+v, want nil", r)
		}
		mustSave(t, a, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("v", 3)}}, time.Hour)
		waitFor(t, "a's create", func(r *sessionmw.Record) bool { v, _ := r.Get("v"); return v == 3 })
	})
	t.Run("a store reads its own writes at once", func(t *testing.T) {
		for i := range 200 {
			mustLoad(t, b, "id") // keep a cached copy to go stale
			mustSave(t, b, "id", sessionmw.Update{Set: []sessionmw.Entry{e("v", i)}}, time.Hour)
			if v, _ := mustLoad(t, b, "id").Get("v"); v != i {
				t.Fatalf("round %d: b loads v = %v right after saving %d", i, v, i)
			}
		}
		if err := b.Delete(context.Background(), "id"); err != nil {
			t.Fatal(err)
		}
		if r := mustLoad(t, b, "id"); r != nil {
			t.Fatalf("b loads %+v right after deleting it", r)
		}
	})
	t.Run("the cache never outlives the key", func(t *testing.T) {
		mustSave(t, a, "short", sessionmw.Update{Replace: true}, 50*time.Millisecond)
		deadline := time.Now().Add(5 * time.Second)
		for mustLoad(t, b, "short") != nil {
			if time.Now().After(deadline) {
				t.Fatal("an expired session is still served from the cache")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestServerDown(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"Plain", nil},
		{"ClientCache", []redisstore.Option{redisstore.WithClientCache(time.Minute)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			srv := redistest.Start(t)
			const timeout = 300 * time.Millisecond
			s := newStore(t, srv, append([]redisstore.Option{redisstore.WithTimeout(timeout)}, mode.opts...)...)
			ctx := context.Background()
			// The id is its own subject too: neither may leak.
			mustSave(t, s, secretID, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}, Meta: as(secretID, 1)}, time.Hour)
			mustLoad(t, s, secretID)

			srv.Stop()
			ops := []struct {
				name string
				call func() error
			}{
				{"load", func() error { _, err := s.Load(ctx, secretID); return err }},
				{"save", func() error {
					return s.Save(ctx, secretID, sessionmw.Update{Set: []sessionmw.Entry{e("a", 2)}, Meta: as(secretID, 1)}, time.Hour)
				}},
				{"delete", func() error { return s.Delete(ctx, secretID) }},
				{"list", func() error { _, err := s.SubjectSessions(ctx, secretID); return err }},
			}
			for _, op := range ops {
				start := time.Now()
				err := op.call()
				elapsed := time.Since(start)
				t.Logf("%s with the server down: failed in %v", op.name, elapsed)
				switch {
				case err == nil:
					t.Fatalf("%s with the server down: no error", op.name)
				case !errors.Is(err, sessionmw.ErrStoreUnavailable):
					t.Errorf("%s: %v does not wrap ErrStoreUnavailable", op.name, err)
				case !strings.Contains(err.Error(), op.name+" session") || !strings.Contains(err.Error(), srv.Addr()):
					t.Errorf("%s: %q does not name the operation and %s", op.name, err, srv.Addr())
				case strings.Contains(err.Error(), secretID):
					t.Errorf("%s: %q contains the session id", op.name, err)
				case errors.Unwrap(err) == nil && len(unwrapAll(err)) < 2:
					t.Errorf("%s: %q keeps no underlying error", op.name, err)
				}
				// A refused connection fails at once (about a millisecond;
				// the bound leaves room for a loaded machine), instead of
				// being retried until the timeout.
				if elapsed > timeout/3 {
					t.Errorf("%s took %v with the server down (timeout %v): want a fast failure", op.name, elapsed, timeout)
				}
			}

			srv.Restart() // same port, empty data
			mustSave(t, s, secretID, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 3)}, Meta: as(secretID, 1)}, time.Hour)
			if v, _ := mustLoad(t, s, secretID).Get("a"); v != 3 {
				t.Fatalf("after restart a = %v, want 3", v)
			}
			if got := listIDs(t, s, secretID); !reflect.DeepEqual(got, []string{secretID}) {
				t.Fatalf("after restart the subject's sessions are %d, want the one saved", len(got))
			}
		})
	}
}

func unwrapAll(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	return nil
}

func TestCanceledContextIsNotUnavailability(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Load(ctx, "id")
	if !errors.Is(err, context.Canceled) || errors.Is(err, sessionmw.ErrStoreUnavailable) {
		t.Fatalf("Load with a canceled context: %v; want context.Canceled, not ErrStoreUnavailable", err)
	}
}

func TestTimeoutBoundsHungServer(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []redisstore.Option
	}{
		{"Plain", nil},
		{"ClientCache", []redisstore.Option{redisstore.WithClientCache(time.Minute)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			srv := redistest.Start(t)
			const timeout = 200 * time.Millisecond
			s := newStore(t, srv, append([]redisstore.Option{redisstore.WithTimeout(timeout)}, mode.opts...)...)
			mustSave(t, s, secretID, sessionmw.Update{Replace: true, Meta: as(secretID, 1)}, time.Hour)
			srv.Pause() // connections stay open, nothing is answered
			defer srv.Resume()
			ctx := context.Background()
			ops := []struct {
				name string
				call func() error
			}{
				{"load", func() error { _, err := s.Load(ctx, secretID); return err }},
				// Not written by s: with the cache, a cache miss.
				{"load", func() error { _, err := s.Load(ctx, secretID+"-other"); return err }},
				{"save", func() error { return s.Save(ctx, secretID, sessionmw.Update{}, time.Hour) }},
				{"delete", func() error { return s.Delete(ctx, secretID) }},
				{"list", func() error { _, err := s.SubjectSessions(ctx, secretID); return err }},
			}
			for _, op := range ops {
				start := time.Now()
				err := op.call()
				elapsed := time.Since(start)
				t.Logf("%s with the server paused: failed in %v", op.name, elapsed)
				// Bounded, not precise: what matters is that nothing hangs,
				// and that a server that is slow, not gone, gets the whole
				// timeout (failing fast is for refused connections).
				if elapsed > timeout+3*time.Second || elapsed < timeout*9/10 {
					t.Errorf("%s took %v with a %v timeout", op.name, elapsed, timeout)
				}
				if !errors.Is(err, sessionmw.ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: err = %v, want ErrStoreUnavailable and DeadlineExceeded", op.name, err)
				}
			}
		})
	}
}

// A server at maxmemory with the noeviction policy refuses a Save whose
// first write would grow the data, and Redis never runs half a script.
func TestServerFull(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	raw := rawClient(t, srv.Addr())
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
	do(t, raw, "CONFIG", "SET", "maxmemory-policy", "noeviction")
	do(t, raw, "CONFIG", "SET", "maxmemory", "1")
	err := s.Save(context.Background(), "id", sessionmw.Update{Set: []sessionmw.Entry{e("a", 2), e("b", 3)}}, time.Hour)
	if !errors.Is(err, sessionmw.ErrStoreFull) || errors.Is(err, sessionmw.ErrStoreUnavailable) {
		t.Fatalf("Save on a full server: %v, want ErrStoreFull", err)
	}
	do(t, raw, "CONFIG", "SET", "maxmemory", "0")
	r := mustLoad(t, s, "id")
	if v, _ := r.Get("a"); v != 1 || len(r.Values) != 1 {
		t.Fatalf("after a refused Save the session is %v, want a=1 only", r.Values)
	}
}

func TestUndecodableData(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("u:"))
	raw := rawClient(t, srv.Addr())
	tests := []struct {
		name   string
		fields []string
		want   string
	}{
		{"unknown encoding", []string{"v:a", "\x00\xff not ours"}, `decode value "a"`},
		{"garbage gob", []string{"v:a", "g\x00\xff\xff"}, `decode value "a"`},
		{"truncated gob", []string{"v:a", "g\x0c"}, `decode value "a"`},
		{"unregistered type name", []string{"v:a", "g\x1a\x00\x0bmain.NoSuch"}, `decode value "a"`},
		{"empty value", []string{"v:a", ""}, `decode value "a"`},
		{"bad metadata", []string{"m:created", "yesterday"}, `decode field "m:created"`},
		{"bad groups", []string{"m:groups", "9:short"}, `decode field "m:groups"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "u:session:" + strconv.Itoa(i)
			do(t, raw, append([]string{"HSET", key}, tc.fields...)...)
			r, err := s.Load(context.Background(), strconv.Itoa(i))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %+v, %v; want an error containing %q", r, err, tc.want)
			}
			if errors.Is(err, sessionmw.ErrStoreUnavailable) {
				t.Errorf("%v claims the store is unavailable", err)
			}
			got, _ := do(t, raw, "HGET", key, tc.fields[0]).ToString()
			if got != tc.fields[1] {
				t.Fatal("Load changed the undecodable data")
			}
		})
	}
	t.Run("unknown reserved fields are ignored", func(t *testing.T) {
		do(t, raw, "HSET", "u:session:future", "m:future", "x", "v:a", mustEncode(t, 7))
		if v, _ := mustLoad(t, s, "future").Get("a"); v != 7 {
			t.Fatalf("a = %v, want 7", v)
		}
	})
}

func mustEncode(t *testing.T, v any) string {
	b, err := redisstore.GobCodec{}.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncodeErrorStoresNothing(t *testing.T) {
	type unregistered struct{ X int }
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("enc:"))
	raw := rawClient(t, srv.Addr())
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("keep", 1)}}, time.Hour)
	before, _ := do(t, raw, "HGETALL", "enc:session:id").AsStrMap()
	err := s.Save(context.Background(), "id", sessionmw.Update{Set: []sessionmw.Entry{e("ok", 2), e("bad", unregistered{1})}}, time.Hour)
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("Save of an unregistered type: %v, want an error naming the key", err)
	}
	if after, _ := do(t, raw, "HGETALL", "enc:session:id").AsStrMap(); !reflect.DeepEqual(after, before) {
		t.Fatalf("hash after a failed Save = %q, want %q (nothing written)", after, before)
	}
}

// upperCodec is a Codec that stores strings only, in upper case.
type upperCodec struct{}

func (upperCodec) Encode(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("upperCodec: %T is not a string", v)
	}
	return []byte(strings.ToUpper(s)), nil
}
func (upperCodec) Decode(b []byte) (any, error) { return string(b), nil }

func TestWithCodec(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithCodec(upperCodec{}), redisstore.WithPrefix("codec:"))
	raw := rawClient(t, srv.Addr())
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", "hello")}}, time.Hour)
	if got, _ := do(t, raw, "HGET", "codec:session:id", "v:a").ToString(); got != "HELLO" {
		t.Fatalf("stored %q, want HELLO", got)
	}
	if v, _ := mustLoad(t, s, "id").Get("a"); v != "HELLO" {
		t.Fatalf("loaded %v, want HELLO", v)
	}
}

func TestNewErrors(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret-pass")
	dead := redistest.Start(t)
	dead.Stop()
	deadAddr := dead.Addr()
	ctx := context.Background()
	tests := []struct {
		name        string
		url         string
		opts        []redisstore.Option
		want        string // in the message
		unavailable bool
	}{
		{"bad scheme", "http://localhost:6379", nil, "scheme", false},
		{"unparsable URL", "redis://user:s3cret-pass@127.0.0.1:port/0", nil, "invalid URL", false},
		{"bad database", "redis://:s3cret-pass@" + srv.Addr() + "/x", nil, "database", false},
		{"server down", "redis://:s3cret-pass@" + deadAddr + "/0", nil, deadAddr, true},
		{"wrong password", "redis://:wr0ng-pass@" + srv.Addr() + "/0", nil, "WRONGPASS", false},
		{"zero timeout", "redis://" + srv.Addr(), []redisstore.Option{redisstore.WithTimeout(0)}, "WithTimeout", false},
		{"negative cache TTL", "redis://" + srv.Addr(), []redisstore.Option{redisstore.WithClientCache(-time.Second)}, "WithClientCache", false},
		{"nil codec", "redis://" + srv.Addr(), []redisstore.Option{redisstore.WithCodec(nil)}, "WithCodec", false},
		{"nil option", "redis://" + srv.Addr(), []redisstore.Option{nil}, "nil Option", false},
		{"cache off in URL", "redis://:s3cret-pass@" + srv.Addr() + "?client_cache=0", []redisstore.Option{redisstore.WithClientCache(time.Second)}, "client_cache=0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.New(ctx, tc.url, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-pass") || strings.Contains(err.Error(), "wr0ng-pass") {
				t.Errorf("err = %q reveals the password", err)
			}
			if got := errors.Is(err, sessionmw.ErrStoreUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(ErrStoreUnavailable) = %v, want %v (%v)", got, tc.unavailable, err)
			}
		})
	}
	t.Run("right password", func(t *testing.T) {
		s, err := redisstore.New(ctx, "redis://:s3cret-pass@"+srv.Addr()+"/3")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mustSave(t, s, "id", sessionmw.Update{Replace: true}, time.Hour)
	})
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := redisstore.New(cctx, "redis://:s3cret-pass@"+srv.Addr()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestClose(t *testing.T) {
	srv := redistest.Start(t)
	t.Run("owned client", func(t *testing.T) {
		s, err := redisstore.New(context.Background(), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		checkClosed(t, s)
	})
	t.Run("caller's client", func(t *testing.T) {
		client := rawClient(t, srv.Addr())
		s := redisstore.NewFromClient(client, redisstore.WithPrefix("fc:"))
		mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, time.Hour)
		if v, _ := mustLoad(t, s, "id").Get("a"); v != 1 {
			t.Fatalf("a = %v, want 1", v)
		}
		s.Close()
		checkClosed(t, s)
		if err := do(t, client, "PING").Error(); err != nil {
			t.Fatalf("Close closed the caller's client: %v", err)
		}
	})
}

func checkClosed(t *testing.T, s *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	_, lerr := s.Load(ctx, "id")
	serr := s.Save(ctx, "id", sessionmw.Update{Replace: true}, time.Hour)
	derr := s.Delete(ctx, "id")
	_, xerr := s.SubjectSessions(ctx, "subject")
	for _, err := range []error{lerr, serr, derr, xerr} {
		if !errors.Is(err, sessionmw.ErrStoreClosed) {
			t.Errorf("after Close: %v, want ErrStoreClosed", err)
		}
	}
}

func TestNewFromClientPanicsOnMisuse(t *testing.T) {
	srv := redistest.Start(t)
	client := rawClient(t, srv.Addr())
	tests := []struct {
		name   string
		client valkey.Client
		opts   []redisstore.Option
	}{
		{"nil client", nil, nil},
		{"invalid option", client, []redisstore.Option{redisstore.WithTimeout(-1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			redisstore.NewFromClient(tc.client, tc.opts...)
		})
	}
}

func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	ctx := context.Background()
	s, err := redisstore.NewCluster(ctx, c.Addrs()[:1], redisstore.WithPrefix("cl:")) // discovers the others
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 300
	for i := range n {
		id := fmt.Sprintf("session-%d", i)
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("i", i)}}, time.Hour)
		mustSave(t, s, id, sessionmw.Update{Set: []sessionmw.Entry{e("j", -i)}}, time.Hour)
	}
	for i := range n {
		r := mustLoad(t, s, fmt.Sprintf("session-%d", i))
		if v, _ := r.Get("i"); v != i {
			t.Fatalf("session-%d: i = %v", i, v)
		}
		if v, _ := r.Get("j"); v != -i {
			t.Fatalf("session-%d: j = %v", i, v)
		}
	}
	for _, addr := range c.Addrs() {
		// Each node is asked on its own: a cluster client would route.
		if got, err := redistest.Do(addr, "DBSIZE"); err != nil || got == "0" {
			t.Errorf("node %s holds %s keys (%v): sessions not spread over the slots", addr, got, err)
		}
	}
	if err := s.Save(ctx, "missing", sessionmw.Update{Set: []sessionmw.Entry{e("a", 1)}}, time.Hour); !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("delta on a missing session: %v, want ErrNotFound", err)
	}

	t.Run("with client cache", func(t *testing.T) {
		cs, err := redisstore.NewCluster(ctx, c.Addrs(), redisstore.WithPrefix("cl:"), redisstore.WithClientCache(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		for i := range 50 {
			id := fmt.Sprintf("session-%d", i)
			mustLoad(t, cs, id)
			mustSave(t, s, id, sessionmw.Update{Set: []sessionmw.Entry{e("i", i+1000)}}, time.Hour)
		}
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; i < 50; {
			if v, _ := mustLoad(t, cs, fmt.Sprintf("session-%d", i)).Get("i"); v == i+1000 {
				i++
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("session-%d: the cached copy was not invalidated", i)
			}
			time.Sleep(time.Millisecond)
		}
	})

	t.Run("conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) sessionmw.Store {
			cs, err := redisstore.NewCluster(ctx, c.Addrs(), redisstore.WithPrefix(t.Name()+":"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cs.Close() })
			return cs
		})
	})

	// A subject's index is one key, on one node; its sessions are spread
	// over all of them, and hash tags in subjects or ids change nothing.
	t.Run("subject index across slots", func(t *testing.T) {
		for _, sub := range []string{"plain", "{tag}", "{", "{}x", "a{b}c"} {
			var want []string
			for i := range 60 {
				id := fmt.Sprintf("%s-%02d", sub, i)
				if i%3 == 0 {
					id = fmt.Sprintf("{%02d}%s", i, sub) // a hash tag of its own
				}
				mustSave(t, s, id, sessionmw.Update{Replace: true, Meta: as(sub, int64(i))}, time.Hour)
				want = append(want, id)
			}
			for _, id := range want[:10] {
				if err := s.Delete(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			mustSave(t, s, want[10], sessionmw.Update{Meta: as("someone else", 10)}, time.Hour)
			if got := listIDs(t, s, sub); !reflect.DeepEqual(got, want[11:]) {
				t.Fatalf("subject %q: %v\nwant %v", sub, got, want[11:])
			}
		}
	})

	t.Run("NewCluster on a single server", func(t *testing.T) {
		single := redistest.Start(t)
		if s, err := redisstore.NewCluster(ctx, []string{single.Addr()}); err == nil {
			s.Close()
			t.Fatal("NewCluster accepted a server that is not a cluster")
		}
		if _, err := redisstore.NewCluster(ctx, nil); err == nil {
			t.Fatal("NewCluster accepted no addresses")
		}
	})
}

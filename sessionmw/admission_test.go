package sessionmw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessionmw/go/sessionmw"
)

// probationRoom is how many small sessions (a UUID id and one int) the
// stores of admissionStores keep on probation.
const probationRoom = 20

// smallCost is what a RistrettoStore charges for such a session (see
// recordCost and entryOverhead).
const smallCost = 36 + 96 + len("n") + 32 + 16 + 224

type admissionStore interface {
	sessionmw.Store
	sessionmw.EvictionNotifier
	Close() error
}

// admissionStores makes small in-process stores with room for
// probationRoom sessions on probation: MemoryIO capped at capacity
// sessions in all, RistrettoStore with room for many more proven ones.
func admissionStores(t *testing.T, capacity int) map[string]func() admissionStore {
	t.Helper()
	return map[string]func() admissionStore{
		"MemoryIO": func() admissionStore {
			s := sessionmw.NewMemoryIO(sessionmw.WithMaxEntries(capacity), sessionmw.WithProbation(probationRoom), sessionmw.WithSweepInterval(0))
			t.Cleanup(func() { s.Close() })
			return s
		},
		"RistrettoStore": func() admissionStore {
			s, err := sessionmw.NewRistrettoStore(1<<16, sessionmw.WithProbationBytes(probationRoom*int64(smallCost)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func anonMeta() sessionmw.Meta {
	now := time.Now().UnixNano()
	return sessionmw.Meta{Created: now, Issued: now, Saved: now}
}

// newSession saves a new session under id as the middleware saves a new
// visitor's, holding n.
func newSession(t *testing.T, s sessionmw.Store, id string, n int, meta sessionmw.Meta) {
	t.Helper()
	err := s.Save(context.Background(), id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "n", Value: n}}, Meta: meta}, time.Hour)
	if err != nil {
		t.Fatalf("save %s: %v", id, err)
	}
}

// holds reports whether s holds id with value n.
func holds(t *testing.T, s sessionmw.Store, id string, n int) bool {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("load %s: %v", id, err)
	}
	if r == nil {
		return false
	}
	if v, _ := r.Get("n"); v != n {
		t.Fatalf("%s holds n = %v, want %d", id, v, n)
	}
	return true
}

// flood saves n new anonymous sessions and returns their ids, oldest
// first.
func flood(t *testing.T, s sessionmw.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		newSession(t, s, ids[i], -1, anonMeta())
	}
	return ids
}

// A flood of new anonymous sessions recycles probation and never evicts a
// proven session: one whose client came back, a logged-in one, a
// renewal's successor, a remember-me token or a revocation entry.
func TestAdmissionFloodKeepsProvenSessions(t *testing.T) {
	for name, mk := range admissionStores(t, 100) {
		t.Run(name, func(t *testing.T) {
			s := mk()
			proven := map[string]int{}
			add := func(id string, meta sessionmw.Meta) {
				n := len(proven)
				newSession(t, s, id, n, meta)
				proven[id] = n
			}
			for range 10 { // returning: loaded once after being saved
				id := uuid.NewString()
				add(id, anonMeta())
				if !holds(t, s, id, proven[id]) {
					t.Fatal("a new session is gone before the flood")
				}
			}
			for i := range 5 {
				m := anonMeta()
				m.Subject = fmt.Sprintf("user%d", i)
				add(uuid.NewString(), m)
			}
			for range 5 {
				m := anonMeta()
				m.Created -= int64(time.Hour) // renewed: older than its id
				add(uuid.NewString(), m)
			}
			for range 3 {
				add("remember:"+uuid.NewString(), anonMeta())
				add("revoked:"+uuid.NewString(), anonMeta())
			}
			ids := flood(t, s, 50*probationRoom)
			for id, n := range proven {
				if !holds(t, s, id, n) {
					t.Errorf("proven session %.20s… evicted by the flood", id)
				}
			}
			// The newest of the flood are still there, the oldest are gone.
			if !holds(t, s, ids[len(ids)-1], -1) || holds(t, s, ids[0], -1) {
				t.Error("the flood's newest session is gone, or its oldest is still there")
			}
		})
	}
}

// Eviction takes the oldest session on probation: a new visitor's session
// survives until probationRoom newer ones have arrived.
func TestAdmissionOldestFirst(t *testing.T) {
	for name, mk := range admissionStores(t, 100) {
		t.Run(name, func(t *testing.T) {
			// Loading proves a session, so each store is checked once.
			s := mk()
			visitor := uuid.NewString()
			newSession(t, s, visitor, 7, anonMeta())
			flood(t, s, probationRoom-1)
			if !holds(t, s, visitor, 7) {
				t.Fatalf("a session on probation was evicted after %d newer ones, with room for %d", probationRoom-1, probationRoom)
			}
			s = mk()
			newSession(t, s, visitor, 7, anonMeta())
			ids := flood(t, s, probationRoom)
			if holds(t, s, visitor, 7) || !holds(t, s, ids[0], -1) {
				t.Fatalf("after %d newer sessions, the oldest on probation survived, or the next one was evicted", probationRoom)
			}
		})
	}
}

// A session is proven by a load (its client came back) and by a login
// (a save that sets the subject), and is then kept through a flood.
func TestAdmissionPromotion(t *testing.T) {
	for name, mk := range admissionStores(t, 100) {
		t.Run(name, func(t *testing.T) {
			s := mk()
			loaded, loggedIn := uuid.NewString(), uuid.NewString()
			newSession(t, s, loaded, 1, anonMeta())
			newSession(t, s, loggedIn, 2, anonMeta())
			holds(t, s, loaded, 1)
			m := anonMeta()
			m.Subject = "alice"
			err := s.Save(context.Background(), loggedIn, sessionmw.Update{Meta: m}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			flood(t, s, 5*probationRoom)
			if !holds(t, s, loaded, 1) {
				t.Error("a session loaded once was evicted")
			}
			if !holds(t, s, loggedIn, 2) {
				t.Error("a session that logged in was evicted")
			}
		})
	}
}

// Eviction listeners learn of every session evicted from probation, oldest
// first, and of expired ones; after stop, of none.
func TestAdmissionEvictionsReported(t *testing.T) {
	for name, mk := range admissionStores(t, 100) {
		t.Run(name, func(t *testing.T) {
			s := mk()
			var mu sync.Mutex
			var got []sessionmw.Eviction
			stop := s.NotifyEvictions(func(ev sessionmw.Eviction) {
				mu.Lock()
				got = append(got, ev)
				mu.Unlock()
			})
			// One session that expires while on probation (not loaded,
			// which would prove it), then a flood that pushes it and 4
			// more out.
			short := uuid.NewString()
			meta := anonMeta()
			if err := s.Save(context.Background(), short, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "n", Value: 1}}, Meta: meta}, time.Nanosecond); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the clock to pass the TTL", func() bool { return time.Now().UnixNano() > meta.Saved+int64(time.Millisecond) })
			ids := flood(t, s, probationRoom+4)
			want := append([]string{short}, ids[:4]...)
			waitFor(t, "5 evictions reported", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(want) })
			mu.Lock()
			for i, ev := range got[:len(want)] {
				reason := "evicted"
				if i == 0 {
					reason = "expired"
				}
				if ev.ID != want[i] || ev.Reason != reason || ev.Meta.Created != meta.Created && i == 0 {
					t.Errorf("report %d: %.12s… %q, want %.12s… %q", i, ev.ID, ev.Reason, want[i], reason)
				}
			}
			mu.Unlock()
			stop()
			stop() // idempotent
			flood(t, s, 10)
			if m, ok := s.(*sessionmw.MemoryIO); ok {
				// A second listener sees a swept session, the first none.
				ch := make(chan sessionmw.Eviction, 1)
				id := uuid.NewString()
				defer m.NotifyEvictions(func(ev sessionmw.Eviction) {
					if ev.ID == id { // not the flood's sessions it pushes out
						ch <- ev
					}
				})()
				saved := time.Now().UnixNano()
				if err := m.Save(context.Background(), id, sessionmw.Update{Replace: true}, time.Nanosecond); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the clock to pass the TTL", func() bool { return time.Now().UnixNano() > saved+int64(time.Millisecond) })
				m.Sweep()
				select {
				case ev := <-ch:
					if ev.ID != id || ev.Reason != "expired" {
						t.Errorf("sweep reported %.12s… %q", ev.ID, ev.Reason)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the sweep of an expired session was not reported")
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(want) {
				t.Errorf("%d reports, want %d (none after stop)", len(got), len(want))
			}
		})
	}
}

// MemoryIO refuses a new session with ErrStoreFull only when proven
// sessions fill its cap, and even then takes a renewal.
func TestMemoryIOFullOfProvenSessions(t *testing.T) {
	s := sessionmw.NewMemoryIO(sessionmw.WithMaxEntries(10), sessionmw.WithProbation(5), sessionmw.WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	anon := flood(t, s, 5)
	login := func(id, subject string, created int64) error {
		m := anonMeta()
		m.Subject = subject
		if created != 0 {
			m.Created = created
		}
		return s.Save(ctx, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{{Key: "n", Value: 1}}, Meta: m}, time.Hour)
	}
	var users []string
	for i := range 10 {
		id := uuid.NewString()
		if err := login(id, fmt.Sprintf("u%d", i), 0); err != nil {
			t.Fatalf("login %d with sessions on probation left: %v", i, err)
		}
		users = append(users, id)
	}
	for _, id := range anon {
		if holds(t, s, id, -1) {
			t.Fatal("a session on probation survived the store filling with proven ones")
		}
	}
	if err := login(uuid.NewString(), "late", 0); !errors.Is(err, sessionmw.ErrStoreFull) {
		t.Fatalf("login with proven sessions at the cap: %v, want ErrStoreFull", err)
	}
	if err := s.Save(ctx, uuid.NewString(), sessionmw.Update{Replace: true}, time.Hour); !errors.Is(err, sessionmw.ErrStoreFull) {
		t.Fatalf("new anonymous session with proven sessions at the cap: %v, want ErrStoreFull", err)
	}
	if err := s.Save(ctx, users[0], sessionmw.Update{Set: []sessionmw.Entry{{Key: "n", Value: 2}}}, time.Hour); err != nil {
		t.Fatalf("a proven session's save at the cap: %v", err)
	}
	// A renewal: the successor first, then the old id is superseded.
	succ := uuid.NewString()
	if err := login(succ, "u1", time.Now().Add(-time.Hour).UnixNano()); err != nil {
		t.Fatalf("renewal's successor at the cap: %v", err)
	}
	mark := anonMeta()
	mark.Subject, mark.Successor = "u1", succ
	if err := s.Save(ctx, users[1], sessionmw.Update{Meta: mark}, time.Second); err != nil {
		t.Fatalf("superseding the renewed id at the cap: %v", err)
	}
	if err := login(uuid.NewString(), "late", 0); !errors.Is(err, sessionmw.ErrStoreFull) {
		t.Fatalf("after a renewal the store is as full as before: %v, want ErrStoreFull", err)
	}
	if err := s.Delete(ctx, users[2]); err != nil {
		t.Fatal(err)
	}
	if err := login(uuid.NewString(), "late", 0); err != nil {
		t.Fatalf("login after a logout freed a slot: %v", err)
	}
}

// RistrettoStore never refuses a proven session for lack of room: when
// proven sessions outgrow their budget, ristretto evicts some (reported)
// to admit each new one, logins and renewals included.
func TestRistrettoAdmitsEveryProvenSession(t *testing.T) {
	s, err := sessionmw.NewRistrettoStore(1<<16, sessionmw.WithProbationBytes(probationRoom*int64(smallCost)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	evicted := 0
	defer s.NotifyEvictions(func(ev sessionmw.Eviction) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Reason == "evicted" && strings.HasPrefix(ev.Meta.Subject, "u") {
			evicted++
		}
	})()
	const n = 1000 // about six times what the budget holds
	var last string
	for i := range n {
		m := anonMeta()
		m.Subject = fmt.Sprintf("u%d", i)
		last = uuid.NewString()
		newSession(t, s, last, i, m)
		if !holds(t, s, last, i) {
			t.Fatalf("login %d reported saved but does not load", i)
		}
	}
	// A renewal of the last login: its successor is admitted (pushing out
	// a random proven session, which may be the renewed one itself: the
	// middleware then finds the old id gone, as after a logout).
	m := anonMeta()
	m.Subject, m.Created = "renewed", m.Created-int64(time.Hour)
	succ := uuid.NewString()
	newSession(t, s, succ, 0, m)
	if !holds(t, s, succ, 0) {
		t.Fatal("a renewal's successor reported saved but does not load")
	}
	mark := anonMeta()
	mark.Successor = succ
	if err := s.Save(context.Background(), last, sessionmw.Update{Meta: mark}, time.Second); err != nil && !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("superseding a proven session in a full cache: %v", err)
	}
	// Each login costs at least smallCost plus its subject's 2 bytes.
	held := (1<<16 - probationRoom*smallCost) / (smallCost + 2)
	waitFor(t, "the evictions to be reported", func() bool { mu.Lock(); defer mu.Unlock(); return evicted >= n-held })
}

// Through the middleware: a flood of cookie-less requests that each write
// the session, interleaved with real users, refuses and logs out none of
// them, and every new visitor's session works on their next request.
func TestFloodKeepsRealUsers(t *testing.T) {
	for name, mk := range admissionStores(t, 200) {
		t.Run(name, func(t *testing.T) {
			mw, err := sessionmw.New([]byte("0123456789abcdef0123456789abcdef"), sessionmw.WithStore(mk()), sessionmw.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Close()
			mux := http.NewServeMux()
			mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
				s := sessionmw.FromRequest(r).GetSession()
				n, _ := sessionmw.Get[int](s, "n")
				s.Set("n", n+1)
				fmt.Fprint(w, n+1)
			})
			mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
				if err := sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: r.URL.Query().Get("u")}); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})
			mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
				id, _ := sessionmw.FromRequest(r).Identity()
				fmt.Fprint(w, id.Subject)
			})
			h := mw.Handler(mux)
			type client struct{ cookie, body string }
			do := func(c *client, path string) int {
				req := httptest.NewRequest("GET", path, nil)
				if c.cookie != "" {
					req.Header.Set("Cookie", c.cookie)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if sc := rec.Result().Cookies(); len(sc) > 0 {
					c.cookie = sc[0].Name + "=" + sc[0].Value
				}
				b, _ := io.ReadAll(rec.Body)
				c.body = string(b)
				return rec.Code
			}
			// Real users: each has come back once; every other one is
			// logged in.
			users := make([]*client, 10)
			count := make([]int, len(users))
			for i := range users {
				users[i] = &client{}
				for count[i] < 2 {
					if do(users[i], "/count") != 200 {
						t.Fatal(users[i].body)
					}
					count[i]++
				}
				if i%2 == 1 && do(users[i], fmt.Sprintf("/login?u=user%d", i)) != 200 {
					t.Fatal(users[i].body)
				}
			}
			var visitor *client
			for round := range 30 {
				for range 3 * probationRoom / 4 { // the flood: never comes back
					if code := do(&client{}, "/count"); code != 200 {
						t.Fatalf("flood request: %d", code)
					}
				}
				if visitor != nil {
					if code := do(visitor, "/count"); code != 200 || visitor.body != "2" {
						t.Fatalf("round %d: a new visitor's second request: %d %q, want 200 \"2\"", round, code, visitor.body)
					}
				}
				visitor = &client{}
				if code := do(visitor, "/count"); code != 200 || visitor.body != "1" {
					t.Fatalf("round %d: a new visitor: %d %q", round, code, visitor.body)
				}
				for i, u := range users {
					count[i]++
					if code := do(u, "/count"); code != 200 || u.body != fmt.Sprint(count[i]) {
						t.Fatalf("round %d: user %d: %d %q, want 200 %q", round, i, code, u.body, fmt.Sprint(count[i]))
					}
					if i%2 == 1 {
						if do(u, "/whoami"); u.body != fmt.Sprintf("user%d", i) {
							t.Fatalf("round %d: user %d was logged out (%q)", round, i, u.body)
						}
					}
				}
			}
		})
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

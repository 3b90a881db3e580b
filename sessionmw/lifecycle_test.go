package sessionmw_test

// Regression tests for the combinations that broke guarantees before the
// lifecycle was made one model (issue 12, observations 1–12). Each test
// is named for what must hold; the model test (model_test.go) checks the
// same invariants over random sequences.

import (
	"context"

	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// upstreamRecorder is a next handler that keeps the request it got.
type upstreamRecorder struct {
	mu   sync.Mutex
	last *http.Request
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.last = r
	u.mu.Unlock()
	if r.URL.Path == "/login" {
		sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: "alice"})
		sessionmw.FromRequest(r).GetSession().Set("big", strings.Repeat("x", 5000))
	}
}

func (u *upstreamRecorder) got() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// 1. The skip header turned off stripping: credentials and spoofed
// Session-* headers reached the upstream on skipped requests.
func TestSkipHeaderStillStripsCredentials(t *testing.T) {
	up := &upstreamRecorder{}
	mw := newMW(t, nil, sessionmw.WithSkipHeader("X-Skip-Session", "1"), sessionmw.WithRequestHeaders("subject"),
		sessionmw.WithDisableSessionForward(true), sessionmw.WithRemember(0, 0))
	b := newBrowser(t, mw.Handler(up))
	b.do("POST", "/login")
	if b.cookie("sid") == "" || b.cookie("remember") == "" {
		t.Fatalf("setup: cookies %v", b.cookies)
	}
	for _, skip := range []bool{true, false} {
		req := httptest.NewRequest("GET", "/api", nil)
		req.Header.Set("Cookie", b.header()+"; theme=dark")
		req.Header.Set("Session-Subject", "admin")
		req.Header.Set("Session-Id", "forged")
		if skip {
			req.Header.Set("X-Skip-Session", "1")
		}
		mw.Handler(up).ServeHTTP(httptest.NewRecorder(), req)
		got := up.got()
		if c := got.Header.Get("Cookie"); c != "theme=dark" {
			t.Errorf("skip=%v: upstream got Cookie %q, want only theme=dark", skip, c)
		}
		if v := got.Header.Get("Session-Id"); v != "" {
			t.Errorf("skip=%v: upstream got the client's Session-Id %q", skip, v)
		}
		want := ""
		if !skip {
			want = "alice" // the middleware's own, from the session
		}
		if v := got.Header.Get("Session-Subject"); v != want {
			t.Errorf("skip=%v: upstream got Session-Subject %q, want %q", skip, v, want)
		}
		if req.Header.Get("Session-Subject") != "admin" || !strings.Contains(req.Header.Get("Cookie"), "sid=") {
			t.Error("the middleware changed the caller's request instead of a copy")
		}
	}
	// Without a spoofed header to strip (nothing else clones the header
	// map), the session's own headers still go only to the copy.
	req := httptest.NewRequest("GET", "/api", nil)
	req.Header.Set("Cookie", b.header())
	mw.Handler(up).ServeHTTP(httptest.NewRecorder(), req)
	if up.got().Header.Get("Session-Subject") != "alice" || req.Header.Get("Session-Subject") != "" {
		t.Errorf("Session-Subject: upstream %q, caller's request %q; want alice and nothing",
			up.got().Header.Get("Session-Subject"), req.Header.Get("Session-Subject"))
	}
}

// 2. Forwarding stripped only the lookup credential: the remember cookie
// and cookie storage's chunks reached the upstream.
func TestForwardingStripsEveryCredential(t *testing.T) {
	for name, opts := range map[string][]sessionmw.Option{
		"server store":   {sessionmw.WithRemember(0, 0)},
		"cookie storage": {sessionmw.WithCookieStorage(), sessionmw.WithRemember(0, 0)},
		"header lookup":  {sessionmw.WithKeyLookup("header:X-Session"), sessionmw.WithRemember(0, 0)},
	} {
		t.Run(name, func(t *testing.T) {
			up := &upstreamRecorder{}
			mw := newMW(t, nil, append(opts, sessionmw.WithDisableSessionForward(true))...)
			h := mw.Handler(up)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
			var cookies []string
			for _, c := range rec.Result().Cookies() {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			if name == "cookie storage" && len(cookies) < 3 {
				t.Fatalf("setup: want two chunks and a remember cookie, got %d cookies", len(cookies))
			}
			req := httptest.NewRequest("GET", "/api", nil)
			req.Header.Set("Cookie", "a=1; "+strings.Join(cookies, "; ")+"; z=2")
			if v := rec.Header().Get("X-Session"); v != "" {
				req.Header.Set("X-Session", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			got := up.got()
			if c := got.Header.Get("Cookie"); c != "a=1; z=2" {
				t.Errorf("upstream got Cookie %q, want a=1; z=2", c)
			}
			if v := got.Header.Get("X-Session"); v != "" {
				t.Errorf("upstream got the header credential %q", v)
			}
			if who, ok := sessionmw.Authenticated(got); !ok || who.Subject != "alice" {
				t.Errorf("the session itself was lost: %v %v", who, ok)
			}
		})
	}
}

// 3. Renewal races kept old ids alive: a request that loaded the id just
// before the renewal point saved or touched it after, clearing its
// successor link and giving it a full lifetime; parallel requests crossing
// the renewal point each minted a logged-in id.
func TestRenewalRaceLeavesNoOldIDAlive(t *testing.T) {
	ctx := context.Background()
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			for _, write := range []bool{true, false} {
				clock := &testClock{}
				store := kind.make(t)
				g := newGated()
				mw := newMW(t, clock, sessionmw.WithStore(store), sessionmw.WithAutoRenew(30*time.Minute))
				alice := newBrowser(t, mw.Handler(lcApp(g.gate)))
				mustOK(t, alice.do("POST", "/login?sub=alice"))
				oldCookie := alice.header()
				old := sessionmw.IDOf(mw, alice.cookie("sid"))

				clock.advance(30*time.Minute - time.Second) // B loads just before the renewal point
				b := alice.clone()
				target := "/gate"
				if write {
					target += "?k=b&v=1"
				}
				finishB := g.start(b, "GET", target)
				clock.advance(2 * time.Second) // A crosses it and renews
				succ := field(mustOK(t, alice.do("GET", "/get")), "id")
				if succ == old || succ == "-" {
					t.Fatalf("write=%v: not renewed (%s)", write, succ)
				}
				mustOK(t, finishB())
				if got := sessionmw.IDOf(mw, b.cookie("sid")); got != succ {
					t.Fatalf("write=%v: B's response did not carry the successor", write)
				}
				if write && field(mustOK(t, alice.do("GET", "/get")), "b") != "1" {
					t.Fatalf("B's write did not land on the successor")
				}
				rec, err := store.Load(ctx, old)
				if err != nil {
					t.Fatal(err)
				}
				if rec != nil && rec.Meta.Successor != succ {
					t.Fatalf("write=%v: the old id lost its successor link: %+v", write, rec.Meta)
				}

				mustOK(t, alice.do("POST", "/logout"))
				for _, c := range []string{oldCookie, b.header()} {
					if sub := field(mustOK(t, alice.send("GET", "/get", c, false)), "sub"); sub != "-" {
						t.Fatalf("write=%v: after logout a copy of the lineage is still logged in as %q", write, sub)
					}
				}
				if n := liveSessions(t, mw, clock, sessionmw.DefaultIdleTimeout, "alice"); n != 0 {
					t.Fatalf("write=%v: %d sessions listed after logout", write, n)
				}
			}
		})
	}
}

// 3 (continued). Twenty requests crossing the renewal point together
// make one successor, and every one of them is handed it.
func TestParallelRenewalsMakeOneSuccessor(t *testing.T) {
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			clock := &testClock{}
			mw := newMW(t, clock, sessionmw.WithStore(kind.make(t)), sessionmw.WithAutoRenew(30*time.Minute))
			h := mw.Handler(lcApp(nil))
			alice := newBrowser(t, h)
			mustOK(t, alice.do("POST", "/login?sub=alice"))
			oldCookie := alice.header()
			clock.advance(31 * time.Minute)
			const n = 20
			tabs := make([]*browser, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range tabs {
				tabs[i] = alice.clone()
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					tabs[i].do("GET", "/get")
				}()
			}
			close(start)
			wg.Wait()
			succ := sessionmw.IDOf(mw, tabs[0].cookie("sid"))
			for i, tab := range tabs {
				if got := sessionmw.IDOf(mw, tab.cookie("sid")); got != succ || got == "" {
					t.Fatalf("tab %d holds another id than tab 0", i)
				}
			}
			if got := liveSessions(t, mw, clock, sessionmw.DefaultIdleTimeout, "alice"); got != 1 {
				t.Fatalf("%d live sessions after parallel renewals, want 1", got)
			}
			mustOK(t, tabs[3].do("POST", "/logout"))
			for i, c := range append([]string{oldCookie}, tabs[0].header(), tabs[n-1].header()) {
				if sub := field(mustOK(t, alice.send("GET", "/get", c, false)), "sub"); sub != "-" {
					t.Fatalf("copy %d still logged in as %q after logout", i, sub)
				}
			}
		})
	}
}

// 4. Writes racing a renewal were lost: a slow request that set a key
// while Login or auto-renew ran answered 200 and lost its write.
func TestWriteRacingRenewalIsNotLost(t *testing.T) {
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			t.Run("write before the login's mark is carried over", func(t *testing.T) {
				g := newGated()
				mw := newMW(t, &testClock{}, sessionmw.WithStore(kind.make(t)))
				alice := newBrowser(t, mw.Handler(lcApp(g.gate)))
				mustOK(t, alice.do("GET", setTarget("cart", "1")))
				slow := alice.clone()
				login := g.start(alice, "POST", "/gate?login=alice") // has loaded the session
				mustOK(t, slow.do("GET", setTarget("slow", "1")))
				body := mustOK(t, login())
				if field(body, "slow") != "1" || field(body, "cart") != "1" || field(body, "sub") != "alice" {
					t.Fatalf("after login: %s, want cart, slow and alice", body)
				}
			})
			t.Run("write after the login's mark fails loudly", func(t *testing.T) {
				g := newGated()
				mw := newMW(t, &testClock{}, sessionmw.WithStore(kind.make(t)))
				alice := newBrowser(t, mw.Handler(lcApp(g.gate)))
				mustOK(t, alice.do("GET", setTarget("cart", "1")))
				slow := alice.clone()
				write := g.start(slow, "GET", "/gate?k=slow&v=1")
				mustOK(t, alice.do("POST", "/login?sub=alice"))
				rec := write()
				if rec.Code == http.StatusOK {
					t.Fatalf("a write to an id a login retired answered 200: %s", rec.Body.String())
				}
				if rec.Code != http.StatusConflict {
					t.Fatalf("status %d, want 409", rec.Code)
				}
				if got := field(mustOK(t, alice.do("GET", "/get")), "sub"); got != "alice" {
					t.Fatalf("the login was harmed: sub=%s", got)
				}
				// The retired id leads nowhere: no fixation through it.
				if sub := field(mustOK(t, slow.do("GET", "/get")), "sub"); sub != "-" {
					t.Fatalf("the pre-login id reaches the logged-in session (%s)", sub)
				}
			})
		})
	}
}

// 5. Cookie storage's revocation missed renewed cookies: logout revoked
// only the cookie it was given.
func TestCookieStorageLogoutEndsEveryCookie(t *testing.T) {
	clock := &testClock{}
	revs := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer revs.Close()
	mw := newMW(t, clock, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(revs),
		sessionmw.WithAutoRenew(10*time.Minute), sessionmw.WithIdleTimeout(time.Hour))
	alice := newBrowser(t, mw.Handler(lcApp(nil)))
	anonymous := func() string { mustOK(t, alice.do("GET", setTarget("a", "1"))); return alice.header() }()
	mustOK(t, alice.do("POST", "/login?sub=alice"))
	if sub := field(mustOK(t, alice.send("GET", "/get", anonymous, false)), "a"); sub != "" {
		t.Fatal("the pre-login cookie still opens its session after login")
	}
	c0 := alice.header()
	clock.advance(11 * time.Minute)
	mustOK(t, alice.do("GET", "/get"))
	c1 := alice.header()
	if c1 == c0 {
		t.Fatal("setup: not renewed")
	}
	for _, c := range []string{c0, c1} {
		if sub := field(mustOK(t, alice.send("GET", "/get", c, false)), "sub"); sub != "alice" {
			t.Fatalf("before logout: sub=%s", sub)
		}
	}
	mustOK(t, alice.do("POST", "/logout"))
	for i, c := range []string{c0, c1} {
		if sub := field(mustOK(t, alice.send("GET", "/get", c, false)), "sub"); sub != "-" {
			t.Fatalf("cookie %d of the lineage accepted after logout (sub=%s)", i, sub)
		}
	}
}

// 6. Remember-me restores bypassed limits: each request carrying only the
// remember cookie made a new logged-in session.
func TestRememberRestoreHoldsTheCap(t *testing.T) {
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			clock := &testClock{}
			mw := newMW(t, clock, sessionmw.WithStore(kind.make(t)), sessionmw.WithRemember(0, 0), sessionmw.WithMaxSessionsPerSubject(3))
			h := mw.Handler(lcApp(nil))
			alice := newBrowser(t, h)
			mustOK(t, alice.do("POST", "/login?sub=alice"))
			token := "remember=" + alice.cookie("remember")

			// 50 requests at once, each with only the remember cookie.
			ids := make(chan string, 50)
			var wg sync.WaitGroup
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := mustOK(t, alice.send("GET", "/get", token, false))
					if field(body, "sub") != "alice" {
						t.Errorf("not restored: %s", body)
					}
					ids <- field(body, "id")
				}()
			}
			wg.Wait()
			close(ids)
			distinct := map[string]bool{}
			for id := range ids {
				distinct[id] = true
			}
			if len(distinct) != 1 {
				t.Fatalf("50 restores from one token made %d sessions, want 1", len(distinct))
			}
			if n := liveSessions(t, mw, clock, sessionmw.DefaultIdleTimeout, "alice"); n != 1 {
				t.Fatalf("%d live sessions, want 1 (the login's session ended with its spent token)", n)
			}

			// A client that loses its session cookie every time, but keeps
			// the rotated token: one live session at a time.
			c := newBrowser(t, h)
			c.cookies["remember"] = alice.cookie("remember")
			mustOK(t, c.send("GET", "/get", token, false)) // adopt the restored session and its token
			c.take(alice.send("GET", "/get", token, false))
			for i := range 8 {
				delete(c.cookies, "sid")
				clock.advance(time.Minute)
				if sub := field(mustOK(t, c.do("GET", "/get")), "sub"); sub != "alice" {
					t.Fatalf("restore %d: sub=%s", i, sub)
				}
				if n := liveSessions(t, mw, clock, sessionmw.DefaultIdleTimeout, "alice"); n > 1 {
					t.Fatalf("restore %d: %d live sessions", i, n)
				}
			}
			// Logins beyond the cap.
			for range 5 {
				mustOK(t, newBrowser(t, h).do("POST", "/login?sub=alice"))
			}
			if n := liveSessions(t, mw, clock, sessionmw.DefaultIdleTimeout, "alice"); n > 3 {
				t.Fatalf("%d live sessions over a cap of 3", n)
			}
		})
	}
}

// 7. Cookie tossing: a planted dead id before the client's own cookie
// locked it out; a planted live one took it over. See also
// TestSeveralSessionCookies at the module root.
func TestTossedCookiesNeverChooseTheSession(t *testing.T) {
	mw := newMW(t, &testClock{}, sessionmw.WithStore(sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))))
	h := mw.Handler(lcApp(nil))
	attacker, victim := newBrowser(t, h), newBrowser(t, h)
	mustOK(t, attacker.do("POST", "/login?sub=mallory"))
	planted := attacker.cookie("sid")
	mustOK(t, attacker.do("POST", "/logout"))
	mustOK(t, victim.do("POST", "/login?sub=victim"))
	own := victim.cookie("sid")
	if sub := field(mustOK(t, victim.send("GET", "/get", "sid="+planted+"; sid="+own, false)), "sub"); sub != "victim" {
		t.Fatalf("a planted dead id before the client's own: sub=%s, want victim", sub)
	}
	mustOK(t, attacker.do("POST", "/login?sub=mallory"))
	live := attacker.cookie("sid")
	for _, c := range []string{"sid=" + live + "; sid=" + own, "sid=" + own + "; sid=" + live} {
		if sub := field(mustOK(t, victim.send("GET", "/get", c, false)), "sub"); sub == "mallory" {
			t.Fatalf("%s: the victim landed in the attacker's session", c)
		}
	}
}

// 8. A lost renewal response logged the user out: requests still carrying
// the old id were served but never handed the new one.
func TestMissedRenewalResponseHandsTheSuccessor(t *testing.T) {
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			clock := &testClock{}
			mw := newMW(t, clock, sessionmw.WithStore(kind.make(t)), sessionmw.WithAutoRenew(30*time.Minute), sessionmw.WithRenewGrace(10*time.Second))
			alice := newBrowser(t, mw.Handler(lcApp(nil)))
			mustOK(t, alice.do("POST", "/login?sub=alice"))
			oldCookie := alice.header()
			clock.advance(31 * time.Minute)
			succ := field(mustOK(t, alice.send("GET", "/get", oldCookie, false)), "id") // the response is lost
			clock.advance(5 * time.Second)
			rec := alice.do("GET", "/get")
			if body := mustOK(t, rec); field(body, "id") != succ || field(body, "sub") != "alice" {
				t.Fatalf("inside the grace window: %s, want the successor", body)
			}
			if got := sessionmw.IDOf(mw, alice.cookie("sid")); got != succ {
				t.Fatal("the response did not hand the successor's cookie")
			}
			clock.advance(10 * time.Second)
			if sub := field(mustOK(t, alice.do("GET", "/get")), "sub"); sub != "alice" {
				t.Fatalf("after the grace window, with the successor: sub=%s", sub)
			}
			if sub := field(mustOK(t, alice.send("GET", "/get", oldCookie, false)), "sub"); sub != "-" {
				t.Fatalf("after the grace window, the old id: sub=%s", sub)
			}
		})
	}
}

// 9. Query stripping re-encoded the query (url.Values.Encode), breaking
// signed URLs.
func TestQueryStrippingKeepsTheRawQuery(t *testing.T) {
	up := &upstreamRecorder{}
	mw := newMW(t, nil, sessionmw.WithKeyLookup("query:sid"), sessionmw.WithDisableSessionForward(true))
	for _, tc := range []struct{ in, want string }{
		{"/p?z=2&sid=X&a=%2Fx&sig=ab+c%3D&sid=Y&flag", "z=2&a=%2Fx&sig=ab+c%3D&flag"},
		{"/p?s%69d=X&b=%7e", "b=%7e"},
		{"/p?sid=X", ""},
		{"/p?a=1&b=2", "a=1&b=2"},
	} {
		mw.Handler(up).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.in, nil))
		got := up.got()
		if got.URL.RawQuery != tc.want {
			t.Errorf("%s: upstream RawQuery %q, want %q", tc.in, got.URL.RawQuery, tc.want)
		}
		wantURI := "/p"
		if tc.want != "" {
			wantURI += "?" + tc.want
		}
		if got.RequestURI != wantURI {
			t.Errorf("%s: upstream RequestURI %q, want %q", tc.in, got.RequestURI, wantURI)
		}
	}
}

// 10. Kong audiences clashed: two audiences shared the cookie "session"
// and Login/Authenticated did not find the audience's manager.
func TestAudiencesDoNotClash(t *testing.T) {
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer store.Close()
	for name, extra := range map[string][]sessionmw.Option{
		"cookie storage": nil,
		"server store":   {sessionmw.WithStore(store)},
	} {
		t.Run(name, func(t *testing.T) {
			mux := http.NewServeMux()
			for _, aud := range []string{"app", "admin"} {
				mw, err := gateway.Kong(lcSecret, append([]sessionmw.Option{sessionmw.WithAudience(aud), sessionmw.WithSecure(false)}, extra...)...)
				if err != nil {
					t.Fatal(err)
				}
				mux.Handle("/"+aud+"/", http.StripPrefix("/"+aud, mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if sub := r.URL.Query().Get("login"); sub != "" {
						if err := sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: sub}); err != nil {
							t.Errorf("%s: Login: %v", aud, err)
						}
						return
					}
					if who, ok := sessionmw.Authenticated(r); ok {
						w.Write([]byte(who.Subject))
					}
				}))))
			}
			b := newBrowser(t, mux)
			b.do("GET", "/app/x?login=alice")
			b.do("GET", "/admin/x?login=root")
			if b.cookie("session-app") == "" || b.cookie("session-admin") == "" || b.cookie("session") != "" {
				t.Fatalf("cookies %v, want session-app and session-admin", b.cookies)
			}
			if got := b.do("GET", "/app/me").Body.String(); got != "alice" {
				t.Fatalf("app: %q", got)
			}
			if got := b.do("GET", "/admin/me").Body.String(); got != "root" {
				t.Fatalf("admin: %q", got)
			}
			b.do("DELETE", "/app/me?session_logout=1")
			if got := b.do("GET", "/app/me").Body.String(); got != "" {
				t.Fatalf("app after its logout: %q", got)
			}
			if got := b.do("GET", "/admin/me").Body.String(); got != "root" {
				t.Fatalf("admin after app's logout: %q", got)
			}
		})
	}
}

// 12. WithMaxAge(3600), seconds as authx_extra takes them, meant 3.6 µs.
func TestWithMaxAgeTakesADuration(t *testing.T) {
	_, err := sessionmw.New(lcSecret, sessionmw.WithMaxAge(3600))
	if err == nil || !strings.Contains(err.Error(), "WithMaxAge") || !strings.Contains(err.Error(), "time.Duration") {
		t.Fatalf("WithMaxAge(3600): err = %v, want one naming WithMaxAge and time.Duration", err)
	}
	newMW(t, nil, sessionmw.WithMaxAge(3600*time.Second))
}

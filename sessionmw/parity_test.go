package sessionmw_test

// Tests of Kong parity (issue 16): client binding, logout bodies,
// GetSessionID keeping its session, remember-me restoring values,
// encryption at rest and hashed storage keys.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// replayFrom sends cookie from another client: remote address and
// User-Agent as given.
func replayFrom(h http.Handler, cookie, remote, ua string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/get", nil)
	req.Header.Set("Cookie", cookie)
	req.RemoteAddr = remote
	req.Header.Set("User-Agent", ua)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestBindRefusesAnotherClient: a bound session replayed from another IP
// or user agent is refused and logged with its reason, on server and
// cookie storage, remember-me token included; the bound client keeps it.
func TestBindRefusesAnotherClient(t *testing.T) {
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	for name, opt := range map[string]sessionmw.Option{
		"server store":   sessionmw.WithStore(mem),
		"cookie storage": sessionmw.WithCookieStorage(),
	} {
		t.Run(name, func(t *testing.T) {
			log := &hookLog{}
			mw := newMW(t, nil, opt, sessionmw.WithBind(sessionmw.BindIP|sessionmw.BindUserAgent),
				sessionmw.WithRemember(0, 0), sessionmw.WithHooks(log.hooks()))
			h := mw.Handler(lcApp(nil))
			req := httptest.NewRequest("POST", "/login?sub=alice", nil)
			req.RemoteAddr, req.Header["User-Agent"] = "10.0.0.1:1111", []string{"Firefox"}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var session, remember []string
			for _, c := range rec.Result().Cookies() {
				if c.Name == "remember" {
					remember = append(remember, c.Name+"="+c.Value)
				} else {
					session = append(session, c.Name+"="+c.Value)
				}
			}
			cookie := strings.Join(session, "; ")
			if sub := field(replayFrom(h, cookie, "10.0.0.1:2222", "Firefox").Body.String(), "sub"); sub != "alice" {
				t.Fatalf("the bound client (another port): sub=%s", sub)
			}
			log.take(true)
			for _, c := range []struct{ remote, ua string }{{"10.6.6.6:1", "Firefox"}, {"10.0.0.1:1", "curl"}} {
				if sub := field(replayFrom(h, cookie, c.remote, c.ua).Body.String(), "sub"); sub != "-" {
					t.Fatalf("replayed from %s/%s: sub=%s, want a fresh session", c.remote, c.ua, sub)
				}
				if sub := field(replayFrom(h, remember[0], c.remote, c.ua).Body.String(), "sub"); sub != "-" {
					t.Fatalf("remember cookie replayed from %s/%s restored %s", c.remote, c.ua, sub)
				}
			}
			got := log.take(false)
			if len(got) != 4 || got[0] != "Refused:binding" {
				t.Fatalf("hooks %q, want four Refused:binding", got)
			}
		})
	}
}

// TestGetSessionIDKeepsTheSession: the id of a new session, once asked
// for, is saved and sent, and names the same session next time.
func TestGetSessionIDKeepsTheSession(t *testing.T) {
	mw := newMW(t, nil)
	var ids []string
	b := newBrowser(t, mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids = append(ids, sessionmw.FromRequest(r).GetSessionID())
	})))
	b.do("GET", "/")
	if b.cookie("sid") == "" {
		t.Fatal("no cookie after GetSessionID on a new session")
	}
	b.do("GET", "/")
	if len(ids) != 2 || ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("ids %q, want the same id twice", ids)
	}
}

// TestLogoutBody: JSON and multipart bodies log out like forms; with
// WithLogoutBody(false) (Kong's default) no body is read.
func TestLogoutBody(t *testing.T) {
	bodies := map[string][2]string{
		"form":      {"application/x-www-form-urlencoded", "session_logout=1"},
		"json":      {"application/json", `{"session_logout": true}`},
		"multipart": {"multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"session_logout\"\r\n\r\n1\r\n--B--\r\n"},
	}
	for _, read := range []bool{true, false} {
		for name, b := range bodies {
			mw := newMW(t, nil, sessionmw.WithLogout(), sessionmw.WithLogoutBody(read))
			var seen string
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m := sessionmw.FromRequest(r)
				m.GetSession().Set("k", "v")
				body, _ := io.ReadAll(r.Body)
				seen = string(body)
			}))
			br := newBrowser(t, h)
			br.do("GET", "/")
			req := httptest.NewRequest("POST", "/", strings.NewReader(b[1]))
			req.Header.Set("Content-Type", b[0])
			req.Header.Set("Cookie", br.header())
			seen = ""
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			loggedOut := strings.Contains(rec.Header().Get("Set-Cookie"), "Max-Age=0")
			if loggedOut != read {
				t.Errorf("read=%v %s: logged out = %v", read, name, loggedOut)
			}
			if !read && seen != b[1] {
				t.Errorf("read=%v %s: the handler saw body %q, want it whole", read, name, seen)
			}
		}
	}
}

// TestRememberRestoresValues: after the browser lost its session cookie
// (and the session expired), the remember cookie brings back the login
// and the values the session last had, on every store and in cookie
// storage; logout takes both away.
func TestRememberRestoresValues(t *testing.T) {
	kinds := append(serverStores(t), storeKind{"CookieStorage", nil})
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			clock := &testClock{}
			opts := []sessionmw.Option{sessionmw.WithRemember(0, 0), sessionmw.WithIdleTimeout(time.Hour)}
			if kind.make != nil {
				opts = append(opts, sessionmw.WithStore(kind.make(t)))
			} else {
				revs := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
				t.Cleanup(func() { revs.Close() })
				opts = append(opts, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(revs))
			}
			mw := newMW(t, clock, opts...)
			b := newBrowser(t, mw.Handler(lcApp(nil)))
			mustOK(t, b.do("GET", setTarget("cart", "1")))
			mustOK(t, b.do("POST", "/login?sub=alice"))
			mustOK(t, b.do("GET", setTarget("theme", "dark")))
			mustOK(t, b.do("GET", setTarget("cart", "2")))
			delete(b.cookies, "sid")
			clock.advance(3 * time.Hour) // the session itself is long gone
			body := mustOK(t, b.do("GET", "/get"))
			if field(body, "sub") != "alice" || field(body, "cart") != "2" || field(body, "theme") != "dark" {
				t.Fatalf("restored: %s, want alice with cart=2 and theme=dark", body)
			}
			token := "remember=" + b.cookie("remember")
			mustOK(t, b.do("POST", "/logout"))
			if body := mustOK(t, b.send("GET", "/get", token, false)); field(body, "sub") != "-" || field(body, "cart") != "" {
				t.Fatalf("the remember cookie replayed after logout: %s", body)
			}
		})
	}
}

// spyStore records everything written to the store it wraps: a dump.
type spyStore struct {
	sessionmw.Store
	mu      sync.Mutex
	written []string // keys and %v of values and metadata
}

func (s *spyStore) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	s.mu.Lock()
	s.written = append(s.written, id, fmt.Sprintf("%v %+v", u.Set, u.Meta))
	for _, e := range u.Set {
		if b, ok := e.Value.([]byte); ok {
			s.written = append(s.written, string(b))
		}
	}
	s.mu.Unlock()
	return s.Store.Save(ctx, id, u, ttl)
}

func (s *spyStore) SubjectSessions(ctx context.Context, subject string) ([]sessionmw.SessionInfo, error) {
	return s.Store.(sessionmw.SubjectIndex).SubjectSessions(ctx, subject)
}

func (s *spyStore) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.written, "\n")
}

// TestDataAtRestIsUnreadable: with encryption at rest, hashed ids and
// hashed subjects, nothing a store receives (and nothing redis-server
// holds) contains a value, an id, a subject, a credential or a token id,
// while every feature works as before.
func TestDataAtRestIsUnreadable(t *testing.T) {
	srv := (&redisOnce{top: t})
	for _, kind := range []string{"MemoryIO", "Redis"} {
		t.Run(kind, func(t *testing.T) {
			var inner sessionmw.Store
			if kind == "Redis" {
				inner = srv.store(t)
			} else {
				m := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
				t.Cleanup(func() { m.Close() })
				inner = m
			}
			spy := &spyStore{Store: inner}
			clock := &testClock{}
			mw := newMW(t, clock, sessionmw.WithStore(spy), sessionmw.WithEncryptionAtRest(true), sessionmw.WithHashedIDs(true),
				sessionmw.WithHashedSubjects(true), sessionmw.WithRemember(0, 0), sessionmw.WithAutoRenew(30*time.Minute),
				sessionmw.WithMaxSessionsPerSubject(5))
			h := mw.Handler(lcApp(nil))
			b := newBrowser(t, h)
			mustOK(t, b.do("GET", setTarget("token", "Bearer-s3cr3t-value")))
			mustOK(t, b.do("POST", "/login?sub=alice-the-user"))
			clock.advance(31 * time.Minute)
			body := mustOK(t, b.do("GET", "/get")) // auto-renewal: a successor link
			if field(body, "sub") != "alice-the-user" || field(body, "token") != "Bearer-s3cr3t-value" {
				t.Fatalf("after renewal: %s", body)
			}
			infos, err := mw.Sessions(context.Background(), "alice-the-user")
			if err != nil || len(infos) != 1 || infos[0].Meta.Subject != "alice-the-user" {
				t.Fatalf("Sessions = %+v, %v", infos, err)
			}
			id := sessionmw.IDOf(mw, b.cookie("sid"))
			dump := spy.dump()
			if kind == "Redis" {
				dump += srv.srv.CLI("--scan") + srv.srv.CLI("EVAL", "local out = {} for _, k in ipairs(redis.call('KEYS', '*')) do if redis.call('TYPE', k).ok == 'hash' then for _, v in ipairs(redis.call('HGETALL', k)) do table.insert(out, v) end end end return table.concat(out, ' ')", "0")
			}
			for what, secret := range map[string]string{"a value": "Bearer-s3cr3t", "the subject": "alice-the-user", "the session id": id} {
				if strings.Contains(dump, secret) {
					t.Errorf("the store received %s in plaintext", what)
				}
			}
			// Logout and RevokeSubject still find everything.
			other := newBrowser(t, h)
			mustOK(t, other.do("POST", "/login?sub=alice-the-user"))
			if n, err := mw.RevokeSubject(context.Background(), "alice-the-user"); n != 2 || err != nil {
				t.Fatalf("RevokeSubject = %d, %v", n, err)
			}
			delete(b.cookies, "sid")
			if sub := field(mustOK(t, b.do("GET", "/get")), "sub"); sub != "-" {
				t.Fatalf("the remember cookie survived RevokeSubject: sub=%s", sub)
			}
		})
	}
}

// TestDataAtRestRotatesAndMigrates: data stored in plaintext, or sealed
// under a retired secret, opens, and the next save seals it under the
// current secret, so the retired secret can then be dropped.
func TestDataAtRestRotatesAndMigrates(t *testing.T) {
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer store.Close()
	oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
	mk := func(secret []byte, vault bool, fallbacks ...[]byte) http.Handler {
		mw, err := sessionmw.New(secret, sessionmw.WithStore(store), sessionmw.WithSecure(false),
			sessionmw.WithEncryptionAtRest(vault), sessionmw.WithSecretFallbacks(fallbacks...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mw.Close() })
		return mw.Handler(lcApp(nil))
	}
	b := newBrowser(t, mk(oldKey, false))
	mustOK(t, b.do("GET", setTarget("k", "plain")))
	b.h = mk(oldKey, true) // the vault turned on: plaintext still reads, and gets sealed
	if v := field(mustOK(t, b.do("GET", "/get")), "k"); v != "plain" {
		t.Fatalf("plaintext under the vault: k=%q", v)
	}
	b.h = mk(newKey, true, oldKey) // rotation: the old secret is a fallback
	if v := field(mustOK(t, b.do("GET", "/get")), "k"); v != "plain" {
		t.Fatalf("sealed under the retired secret: k=%q", v)
	}
	b.h = mk(newKey, true) // the retired secret is gone: what was read is sealed anew
	if v := field(mustOK(t, b.do("GET", "/get")), "k"); v != "plain" {
		t.Fatalf("after the rotation: k=%q, want the value resealed under the new secret", v)
	}
}

// TestKongLogoutWithJSONBody: Kong mode does not read bodies (Kong's
// read_body_for_logout off); with it on, a JSON body logs out.
func TestKongLogoutWithJSONBody(t *testing.T) {
	for _, read := range []bool{false, true} {
		mw, err := gateway.Kong(lcSecret, sessionmw.WithSecure(false), sessionmw.WithLogoutBody(read))
		if err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, mw.Handler(lcApp(nil)))
		mustOK(t, b.do("POST", "/login?sub=alice"))
		req := httptest.NewRequest("DELETE", "/get", strings.NewReader(`{"session_logout": true}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", b.header())
		rec := httptest.NewRecorder()
		b.h.ServeHTTP(rec, req)
		b.take(rec)
		sub := field(mustOK(t, b.do("GET", "/get")), "sub")
		if loggedOut := sub == "-"; loggedOut != read {
			t.Fatalf("read_body_for_logout=%v: after a JSON logout body, sub=%s", read, sub)
		}
	}
}

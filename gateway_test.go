// Tests of the gateway plugin's features: KeyLookup, auto-renewal,
// DisableSessionForward, MapSessionToHeader and LoadSession's defaults.
package sessionmw_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

func TestKeyLookupSources(t *testing.T) {
	tests := []struct {
		spec    string
		send    func(req *http.Request, v string)
		reply   func(rec *httptest.ResponseRecorder) string // the id the client gets back
		echoed  bool
		vary    string
		comment string
	}{
		{"cookie:session_id",
			func(req *http.Request, v string) { req.Header.Set("Cookie", "session_id="+v) },
			func(rec *httptest.ResponseRecorder) string { return cookieValue(rec.Header().Get("Set-Cookie")) },
			true, "Cookie", "browsers"},
		{"header:X-Session-Id",
			func(req *http.Request, v string) { req.Header.Set("X-Session-Id", v) },
			func(rec *httptest.ResponseRecorder) string { return rec.Header().Get("X-Session-Id") },
			true, "X-Session-Id", "API clients"},
		{"query:sid",
			func(req *http.Request, v string) { req.URL.RawQuery = "sid=" + v; req.RequestURI = "/?sid=" + v },
			func(rec *httptest.ResponseRecorder) string { return "" },
			false, "", "read-only: never echoed back"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			f := newFixture(t, counter, sessionmw.WithKeyLookup(tc.spec))
			rec := f.do("")
			id := f.lastID(t)
			got := tc.reply(rec)
			if tc.echoed != (got != "") {
				t.Fatalf("new session id echoed = %v, want %v (%s)", got != "", tc.echoed, tc.comment)
			}
			if strings.Contains(rec.Body.String(), id) || (got != "" && strings.Contains(got, id)) {
				t.Fatal("the raw id left the server")
			}
			if !tc.echoed {
				// Sign an id the way the middleware would, through a cookie-mode twin.
				twin, err := sessionmw.New(secret, sessionmw.WithStore(f.store), sessionmw.WithSessionCookie("sid"))
				if err != nil {
					t.Fatal(err)
				}
				trec := httptest.NewRecorder()
				twin.Handler(counter(nil)).ServeHTTP(trec, httptest.NewRequest("GET", "/", nil))
				got = cookieValue(trec.Header().Get("Set-Cookie"))
			}
			remember(got)
			req := httptest.NewRequest("GET", "/", nil)
			tc.send(req, got)
			rec = httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if body(rec) != `{"test_counter": 2}` {
				t.Fatalf("returning client: %q", body(rec))
			}
			f.lastID(t)
			if rec.Header().Get("Vary") != tc.vary {
				t.Fatalf("Vary = %q, want %q", rec.Header().Get("Vary"), tc.vary)
			}
			if !tc.echoed && (rec.Header().Get("Set-Cookie") != "" || strings.Contains(fmt.Sprint(rec.Header()), got)) {
				t.Fatal("a query id was echoed back")
			}
			// An unsigned id through the same source is never adopted.
			req = httptest.NewRequest("GET", "/", nil)
			tc.send(req, "3b2a8f8e-7f2e-4b1e-9c55-2f1f1f1f1f1f")
			rec = httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			if body(rec) != `{"test_counter": 1}` {
				t.Fatalf("unsigned id adopted: %q", body(rec))
			}
			f.lastID(t)
		})
	}
}

func TestKeyLookupRejectsBadSpecs(t *testing.T) {
	for _, spec := range []string{"cookies:x", "header:", "cookie:", "query:", "nocolon", ":x", "cookie:a b", "header:X:Y", "query:a&b",
		"header:Host", "header:content-length", "header:Transfer-Encoding", "header:Connection", "header:Cookie", "header:Set-Cookie", "header:Proxy-Authorization"} {
		t.Run(spec, func(t *testing.T) {
			_, err := sessionmw.New(secret, sessionmw.WithKeyLookup(spec))
			if err == nil || !strings.Contains(err.Error(), "WithKeyLookup") || !strings.Contains(err.Error(), spec) {
				t.Fatalf("err = %v, want one naming WithKeyLookup and %q", err, spec)
			}
		})
	}
}

// TestAutoRenew: an id older than AutoRenewAfter is rotated on the next
// request; the old id serves the same session for the grace period only.
func TestAutoRenew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, counter, sessionmw.WithAutoRenew(30*time.Minute), sessionmw.WithRenewGrace(10*time.Second))
		oldCookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
		oldID := f.lastID(t)

		time.Sleep(29 * time.Minute)
		rec := f.do(oldCookie)
		if id := f.lastID(t); id != oldID {
			t.Fatal("renewed before AutoRenewAfter")
		}
		if sc := sessionCookie(t, rec, "sid"); sc != "" {
			oldCookie = cookiePair(sc) // a save re-issues the same id
		}

		time.Sleep(2 * time.Minute)
		rec = f.do(oldCookie) // 31 min after issue: renewed
		newID := f.lastID(t)
		newCookie := sessionCookie(t, rec, "sid")
		if newID == oldID || newCookie == "" || body(rec) != `{"test_counter": 3}` {
			t.Fatalf("not renewed: same id %v, cookie %q, body %q", newID == oldID, newCookie, body(rec))
		}
		if strings.Contains(newCookie, "Max-Age=0") {
			t.Fatal("renewal expired the cookie")
		}

		time.Sleep(9 * time.Second) // inside the grace window
		rec = f.do(oldCookie)
		if body(rec) != `{"test_counter": 4}` || f.lastID(t) != newID {
			t.Fatalf("old id inside the grace window: %q, want the renewed session", body(rec))
		}
		// A write through the old id lands in the renewed session, and its
		// response carries the renewed id (never the old one back).
		if sc := sessionCookie(t, rec, "sid"); sc != "" && cookiePair(sc) == oldCookie {
			t.Fatal("a request on the old id got the old cookie re-issued")
		}

		time.Sleep(2 * time.Second) // just after the window
		rec = f.do(oldCookie)
		if body(rec) != `{"test_counter": 1}` || f.lastID(t) == newID {
			t.Fatalf("old id after the grace window: %q, want a fresh session", body(rec))
		}
		rec = f.do(cookiePair(newCookie))
		if body(rec) != `{"test_counter": 5}` {
			t.Fatalf("renewed cookie: %q", body(rec))
		}
		f.lastID(t)
	})
}

func TestAutoRenewDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, counter, sessionmw.WithAutoRenew(0), sessionmw.WithMaxAge(5*time.Hour))
		cookie := cookiePair(sessionCookie(t, f.do(""), "sid"))
		id := f.lastID(t)
		time.Sleep(3 * time.Hour)
		f.do(cookie)
		if f.lastID(t) != id {
			t.Fatal("renewed although auto-renewal is off")
		}
	})
}

func TestDisableSessionForward(t *testing.T) {
	tests := []struct {
		spec   string
		send   func(req *http.Request, v string)
		check  func(r *http.Request) string // what the upstream sees of the credential
		others func(r *http.Request) bool   // everything else intact
	}{
		{"cookie:sid",
			func(req *http.Request, v string) {
				req.Header.Set("Cookie", "theme=dark; sid="+v+"; lang=en")
			},
			func(r *http.Request) string { c, _ := r.Cookie("sid"); return fmt.Sprint(c) },
			func(r *http.Request) bool {
				t, _ := r.Cookie("theme")
				l, _ := r.Cookie("lang")
				return t != nil && t.Value == "dark" && l != nil && l.Value == "en" && strings.HasPrefix(r.Header.Get("Cookie"), "theme=dark;")
			}},
		{"header:X-Session",
			func(req *http.Request, v string) { req.Header.Set("X-Session", v); req.Header.Set("X-Other", "1") },
			func(r *http.Request) string { return r.Header.Get("X-Session") },
			func(r *http.Request) bool { return r.Header.Get("X-Other") == "1" }},
		{"query:sid",
			func(req *http.Request, v string) { req.URL.RawQuery = "a=1&sid=" + v + "&b=2" },
			func(r *http.Request) string { return r.URL.Query().Get("sid") + r.RequestURI },
			func(r *http.Request) bool { return r.URL.Query().Get("a") == "1" && r.URL.Query().Get("b") == "2" }},
	}
	for _, tc := range tests {
		for _, disable := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/disable=%v", tc.spec, disable), func(t *testing.T) {
				mw, err := sessionmw.New(secret, sessionmw.WithKeyLookup(tc.spec), sessionmw.WithDisableSessionForward(disable))
				if err != nil {
					t.Fatal(err)
				}
				defer mw.Close()
				var seen string
				var intact, found bool
				h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					seen, intact = tc.check(r), tc.others(r)
					found = !sessionmw.FromRequest(r).IsNew()
					sessionmw.FromRequest(r).GetSession().Set("k", 1)
				}))
				// Get a signed id through a cookie twin sharing the store.
				twin, _ := sessionmw.New(secret, sessionmw.WithStore(mw.Store()))
				trec := httptest.NewRecorder()
				twin.Handler(counter(nil)).ServeHTTP(trec, httptest.NewRequest("GET", "/", nil))
				v := cookieValue(trec.Header().Get("Set-Cookie"))
				remember(v)
				req := httptest.NewRequest("GET", "/", nil)
				tc.send(req, v)
				h.ServeHTTP(httptest.NewRecorder(), req)
				if !found {
					t.Fatal("the session was not loaded")
				}
				if !intact {
					t.Fatal("other cookies, headers or parameters were changed")
				}
				if leaked := strings.Contains(seen, v); leaked == disable {
					t.Fatalf("credential forwarded = %v with DisableSessionForward(%v)", leaked, disable)
				}
			})
		}
	}
}

func TestMapSessionToHeader(t *testing.T) {
	var logs bytes.Buffer
	mw, err := sessionmw.New(secret, sessionmw.WithLogger(testLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mapper, err := gateway.MapSessionToHeader(map[string]string{
		"Authorization": "authorization",
		"X-User-Id":     "user_id",
		"x-admin":       "admin",
		"X-Groups":      "groups",
		"X-Ratio":       "ratio",
		"X-Evil":        "evil",
		"X-Ctl":         "ctl",
		"X-Missing":     "missing",
	}, gateway.MapLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	var got http.Header
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() })
	login := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		s.Set("authorization", "Bearer t0k3n")
		s.Set("user_id", 42)
		s.Set("admin", true)
		s.Set("groups", []string{"a", "b"})
		s.Set("ratio", 0.5)
		s.Set("evil", "x\r\nSet-Cookie: pwned=1")
		s.Set("ctl", "esc\x1b[31m")
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookie := cookiePair(sessionCookie(t, rec, "sid"))
	h := mw.Handler(mapper(upstream))

	t.Run("logged in", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-User-Id", "admin")  // spoofed
		req.Header.Set("X-Missing", "forged") // spoofed, no session key
		h.ServeHTTP(httptest.NewRecorder(), req)
		want := map[string]string{
			"Authorization": "Bearer t0k3n",
			"X-User-Id":     "42",
			"X-Admin":       "true",
			"X-Groups":      `["a","b"]`,
			"X-Ratio":       "0.5",
		}
		for k, v := range want {
			if got.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, got.Get(k), v)
			}
		}
		if vs := got.Values("X-User-Id"); len(vs) != 1 {
			t.Errorf("X-User-Id values %q: the spoofed one survived", vs)
		}
		if _, ok := got["X-Missing"]; ok {
			t.Error("a header for a missing key was forwarded (spoofed value survived)")
		}
		if _, ok := got["X-Evil"]; ok {
			t.Error("a value with CR/LF was set")
		}
		if _, ok := got["X-Ctl"]; ok {
			t.Error("a value with an escape character was set")
		}
		if !strings.Contains(logs.String(), "X-Evil") {
			t.Error("the refused value was not logged")
		}
	})
	t.Run("anonymous spoofing", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-User-Id", "admin")
		req.Header.Set("Authorization", "Bearer forged")
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got.Get("X-User-Id") != "" || got.Get("Authorization") != "" {
			t.Fatalf("anonymous request forwarded X-User-Id %q, Authorization %q", got.Get("X-User-Id"), got.Get("Authorization"))
		}
	})
	t.Run("bad config", func(t *testing.T) {
		for _, m := range []map[string]string{nil, {"X Bad": "k"}, {"X-Ok": ""}} {
			if _, err := gateway.MapSessionToHeader(m); err == nil {
				t.Errorf("MapSessionToHeader(%v) succeeded", m)
			}
		}
	})
}

func TestFormatHeaderValue(t *testing.T) {
	type point struct{ X, Y int }
	tests := []struct {
		in   any
		want string
	}{
		{"s", "s"}, {42, "42"}, {int64(-7), "-7"}, {uint8(200), "200"}, {true, "true"},
		{1.25, "1.25"}, {float32(0.1), "0.1"}, {[]string{"a"}, `["a"]`},
		{map[string]int{"a": 1}, `{"a":1}`}, {point{1, 2}, `{"X":1,"Y":2}`}, {[]byte("raw"), "raw"},
	}
	for _, tc := range tests {
		if got := gateway.FormatHeaderValue(tc.in); got != tc.want {
			t.Errorf("FormatHeaderValue(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoadSessionDefaults(t *testing.T) {
	mw, err := gateway.LoadSession(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	rec := httptest.NewRecorder()
	mw.Handler(counter(nil)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	sc := rec.Header().Get("Set-Cookie")
	remember(cookieValue(sc))
	for _, want := range []string{"session_id=", "Max-Age=7200", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
}

// TestLoadSessionServerTTL: LoadSession's 2h expiration holds on the server
// too, and renewal happens after 30m.
func TestLoadSessionServerTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mw, err := gateway.LoadSession(secret, sessionmw.WithLogger(testLogger))
		if err != nil {
			t.Fatal(err)
		}
		defer mw.Close()
		ids := make(chan string, 10)
		h := mw.Handler(counter(ids))
		get := func(cookie string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", "/", nil)
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		cookie := cookiePair(sessionCookie(t, get(""), "session_id"))
		first := <-ids
		time.Sleep(31 * time.Minute)
		rec := get(cookie)
		if id := <-ids; id == first || body(rec) != `{"test_counter": 2}` {
			t.Fatalf("not renewed after 31 min: %q", body(rec))
		}
		cookie = cookiePair(sessionCookie(t, rec, "session_id"))
		time.Sleep(2*time.Hour + time.Second)
		if rec := get(cookie); body(rec) != `{"test_counter": 1}` {
			t.Fatalf("alive 2h after its last save: %q", body(rec))
		}
		<-ids
		if _, err := mw.Store().Load(context.Background(), first); err != nil {
			t.Fatal(err)
		}
	})
}

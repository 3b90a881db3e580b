package sessionmw_test

// Tests of Kong parity (issue 16): client binding, logout bodies,
// GetSessionID keeping its session, remember-me restoring values,
// encryption at rest and hashed storage keys.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
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
	for name, opt := range map[string]sessionmw.Option{
		"server store":   sessionmw.WithStore(sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))),
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

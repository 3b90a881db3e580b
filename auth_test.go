// Tests of Kong-class part 2: authentication integration, remember-me,
// audiences, revoke everywhere, Kong mode.
package sessionmw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// authApp: /login?user=U logs in (U "anon" is the anonymous consumer);
// /logout destroys; /others revokes the subject's other sessions; every
// response says who the session belongs to.
func authApp(w http.ResponseWriter, r *http.Request) {
	m := sessionmw.FromRequest(r)
	switch r.URL.Path {
	case "/login":
		if err := m.Login(sessionmw.Identity{Subject: r.URL.Query().Get("user"), Credential: "pw", Groups: []string{"staff"}}); err != nil {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, err)
			return
		}
	case "/logout":
		if err := m.Destroy(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
	case "/others":
		n, err := m.RevokeOthers()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "revoked=%d ", n)
	}
	id, ok := sessionmw.Authenticated(r)
	if !ok {
		fmt.Fprint(w, "anonymous")
		return
	}
	fmt.Fprintf(w, "user=%s groups=%v", id.Subject, id.Groups)
}

func authClient(t *testing.T, mw *sessionmw.Middleware) *client {
	return &client{t: t, h: mw.Handler(http.HandlerFunc(authApp)), jar: newJar()}
}

func replay(t *testing.T, h http.Handler, cookie, target string) string {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return body(rec)
}

func TestLoginRotatesAndRecordsIdentity(t *testing.T) {
	for _, mode := range []string{"server", "cookie"} {
		t.Run(mode, func(t *testing.T) {
			var opts []sessionmw.Option
			if mode == "cookie" {
				rev := sessionmw.NewMemoryIO()
				t.Cleanup(func() { rev.Close() })
				opts = append(opts, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(rev))
			}
			mw := mustMW(t, secret, append(opts, sessionmw.WithAnonymousSubject("anon"))...)
			c := authClient(t, mw)
			c.do("GET", "/", nil)
			// An attacker's pre-login cookie (here: the victim's own, pre-login).
			c.h = mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sessionmw.FromRequest(r).GetSession().Set("cart", 1)
			}))
			c.do("GET", "/", nil)
			planted := c.jar.header()
			c.h = mw.Handler(http.HandlerFunc(authApp))
			if got := body(c.do("GET", "/login?user=fiona", nil)); got != "user=fiona groups=[staff]" {
				t.Fatalf("login: %q", got)
			}
			if c.jar.header() == planted {
				t.Fatal("Login did not rotate the session cookie")
			}
			if got := body(c.do("GET", "/", nil)); got != "user=fiona groups=[staff]" {
				t.Fatalf("after login: %q", got)
			}
			if got := replay(t, c.h, planted, "/"); got != "anonymous" {
				t.Fatalf("pre-login cookie after login: %q", got)
			}
		})
	}
}

func TestAnonymousGetsNoSession(t *testing.T) {
	mw := mustMW(t, secret, sessionmw.WithAnonymousSubject("anon"))
	for _, user := range []string{"anon", ""} {
		c := authClient(t, mw)
		rec := c.do("GET", "/login?user="+user, nil)
		if rec.Code != 403 || !strings.Contains(body(rec), sessionmw.ErrAnonymous.Error()) || rec.Header().Get("Set-Cookie") != "" {
			t.Fatalf("Login(%q): %d %q Set-Cookie %q", user, rec.Code, body(rec), rec.Header().Get("Set-Cookie"))
		}
	}
	if mw.Store().(*sessionmw.MemoryIO).Len() != 0 {
		t.Fatal("an anonymous request created a session")
	}
}

func TestIdentityCheck(t *testing.T) {
	gone := map[string]bool{}
	broken := false
	mw := mustMW(t, secret, sessionmw.WithIdentityCheck(func(ctx context.Context, id sessionmw.Identity) (bool, error) {
		if broken {
			return false, errors.New("consumer database down")
		}
		return !gone[id.Subject], nil
	}))
	c := authClient(t, mw)
	c.do("GET", "/login?user=fiona", nil)
	if got := body(c.do("GET", "/", nil)); got != "user=fiona groups=[staff]" {
		t.Fatalf("before deletion: %q", got)
	}
	broken = true
	if rec := c.do("GET", "/", nil); rec.Code != 500 {
		t.Fatalf("check failing: status %d, want the error handler", rec.Code)
	}
	broken = false
	old := c.jar.header()
	gone["fiona"] = true // the consumer is deleted
	if got := body(c.do("GET", "/", nil)); got != "anonymous" {
		t.Fatalf("deleted consumer: %q", got)
	}
	if mw.Store().(*sessionmw.MemoryIO).Len() != 0 {
		t.Fatal("the deleted consumer's session is still stored")
	}
	gone["fiona"] = false
	if got := replay(t, c.h, old, "/"); got != "anonymous" {
		t.Fatalf("replay after the session was destroyed: %q", got)
	}
}

func TestRequestAndResponseHeaders(t *testing.T) {
	mw := mustMW(t, secret, sessionmw.WithIdleTimeout(15*time.Minute), sessionmw.WithRollingTimeout(time.Hour), sessionmw.WithAbsoluteTimeout(24*time.Hour),
		sessionmw.WithRequestHeaders("subject", "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout"),
		sessionmw.WithResponseHeaders("subject", "timeout"))
	var seen http.Header
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		authApp(w, r)
	}))
	c := &client{t: t, h: h, jar: newJar()}
	rec := c.do("GET", "/login?user=fiona", nil, "Session-Subject", "admin")
	if seen.Get("Session-Subject") != "" {
		t.Fatalf("an anonymous request forwarded a client-sent Session-Subject %q", seen.Get("Session-Subject"))
	}
	if rec.Header().Get("Session-Subject") != "fiona" || rec.Header().Get("Session-Timeout") != "900" {
		t.Fatalf("response headers %v", rec.Header())
	}
	c.do("GET", "/", nil, "Session-Subject", "admin")
	want := map[string]string{"Session-Subject": "fiona", "Session-Timeout": "900", "Session-Idling-Timeout": "900", "Session-Rolling-Timeout": "3600", "Session-Absolute-Timeout": "86400"}
	for k, v := range want {
		if got := seen.Get(k); got != v && !(strings.HasSuffix(k, "Timeout") && got != "" && got <= v) {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if vs := seen.Values("Session-Subject"); len(vs) != 1 {
		t.Fatalf("Session-Subject values %q: the spoofed one survived", vs)
	}
	if _, err := sessionmw.New(secret, sessionmw.WithRequestHeaders("password")); err == nil || !strings.Contains(err.Error(), "WithRequestHeaders") {
		t.Fatalf("unknown field: err = %v", err)
	}
}

func TestKongPreset(t *testing.T) {
	kong, err := gateway.Kong(secret, sessionmw.WithLogger(testLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer kong.Close()
	if kong.Store() != nil {
		t.Fatal("Kong mode without WithStore should keep sessions in cookies (storage=cookie)")
	}
	c := authClient(t, kong)
	rec := c.do("GET", "/login?user=fiona", nil)
	sc := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"session=", "SameSite=Strict", "Secure", "HttpOnly", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Kong cookie %q lacks %q", sc, want)
		}
	}
	// Logout is on with Kong's defaults.
	if rec := c.do("POST", "/?session_logout=1", nil); rec.Code != 200 || body(rec) != "" {
		t.Fatalf("Kong logout: %d %q", rec.Code, body(rec))
	}
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	server, err := gateway.Kong(secret, sessionmw.WithStore(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	authClient(t, server).do("GET", "/login?user=fiona", nil)
	if mem.Len() != 1 {
		t.Fatal("Kong mode with WithStore did not use the store (storage=kong)")
	}
	// Kong's timeouts: idling 900 s.
	synctest.Test(t, func(t *testing.T) {
		k, _ := gateway.Kong(secret, sessionmw.WithLogger(testLogger))
		defer k.Close()
		c := authClient(t, k)
		c.do("GET", "/login?user=fiona", nil)
		time.Sleep(899 * time.Second)
		if got := body(c.do("GET", "/", nil)); got != "user=fiona groups=[staff]" {
			t.Fatalf("at 899 s: %q", got)
		}
		time.Sleep(901 * time.Second)
		if got := body(c.do("GET", "/", nil)); got != "anonymous" {
			t.Fatalf("after 901 s idle: %q", got)
		}
	})
}

func TestRememberMe(t *testing.T) {
	for _, mode := range []string{"server", "cookie"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := []sessionmw.Option{sessionmw.WithRemember(7*24*time.Hour, 30*24*time.Hour), sessionmw.WithIdleTimeout(time.Hour)}
				if mode == "cookie" {
					rev := sessionmw.NewMemoryIO()
					defer rev.Close()
					opts = append(opts, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(rev))
				}
				mw, err := sessionmw.New(secret, append(opts, sessionmw.WithLogger(testLogger))...)
				if err != nil {
					t.Fatal(err)
				}
				defer mw.Close()
				c := authClient(t, mw)
				rec := c.do("GET", "/login?user=fiona", nil)
				var rememberSC string
				for _, v := range rec.Result().Header.Values("Set-Cookie") {
					if strings.HasPrefix(v, "remember=") {
						rememberSC = v
					}
				}
				if !strings.Contains(rememberSC, "Max-Age=604800") || !strings.Contains(rememberSC, "HttpOnly") {
					t.Fatalf("remember cookie %q", rememberSC)
				}
				// The browser closes: the session cookie is gone.
				delete(c.jar.c, "sid")
				if got := body(c.do("GET", "/", nil)); got != "user=fiona groups=[staff]" {
					t.Fatalf("after the browser restarted: %q", got)
				}
				if c.jar.c["sid"] == "" {
					t.Fatal("no new session cookie after the restore")
				}
				// Used every 6 days, the token rolls on...
				for day := 6; day < 29; day += 6 {
					time.Sleep(6 * 24 * time.Hour)
					delete(c.jar.c, "sid")
					if got := body(c.do("GET", "/", nil)); got != "user=fiona groups=[staff]" {
						t.Fatalf("day %d: %q", day, got)
					}
				}
				// ...until its absolute timeout (30 days after login).
				time.Sleep(6 * 24 * time.Hour)
				delete(c.jar.c, "sid")
				if got := body(c.do("GET", "/", nil)); got != "anonymous" {
					t.Fatalf("after 30 days: %q", got)
				}
			})
		})
	}
	t.Run("revoked by logout", func(t *testing.T) {
		for _, mode := range []string{"server", "cookie"} {
			opts := []sessionmw.Option{sessionmw.WithRemember(0, 0)}
			if mode == "cookie" {
				rev := sessionmw.NewMemoryIO()
				t.Cleanup(func() { rev.Close() })
				opts = append(opts, sessionmw.WithCookieStorage(), sessionmw.WithRevocationStore(rev))
			}
			c := authClient(t, mustMW(t, secret, opts...))
			c.do("GET", "/login?user=fiona", nil)
			remember := "remember=" + c.jar.c["remember"]
			rec := c.do("GET", "/logout", nil)
			if !strings.Contains(strings.Join(rec.Result().Header.Values("Set-Cookie"), "\n"), "remember=; Path=/; Expires=Thu, 01 Jan 1970") {
				t.Fatalf("%s: logout did not expire the remember cookie: %q", mode, rec.Result().Header.Values("Set-Cookie"))
			}
			if got := replay(t, c.h, remember, "/"); got != "anonymous" {
				t.Fatalf("%s: remember cookie replayed after logout: %q", mode, got)
			}
		}
	})
	t.Run("unused for longer than the rolling timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			mw, _ := sessionmw.New(secret, sessionmw.WithRemember(0, 0))
			defer mw.Close()
			c := authClient(t, mw)
			c.do("GET", "/login?user=fiona", nil)
			time.Sleep(8 * 24 * time.Hour)
			delete(c.jar.c, "sid")
			if got := body(c.do("GET", "/", nil)); got != "anonymous" {
				t.Fatalf("after 8 idle days: %q", got)
			}
		})
	})
}

func TestAudiences(t *testing.T) {
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	app1 := mustMW(t, secret, sessionmw.WithStore(mem), sessionmw.WithAudience("app1"))
	app2 := mustMW(t, secret, sessionmw.WithStore(mem), sessionmw.WithAudience("app2"))
	both := app1.Handler(app2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out []string
		for _, name := range []string{"app1", "app2"} {
			m := sessionmw.FromRequestNamed(r, name)
			switch r.URL.Path {
			case "/login/" + name:
				m.Login(sessionmw.Identity{Subject: "fiona"})
			case "/logout/" + name:
				m.Destroy()
			}
			if id, ok := m.Identity(); ok {
				out = append(out, name+":"+id.Subject)
			} else {
				out = append(out, name+":-")
			}
		}
		fmt.Fprint(w, strings.Join(out, " "))
	})))
	c := &client{t: t, h: both, jar: newJar()}
	c.do("GET", "/login/app1", nil)
	if got := body(c.do("GET", "/login/app2", nil)); got != "app1:fiona app2:fiona" {
		t.Fatalf("both logged in: %q", got)
	}
	if c.jar.c["sid-app1"] == "" || c.jar.c["sid-app2"] == "" {
		t.Fatalf("cookies %v, want one per audience", keys(c.jar.c))
	}
	// One audience's cookie value under the other's name is refused.
	if got := replay(t, both, "sid-app2="+c.jar.c["sid-app1"], "/"); got != "app1:- app2:-" {
		t.Fatalf("cross-audience cookie: %q", got)
	}
	if got := body(c.do("GET", "/logout/app1", nil)); got != "app1:- app2:fiona" {
		t.Fatalf("after logging out of app1: %q", got)
	}
	if got := body(c.do("GET", "/", nil)); got != "app1:- app2:fiona" {
		t.Fatalf("app2 must survive app1's logout: %q", got)
	}
}

func revokeBackends(t *testing.T) map[string]sessionmw.Store {
	mem := sessionmw.NewMemoryIO()
	t.Cleanup(func() { mem.Close() })
	ris, err := sessionmw.NewRistrettoStore(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ris.Close() })
	out := map[string]sessionmw.Store{"MemoryIO": mem, "Ristretto": ris}
	srv := redistest.Start(t)
	rs, err := redisstore.New(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	if _, ok := any(rs).(sessionmw.SubjectIndex); ok {
		out["Redis"] = rs
	}
	return out
}

func TestRevokeEverywhere(t *testing.T) {
	for name, store := range revokeBackends(t) {
		t.Run(name, func(t *testing.T) {
			mw := mustMW(t, secret, sessionmw.WithStore(store), sessionmw.WithRemember(0, 0))
			devices := make([]*client, 3)
			for i := range devices {
				devices[i] = authClient(t, mw)
				devices[i].do("GET", "/login?user=alice", nil)
			}
			bob := authClient(t, mw)
			bob.do("GET", "/login?user=bob", nil)
			old := make([]string, 3)
			for i, d := range devices {
				old[i] = d.jar.header()
			}
			infos, err := mw.Sessions(context.Background(), "alice")
			if err != nil || len(infos) != 3 {
				t.Fatalf("alice's sessions: %d, %v", len(infos), err)
			}
			// "Log out my other devices" from device 0.
			if got := body(devices[0].do("GET", "/others", nil)); got != "revoked=2 user=alice groups=[staff]" {
				t.Fatalf("RevokeOthers: %q", got)
			}
			for i := 1; i < 3; i++ {
				if got := replay(t, devices[i].h, old[i], "/"); got != "anonymous" {
					t.Fatalf("device %d after revoke-all (with its remember cookie): %q", i, got)
				}
			}
			if got := body(devices[0].do("GET", "/", nil)); got != "user=alice groups=[staff]" {
				t.Fatalf("the current device was logged out: %q", got)
			}
			if got := body(bob.do("GET", "/", nil)); got != "user=bob groups=[staff]" {
				t.Fatalf("another subject was logged out: %q", got)
			}
			// Revoke everything, the current one included.
			if n, err := mw.RevokeSubject(context.Background(), "alice"); err != nil || n != 1 {
				t.Fatalf("RevokeSubject: %d, %v", n, err)
			}
			if got := body(devices[0].do("GET", "/", nil)); got != "anonymous" {
				t.Fatalf("after RevokeSubject: %q", got)
			}
		})
	}
}

func TestMaxSessionsPerSubject(t *testing.T) {
	mem := sessionmw.NewMemoryIO()
	defer mem.Close()
	mw := mustMW(t, secret, sessionmw.WithStore(mem), sessionmw.WithMaxSessionsPerSubject(2))
	var cs []*client
	for range 3 {
		c := authClient(t, mw)
		c.do("GET", "/login?user=alice", nil)
		cs = append(cs, c)
	}
	if got := body(cs[0].do("GET", "/", nil)); got != "anonymous" {
		t.Fatalf("the oldest session survived the cap: %q", got)
	}
	for i := 1; i < 3; i++ {
		if got := body(cs[i].do("GET", "/", nil)); got != "user=alice groups=[staff]" {
			t.Fatalf("session %d: %q", i, got)
		}
	}
	if _, err := sessionmw.New(secret, sessionmw.WithCookieStorage(), sessionmw.WithMaxSessionsPerSubject(2)); err == nil {
		t.Fatal("a per-subject cap with cookie storage was accepted")
	}
}

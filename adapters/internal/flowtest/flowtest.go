// Package flowtest is the login → profile → logout → replay sequence
// every framework adapter is tested with over real HTTP, and the
// framework-neutral handlers the test applications route to.
package flowtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"go.uber.org/goleak"
)

// Secret is the test applications' signing key.
var Secret = []byte("the adapters' test secret, 32 bytes or more")

// The routes of a test application: POST Login, GET Profile, POST Logout.
const (
	Login   = "/login"
	Profile = "/profile"
	Logout  = "/logout"
)

// Subject and Name are what Login stores and Profile answers.
const (
	Subject = "fiona"
	Name    = "Fiona"
)

// NewMiddleware returns a middleware for plain-HTTP tests (WithSecure(false),
// then opts), closed when t ends, and the buffer its warnings and errors
// are logged to.
func NewMiddleware(t testing.TB, opts ...sessionmw.Option) (*sessionmw.Middleware, *Log) {
	t.Helper()
	l := &Log{}
	opts = append([]sessionmw.Option{
		sessionmw.WithSecure(false),
		sessionmw.WithLogger(slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}, opts...)
	mw, err := sessionmw.New(Secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	return mw, l
}

// Log is a concurrency-safe log buffer.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns what was logged.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// HandleLogin logs the session in as Subject and stores Name: the login
// handler's body, framework aside. It returns the status and body to answer.
func HandleLogin(m *sessionmw.SessionManager) (int, string) {
	if err := m.Login(sessionmw.Identity{Subject: Subject}); err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	m.GetSession().Set("name", Name)
	return http.StatusOK, "logged in"
}

// HandleProfile answers "SUBJECT NAME" for a logged-in session, 401
// "anonymous" otherwise.
func HandleProfile(m *sessionmw.SessionManager) (int, string) {
	id, ok := m.Identity()
	if !ok {
		return http.StatusUnauthorized, "anonymous"
	}
	name, _ := sessionmw.Get[string](m.GetSession(), "name")
	return http.StatusOK, id.Subject + " " + name
}

// HandleLogout destroys the session.
func HandleLogout(m *sessionmw.SessionManager) (int, string) {
	if err := m.Destroy(); err != nil {
		return http.StatusInternalServerError, err.Error()
	}
	return http.StatusOK, "bye"
}

// Run drives a test application at base (http://127.0.0.1:PORT) through
// the sequence a browser would, with a cookie jar, and checks the raw
// Set-Cookie headers (a jar enforces neither SameSite nor HttpOnly):
//
//  1. a profile without a cookie is anonymous, and gets no cookie;
//  2. login sets the session cookie: HttpOnly, SameSite=Lax, Path=/, no
//     Max-Age (a browser-session cookie), Cache-Control: no-store;
//  3. the profile reads the session back, and sets no cookie again;
//  4. logout expires the cookie (Max-Age=0), and the jar drops it;
//  5. the profile is anonymous again;
//  6. replaying the cookie from before the logout gets an anonymous,
//     fresh session: the server refuses it.
func Run(t *testing.T, base string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}

	code, body, res := Do(t, c, "GET", base+Profile, "")
	if code != http.StatusUnauthorized || body != "anonymous" || len(res.Header["Set-Cookie"]) != 0 {
		t.Fatalf("profile before login: %d %q, Set-Cookie %q; want 401 \"anonymous\", none", code, body, res.Header["Set-Cookie"])
	}

	code, body, res = Do(t, c, "POST", base+Login, "")
	if code != http.StatusOK || body != "logged in" {
		t.Fatalf("login: %d %q", code, body)
	}
	raw := OneCookie(t, res, "sid")
	for _, attr := range []string{"; Path=/", "; HttpOnly", "; SameSite=Lax"} {
		if !strings.Contains(raw, attr) {
			t.Errorf("login Set-Cookie %q lacks %q", raw, attr)
		}
	}
	if strings.Contains(raw, "Max-Age") || strings.Contains(raw, "; Secure") {
		t.Errorf("login Set-Cookie %q: want a browser-session cookie without Secure (WithSecure(false))", raw)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("login Cache-Control %q, want no-store", cc)
	}
	stolen, _, _ := strings.Cut(raw, ";")

	code, body, res = Do(t, c, "GET", base+Profile, "")
	if code != http.StatusOK || body != Subject+" "+Name {
		t.Fatalf("profile after login: %d %q, want 200 %q", code, body, Subject+" "+Name)
	}
	if sc := res.Header["Set-Cookie"]; len(sc) != 0 {
		t.Errorf("profile after login sets %q, want no cookie (the session did not change)", sc)
	}

	code, body, res = Do(t, c, "POST", base+Logout, "")
	if code != http.StatusOK || body != "bye" {
		t.Fatalf("logout: %d %q", code, body)
	}
	if raw := OneCookie(t, res, "sid"); !strings.Contains(raw, "Max-Age=0") || !strings.Contains(raw, "; Path=/") {
		t.Errorf("logout Set-Cookie %q, want the cookie expired (Max-Age=0) on Path=/", raw)
	}

	if code, body, _ = Do(t, c, "GET", base+Profile, ""); code != http.StatusUnauthorized {
		t.Errorf("profile after logout: %d %q, want 401 (the jar dropped the expired cookie)", code, body)
	}

	code, body, _ = Do(t, http.DefaultClient, "GET", base+Profile, stolen)
	if code != http.StatusUnauthorized || body != "anonymous" {
		t.Errorf("profile with the cookie from before logout: %d %q, want 401 \"anonymous\"", code, body)
	}
}

// Do sends a request with an optional Cookie header and returns the
// status, the body and the response (its body consumed).
func Do(t testing.TB, c *http.Client, method, url, cookie string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res
}

// OneCookie returns the one raw Set-Cookie header of res for the cookie
// called name, failing t unless there is exactly one.
func OneCookie(t testing.TB, res *http.Response, name string) string {
	t.Helper()
	var found []string
	for _, v := range res.Header["Set-Cookie"] {
		if strings.HasPrefix(v, name+"=") {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s %s: Set-Cookie %q, want exactly one for %q", res.Request.Method, res.Request.URL.Path, res.Header["Set-Cookie"], name)
	}
	return found[0]
}

// FlakyStore is a MemoryIO whose Load or Save fails with
// sessionmw.ErrStoreUnavailable while FailLoad or FailSave is set.
type FlakyStore struct {
	sessionmw.Store
	FailLoad, FailSave atomic.Bool
}

// NewFlakyStore returns a FlakyStore on a new MemoryIO, closed when t ends.
func NewFlakyStore(t testing.TB) *FlakyStore {
	m := sessionmw.NewMemoryIO()
	t.Cleanup(func() { m.Close() })
	return &FlakyStore{Store: m}
}

// Load implements sessionmw.Store.
func (s *FlakyStore) Load(ctx context.Context, id string) (*sessionmw.Record, error) {
	if s.FailLoad.Load() {
		return nil, sessionmw.ErrStoreUnavailable
	}
	return s.Store.Load(ctx, id)
}

// Save implements sessionmw.Store.
func (s *FlakyStore) Save(ctx context.Context, id string, u sessionmw.Update, ttl time.Duration) error {
	if s.FailSave.Load() {
		return sessionmw.ErrStoreUnavailable
	}
	return s.Store.Save(ctx, id, u, ttl)
}

// CookiePair returns "name=value" of res's one Set-Cookie for name, to
// send back in a Cookie header.
func CookiePair(t testing.TB, res *http.Response, name string) string {
	t.Helper()
	pair, _, _ := strings.Cut(OneCookie(t, res, name), ";")
	return pair
}

// NewMux returns the flow's application for net/http: its handlers reach
// the session with sessionmw.FromRequest, so it runs behind a session
// middleware.
func NewMux() *http.ServeMux {
	mux := http.NewServeMux()
	for pattern, h := range map[string]func(*sessionmw.SessionManager) (int, string){
		"POST " + Login:  HandleLogin,
		"GET " + Profile: HandleProfile,
		"POST " + Logout: HandleLogout,
	} {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			code, body := h(sessionmw.FromRequest(r))
			w.WriteHeader(code)
			_, _ = io.WriteString(w, body)
		})
	}
	return mux
}

// FasthttpGoroutines are the goleak options for packages that run a
// fasthttp server (fiber). fasthttp leaves two goroutines that are not
// leaks of the code under test: the server date refresher, started once
// per process and never stopped, and a stopped server's worker-pool
// cleaner, which notices the stop only after sleeping out its idle worker
// duration (10 s). Every other goroutine must be gone.
var FasthttpGoroutines = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
}

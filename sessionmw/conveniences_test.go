package sessionmw_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// Flash messages: set on one request, shown once on the next.
func ExamplePop() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"), sessionmw.WithSecure(false))
	defer mw.Close()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		if r.URL.Path == "/save" {
			s.Set("flash", "Saved!")
			return
		}
		msg, ok := sessionmw.Pop[string](s, "flash")
		fmt.Printf("%q %v\n", msg, ok)
	}))
	cookie := ""
	for _, path := range []string{"/save", "/show", "/show"} {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
	}
	// Output:
	// "Saved!" true
	// "" false
}

// Status tells middleware and handlers what the request did to its session.
func ExampleSessionManager_Status() {
	m := sessionmw.FromRequest(httptest.NewRequest("GET", "/", nil)) // no middleware: inactive
	fmt.Println(m.Status() == sessionmw.StatusUnmodified)
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer mw.Close()
	mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		m.GetSession().Set("k", 1)
		fmt.Println(m.Status() == sessionmw.StatusModified)
		m.Destroy()
		fmt.Println(m.Status() == sessionmw.StatusDestroyed)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// true
	// true
	// true
}

// A session that must end at a fixed time, and a persistent cookie for
// "remember me" on this device.
func ExampleSessionManager_SetDeadline() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"), sessionmw.WithSecure(false))
	defer mw.Close()
	rec := httptest.NewRecorder()
	mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		m.GetSession().Set("user", "fiona")
		m.SetDeadline(time.Now().Add(10 * time.Minute))
		m.RememberMe(true)
		fmt.Println(time.Until(m.Deadline()) <= 10*time.Minute)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Result().Cookies()[0].MaxAge > 0)
	// Output:
	// true
	// true
}

// Code that only has the request's context reaches the session too.
func ExampleFromContext() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer mw.Close()
	greet := func(ctx context.Context) string {
		name, _ := sessionmw.Get[string](sessionmw.FromContext(ctx).GetSession(), "name")
		return "hello " + name
	}
	mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("name", "fiona")
		fmt.Println(greet(r.Context()))
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output: hello fiona
}

// A background job changes a session outside any request.
func ExampleMiddleware_Load() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer mw.Close()
	var id string
	mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = sessionmw.FromRequest(r).GetSessionID() // kept, e.g. to notify this session later
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	m, err := mw.Load(context.Background(), id)
	if err != nil {
		panic(err)
	}
	m.GetSession().Set("notice", "your export is ready")
	fmt.Println(m.Commit())

	again, _ := mw.Load(context.Background(), id)
	notice, _ := sessionmw.Get[string](again.GetSession(), "notice")
	fmt.Println(notice)
	// Output:
	// <nil>
	// your export is ready
}

// TestConveniences covers the edges of the conveniences the examples show.
func TestConveniences(t *testing.T) {
	clock := &testClock{}
	mw := newMW(t, clock, sessionmw.WithIdleTimeout(time.Hour))
	var m *sessionmw.SessionManager
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m = sessionmw.FromRequest(r)
		switch r.URL.Path {
		case "/deadline":
			m.SetDeadline(clock.now().Add(10 * time.Minute))
		case "/commit-new":
			m.GetSession().Set("k", 1)
			if err := m.Commit(); !errors.Is(err, sessionmw.ErrNoResponse) {
				t.Errorf("Commit of a new session: %v, want ErrNoResponse", err)
			}
		case "/commit":
			m.GetSession().Set("c", 2)
			if err := m.Commit(); err != nil {
				t.Errorf("Commit: %v", err)
			}
		}
	}))
	b := newBrowser(t, h)
	b.do("GET", "/commit-new") // still saved with its response
	if b.cookie("sid") == "" {
		t.Fatal("the session of a refused Commit was not saved with its response")
	}
	b.do("GET", "/commit")
	b.do("GET", "/deadline")
	clock.advance(9 * time.Minute)
	b.do("GET", "/") // within the deadline: touched (idle extended), not past the deadline
	if _, ok := sessionmw.Get[int](m.GetSession(), "c"); !ok {
		t.Fatal("session gone before its deadline")
	}
	clock.advance(2 * time.Minute)
	b.do("GET", "/")
	if !m.IsNew() {
		t.Fatal("session alive past SetDeadline, though it was active")
	}
	if _, err := mw.Load(context.Background(), "00000000-0000-4000-8000-000000000000"); !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("Load of an unknown id: %v, want ErrNotFound", err)
	}
}

// TestOrphanWritesAreReported: a value set where no middleware will save
// it is reported once, at Warn, not silently dropped.
func TestOrphanWritesAreReported(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(prev)
	sessionmw.ResetOrphanWarning()
	for range 3 {
		sessionmw.FromRequest(httptest.NewRequest("GET", "/", nil)).GetSession().Set("k", 1)
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for three orphan writes, want one:\n%s", n, buf.String())
	}
}

package sessionmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sessionmw/go/sessionmw"
)

// The seed's counter: every request increments test_counter in the session.
func Example() {
	secret := []byte("an example secret of at least 32 bytes!!")
	mw, err := sessionmw.New(secret, sessionmw.WithSecure(false))
	if err != nil {
		panic(err)
	}
	defer mw.Close()

	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "test_counter")
		s.Set("test_counter", n+1)
		fmt.Fprintf(w, `{"test_counter": %d}`, n+1)
	}))

	var cookie string
	for range 3 {
		req := httptest.NewRequest("GET", "/session_test", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) == 1 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// {"test_counter": 1}
	// {"test_counter": 2}
	// {"test_counter": 3}
}

// Health checks carrying the skip header get no session and no cookie.
func ExampleWithSkipHeader() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"),
		sessionmw.WithSkipHeader("X-Skip-Session", "*"))
	defer mw.Close()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		m.GetSession().Set("seen", true) // safe, but never saved when skipped
		fmt.Fprintf(w, "active=%v", m.Active())
	}))
	for _, skip := range []bool{true, false} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		if skip {
			req.Header.Set("X-Skip-Session", "1")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Body.String(), "cookies:", len(rec.Result().Cookies()))
	}
	// Output:
	// active=false cookies: 0
	// active=true cookies: 1
}

// Two middlewares on one handler, told apart by their session object name.
func ExampleFromRequestNamed() {
	user, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer user.Close()
	admin, _ := sessionmw.New([]byte("another secret, also 32 bytes or more!!!"),
		sessionmw.WithSessionCookie("admin_sid"), sessionmw.WithSessionObject("admin"))
	defer admin.Close()

	h := user.Handler(admin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("user", "fiona")
		sessionmw.FromRequestNamed(r, "admin").GetSession().Set("role", "auditor")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name, c.HttpOnly, c.Secure, c.SameSite == http.SameSiteLaxMode)
	}
	// Output:
	// admin_sid true true true
	// sid true true true
}

// Log in: rotate the id so a cookie planted before login is worthless.
func ExampleSessionManager_RenewID() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer mw.Close()
	login := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		before := m.GetSessionID()
		m.RenewID()
		m.GetSession().Set("user", "fiona")
		fmt.Println("id changed:", before != m.GetSessionID())
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	fmt.Println(strings.HasPrefix(rec.Header().Get("Set-Cookie"), "sid="))
	// Output:
	// id changed: true
	// true
}

func ExampleGet() {
	s := sessionmw.FromRequest(httptest.NewRequest("GET", "/", nil)).GetSession()
	s.Set("visits", 3)
	n, ok := sessionmw.Get[int](s, "visits")
	_, isString := sessionmw.Get[string](s, "visits")
	fmt.Println(n, ok, isString)
	// Output: 3 true false
}

package sessionmw_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"

	"github.com/sessionmw/go/sessionmw"
)

// browse sends a request with the client's cookie jar and returns the body.
func browse(c *http.Client, method, u string) string {
	req, _ := http.NewRequest(method, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Log in, ask who is there, log out. A copy of the cookie taken before
// logout is worth nothing afterwards: Destroy ends the session in the store,
// not just in this browser.
func ExampleSessionManager_Login() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"))
	defer mw.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// After checking the password: Login moves the session to a new id
		// and records who it belongs to.
		if err := sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: "fiona"}); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		who, ok := sessionmw.Authenticated(r)
		fmt.Fprintf(w, "subject=%q authenticated=%v", who.Subject, ok)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Destroy(); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
		}
	})
	srv := httptest.NewTLSServer(mw.Handler(mux)) // cookies are Secure by default
	defer srv.Close()

	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	browse(browser, "POST", srv.URL+"/login")
	fmt.Println(browse(browser, "GET", srv.URL+"/me"))

	// An attacker copies the cookie while the user is logged in.
	u, _ := url.Parse(srv.URL)
	stolen, _ := cookiejar.New(nil)
	stolen.SetCookies(u, browser.Jar.Cookies(u))

	browse(browser, "POST", srv.URL+"/logout")
	fmt.Println(browse(browser, "GET", srv.URL+"/me"))

	attacker := srv.Client()
	attacker.Jar = stolen
	fmt.Println(browse(attacker, "GET", srv.URL+"/me"))
	// Output:
	// subject="fiona" authenticated=true
	// subject="" authenticated=false
	// subject="" authenticated=false
}

// Remember me: Login also issues a persistent cookie. When the browser is
// closed its session cookie goes; the next visit gets a new session with
// the identity and the values the old one had.
func ExampleWithRemember() {
	mw, _ := sessionmw.New([]byte("an example secret of at least 32 bytes!!"),
		sessionmw.WithRemember(0, 0)) // Kong's defaults: 7 days rolling, 30 absolute
	defer mw.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		m.GetSession().Set("theme", "dark")
		_ = m.Login(sessionmw.Identity{Subject: "fiona"})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		who, _ := m.Identity()
		theme, _ := sessionmw.Get[string](m.GetSession(), "theme")
		fmt.Fprintf(w, "subject=%q theme=%q", who.Subject, theme)
	})
	srv := httptest.NewTLSServer(mw.Handler(mux))
	defer srv.Close()

	browser := srv.Client()
	browser.Jar, _ = cookiejar.New(nil)
	browse(browser, "POST", srv.URL+"/login")

	// Close the browser: only the persistent remember cookie survives.
	u, _ := url.Parse(srv.URL)
	reopened, _ := cookiejar.New(nil)
	for _, c := range browser.Jar.Cookies(u) {
		if c.Name == "remember" {
			reopened.SetCookies(u, []*http.Cookie{c})
		}
	}
	browser.Jar = reopened
	fmt.Println(browse(browser, "GET", srv.URL+"/me"))
	// Output:
	// subject="fiona" theme="dark"
}

// Many instances behind a load balancer share sessions through a shared
// store and the same secret. Here two middlewares share one MemoryIO; in
// production they would share Redis or PostgreSQL.
func ExampleWithStore_manyInstances() {
	secret := []byte("an example secret of at least 32 bytes!!")
	store := sessionmw.NewMemoryIO()
	defer store.Close()
	a, _ := sessionmw.New(secret, sessionmw.WithStore(store))
	defer a.Close()
	b, _ := sessionmw.New(secret, sessionmw.WithStore(store))
	defer b.Close()

	app := func(name string) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
			s := sessionmw.FromRequest(r).GetSession()
			n, _ := sessionmw.Get[int](s, "visits")
			s.Set("visits", n+1)
			fmt.Fprintf(w, "%s: visit %d", name, n+1)
		})
		mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
			_ = sessionmw.FromRequest(r).Destroy()
		})
		return mux
	}
	srvA := httptest.NewTLSServer(a.Handler(app("a")))
	defer srvA.Close()
	srvB := httptest.NewTLSServer(b.Handler(app("b")))
	defer srvB.Close()

	// Cookies are not told apart by port, so one browser's jar serves
	// both instances, as it would behind a load balancer.
	browser := srvA.Client()
	browser.Jar, _ = cookiejar.New(nil)
	fmt.Println(browse(browser, "GET", srvA.URL+"/visit"))
	fmt.Println(browse(browser, "GET", srvB.URL+"/visit"))
	fmt.Println(browse(browser, "GET", srvA.URL+"/visit"))

	// Logout on b ends the session on a too, even for a kept copy.
	u, _ := url.Parse(srvA.URL)
	copied, _ := cookiejar.New(nil)
	copied.SetCookies(u, browser.Jar.Cookies(u))
	browse(browser, "POST", srvB.URL+"/logout")
	browser.Jar = copied
	fmt.Println(browse(browser, "GET", srvA.URL+"/visit"))
	// Output:
	// a: visit 1
	// b: visit 2
	// a: visit 3
	// a: visit 1
}

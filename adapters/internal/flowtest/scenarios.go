package flowtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

// Routes besides the flow's, each served by the test application when a
// scenario asks for it.
const (
	// LoginThenFail (POST) calls HandleLogin, then fails with the
	// framework's own error for status 418 (or answers 418 where the
	// framework has no handler errors).
	LoginThenFail = "/login-then-fail"
	// Write (GET) calls HandleWrite and answers it, then fails with the
	// framework's error where it has them.
	Write = "/write"
	// SeenPath (GET) answers the Seen the handler's framework shows it, as JSON.
	SeenPath = "/seen"
	// Stacked (GET) answers HandleStacked with the managers of the default
	// session object and of StackedName.
	Stacked = "/stacked"
)

// StackedName is the session object of the second middleware in
// RunStacked's application (cookie StackedCookie).
const (
	StackedName   = "admin"
	StackedCookie = "admin_sid"
)

// HandlerBody is what HandleWrite answers.
const HandlerBody = "handler body"

// HandleWrite sets a value in the session, counts the call in ran, and
// returns the status and body to answer.
func HandleWrite(m *sessionmw.SessionManager, ran *atomic.Int32) (int, string) {
	ran.Add(1)
	m.GetSession().Set("k", "v")
	return http.StatusOK, HandlerBody
}

// RunStoreFailures checks, with the application at base on store: a
// session that cannot be saved replaces the handler's response (and its
// error) with the error handler's 503, without the handler's body or a
// cookie; when the store cannot load, the handler does not run.
func RunStoreFailures(t *testing.T, base string, store *FlakyStore, ran *atomic.Int32) {
	t.Helper()
	_, _, res := Do(t, http.DefaultClient, "POST", base+Login, "")
	cookie := CookiePair(t, res, "sid")

	store.FailSave.Store(true)
	code, body, res := Do(t, http.DefaultClient, "GET", base+Write, cookie)
	if code != http.StatusServiceUnavailable || strings.Contains(body, HandlerBody) || len(res.Header["Set-Cookie"]) != 0 {
		t.Errorf("save fails: %d %q, Set-Cookie %q; want 503 without the handler's body or a cookie", code, body, res.Header["Set-Cookie"])
	}
	if ran.Load() != 1 {
		t.Errorf("save fails: handler ran %d times, want 1", ran.Load())
	}
	store.FailSave.Store(false)
	store.FailLoad.Store(true)
	defer store.FailLoad.Store(false)
	if code, _, _ := Do(t, http.DefaultClient, "GET", base+Write, cookie); code != http.StatusServiceUnavailable || ran.Load() != 1 {
		t.Errorf("load fails: %d, handler ran %d times in all; want 503, and not run again", code, ran.Load())
	}
}

// RunErrorAfterLogin checks that a handler that logs in and then fails
// gets its 418 answered with the session's cookie, and that the cookie
// leads to the logged-in session.
func RunErrorAfterLogin(t *testing.T, base string) {
	t.Helper()
	code, _, res := Do(t, http.DefaultClient, "POST", base+LoginThenFail, "")
	cookie := CookiePair(t, res, "sid")
	if code != http.StatusTeapot {
		t.Errorf("got %d, want 418", code)
	}
	if code, body, _ := Do(t, http.DefaultClient, "GET", base+Profile, cookie); code != http.StatusOK {
		t.Errorf("profile with the cookie of the failed request: %d %q, want 200", code, body)
	}
}

// HandleStacked sets a value in each session; it fails unless both
// managers are active and distinct.
func HandleStacked(user, admin *sessionmw.SessionManager) (int, string) {
	if !user.Active() || !admin.Active() || user == admin {
		return http.StatusInternalServerError, "managers not found"
	}
	user.GetSession().Set("user", Subject)
	admin.GetSession().Set("role", "auditor")
	return http.StatusOK, "ok"
}

// StackedOptions configure the second middleware of RunStacked's
// application.
var StackedOptions = []sessionmw.Option{sessionmw.WithSessionCookie(StackedCookie), sessionmw.WithSessionObject(StackedName)}

// RunStacked checks that two stacked middlewares (the default, and one
// with StackedOptions) each set their cookie.
func RunStacked(t *testing.T, base string) {
	t.Helper()
	code, body, res := Do(t, http.DefaultClient, "GET", base+Stacked, "")
	if code != http.StatusOK {
		t.Fatalf("%d %q", code, body)
	}
	OneCookie(t, res, "sid")
	OneCookie(t, res, StackedCookie)
}

// Seen is what a handler sees of a request: its sid and other cookies,
// its Session-Subject and X-Session headers, and its token and keep query
// parameters.
type Seen struct{ Sid, Other, Subject, Token, Keep, XSession string }

// RunRequestChanges checks that what the middleware removes from or adds
// to the request reaches the framework's handlers. serve starts the test
// application (with Login and SeenPath) with a middleware configured by
// opts, and returns its base URL.
func RunRequestChanges(t *testing.T, serve func(t *testing.T, opts ...sessionmw.Option) string) {
	for _, tc := range []struct {
		name   string
		opts   []sessionmw.Option
		query  string
		header http.Header // besides the session cookie after login, and other=1
		want   Seen        // Sid "*": the session cookie as sent
	}{
		{"forwarding disabled: cookie and spoofed Session-Subject removed, subject added",
			[]sessionmw.Option{sessionmw.WithDisableSessionForward(true), sessionmw.WithRequestHeaders("subject")},
			"?keep=1", http.Header{"Session-Subject": {"mallory"}, "X-Session": {"x"}},
			Seen{Other: "1", Subject: Subject, Keep: "1", XSession: "x"}},
		{"request headers only: Session-Subject added in place",
			[]sessionmw.Option{sessionmw.WithRequestHeaders("subject")},
			"?token=t&keep=1", nil,
			Seen{Sid: "*", Other: "1", Subject: Subject, Token: "t", Keep: "1"}},
		{"query credential removed, the rest of the query kept",
			[]sessionmw.Option{sessionmw.WithKeyLookup("query:token"), sessionmw.WithDisableSessionForward(true)},
			"?token=t&keep=1", nil,
			Seen{Sid: "*", Other: "1", Keep: "1"}},
		{"header credential removed",
			[]sessionmw.Option{sessionmw.WithKeyLookup("header:X-Session"), sessionmw.WithDisableSessionForward(true)},
			"?keep=1", http.Header{"X-Session": {"x"}},
			Seen{Sid: "*", Other: "1", Keep: "1"}},
		{"nothing to change",
			nil,
			"?token=t&keep=1", http.Header{"X-Session": {"x"}, "Session-Subject": {"mallory"}},
			Seen{Sid: "*", Other: "1", Subject: "mallory", Token: "t", Keep: "1", XSession: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := serve(t, tc.opts...)
			// The cookie of a logged-in session, or a plain cookie when
			// the id travels elsewhere: it must then pass untouched.
			sid := "sid=*"
			if _, _, res := Do(t, http.DefaultClient, "POST", base+Login, ""); len(res.Header["Set-Cookie"]) > 0 {
				sid = CookiePair(t, res, "sid")
			}
			if tc.want.Sid == "*" {
				tc.want.Sid = strings.TrimPrefix(sid, "sid=")
			}
			req, err := http.NewRequest("GET", base+SeenPath+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			req.Header.Set("Cookie", sid+"; other=1")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got Seen
			if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("handler saw %+v\n want %+v", got, tc.want)
			}
		})
	}
}

// Headers (GET) sets a value in the session and, the framework's way,
// Cache-Control "private", a cookie theme=dark and Vary "Accept" on the
// response; it answers "ok".
const Headers = "/headers"

// RunHandlerHeaders checks that the handler's own headers and cookies
// survive next to the session's: its Cache-Control wins over the
// middleware's no-store, its cookie and the session's are both set, its
// Vary stays as it is (the request carried no cookie).
func RunHandlerHeaders(t *testing.T, base string) {
	t.Helper()
	_, _, res := Do(t, http.DefaultClient, "GET", base+Headers, "")
	OneCookie(t, res, "sid")
	OneCookie(t, res, "theme")
	if cc := res.Header.Get("Cache-Control"); cc != "private" {
		t.Errorf("Cache-Control %q, want the handler's private", cc)
	}
	if v := res.Header.Values("Vary"); strings.Join(v, ", ") != "Accept" {
		t.Errorf("Vary %q, want the handler's Accept only", v)
	}
}

package echosession_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sessionmw/go/adapters/echosession"
	"github.com/sessionmw/go/adapters/internal/flowtest"
	"github.com/sessionmw/go/sessionmw"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// respond writes a flowtest handler's answer the echo way.
func respond(h func(*sessionmw.SessionManager) (int, string)) echo.HandlerFunc {
	return func(c echo.Context) error {
		code, body := h(echosession.FromContext(c))
		return c.String(code, body)
	}
}

func newApp(mw *sessionmw.Middleware) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echosession.New(mw))
	e.POST(flowtest.Login, respond(flowtest.HandleLogin))
	e.GET(flowtest.Profile, respond(flowtest.HandleProfile))
	e.POST(flowtest.Logout, respond(flowtest.HandleLogout))
	return e
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Login, profile, logout and a replayed cookie over real HTTP.
func TestFlow(t *testing.T) {
	mw, log := flowtest.NewMiddleware(t)
	flowtest.Run(t, serve(t, newApp(mw)))
	if s := log.String(); s != "" {
		t.Errorf("unexpected warnings: %s", s)
	}
}

// A handler that logs in and then returns an error: echo's error handler
// answers after the session was committed, and its response carries the
// cookie, so the logged-in session is not orphaned.
func TestErrorResponseCarriesCookie(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	e := newApp(mw)
	e.POST("/login-then-fail", func(c echo.Context) error {
		if code, body := flowtest.HandleLogin(echosession.FromContext(c)); code != http.StatusOK {
			return c.String(code, body)
		}
		return echo.NewHTTPError(http.StatusTeapot, "after login")
	})
	base := serve(t, e)
	code, _, res := flowtest.Do(t, http.DefaultClient, "POST", base+"/login-then-fail", "")
	cookie, _, _ := strings.Cut(flowtest.OneCookie(t, res, "sid"), ";")
	if code != http.StatusTeapot {
		t.Errorf("got %d, want 418", code)
	}
	if code, body, _ := flowtest.Do(t, http.DefaultClient, "GET", base+flowtest.Profile, cookie); code != http.StatusOK {
		t.Errorf("profile with the cookie of the failed request: %d %q, want 200", code, body)
	}
}

// A session that cannot be saved replaces the response with the error
// handler's (503); when the store cannot load, the handler does not run.
func TestStoreFailures(t *testing.T) {
	store := flowtest.NewFlakyStore(t)
	mw, _ := flowtest.NewMiddleware(t, sessionmw.WithStore(store))
	e := newApp(mw)
	ran := false
	e.GET("/", func(c echo.Context) error {
		ran = true
		echosession.FromContext(c).GetSession().Set("k", "v")
		return c.String(http.StatusOK, "handler body")
	})
	base := serve(t, e)
	_, _, res := flowtest.Do(t, http.DefaultClient, "POST", base+flowtest.Login, "")
	cookie, _, _ := strings.Cut(flowtest.OneCookie(t, res, "sid"), ";")

	store.FailSave.Store(true)
	code, body, res := flowtest.Do(t, http.DefaultClient, "GET", base+"/", cookie)
	if code != http.StatusServiceUnavailable || strings.Contains(body, "handler body") || len(res.Header["Set-Cookie"]) != 0 {
		t.Errorf("save fails: %d %q, Set-Cookie %q; want 503 without the handler's body", code, body, res.Header["Set-Cookie"])
	}
	store.FailSave.Store(false)
	store.FailLoad.Store(true)
	ran = false
	if code, _, _ := flowtest.Do(t, http.DefaultClient, "GET", base+"/", cookie); code != http.StatusServiceUnavailable || ran {
		t.Errorf("load fails: %d, handler ran %v; want 503, not run", code, ran)
	}
}

package echosession_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

// newApp returns the flowtest application on echo: every route of the
// flow and of flowtest's scenarios, behind mws.
func newApp(ran *atomic.Int32, mws ...*sessionmw.Middleware) *echo.Echo {
	e := echo.New()
	for _, mw := range mws {
		e.Use(echosession.New(mw))
	}
	e.POST(flowtest.Login, respond(flowtest.HandleLogin))
	e.GET(flowtest.Profile, respond(flowtest.HandleProfile))
	e.POST(flowtest.Logout, respond(flowtest.HandleLogout))
	e.POST(flowtest.LoginThenFail, func(c echo.Context) error {
		flowtest.HandleLogin(echosession.FromContext(c))
		return echo.NewHTTPError(http.StatusTeapot, "after login")
	})
	e.GET(flowtest.Write, func(c echo.Context) error {
		code, body := flowtest.HandleWrite(echosession.FromContext(c), ran)
		_ = c.String(code, body)
		return errors.New("handler error")
	})
	e.GET(flowtest.SeenPath, func(c echo.Context) error {
		cookie := func(name string) string {
			if ck, err := c.Cookie(name); err == nil {
				return ck.Value
			}
			return ""
		}
		h := c.Request().Header
		return c.JSON(http.StatusOK, flowtest.Seen{Sid: cookie("sid"), Other: cookie("other"), Subject: h.Get("Session-Subject"),
			Token: c.QueryParam("token"), Keep: c.QueryParam("keep"), XSession: h.Get("X-Session")})
	})
	e.GET(flowtest.Stacked, func(c echo.Context) error {
		return c.String(flowtest.HandleStacked(echosession.FromContext(c), echosession.FromContextNamed(c, flowtest.StackedName)))
	})
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
	flowtest.Run(t, serve(t, newApp(nil, mw)))
	if s := log.String(); s != "" {
		t.Errorf("unexpected warnings: %s", s)
	}
}

// A handler that logs in and then returns an error: echo's error handler
// answers after the session was committed, and its response carries the
// cookie, so the logged-in session is not orphaned.
func TestErrorResponseCarriesCookie(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	flowtest.RunErrorAfterLogin(t, serve(t, newApp(nil, mw)))
}

func TestStoreFailures(t *testing.T) {
	store := flowtest.NewFlakyStore(t)
	mw, _ := flowtest.NewMiddleware(t, sessionmw.WithStore(store))
	var ran atomic.Int32
	flowtest.RunStoreFailures(t, serve(t, newApp(&ran, mw)), store, &ran)
}

func TestRequestChangesReachHandlers(t *testing.T) {
	flowtest.RunRequestChanges(t, func(t *testing.T, opts ...sessionmw.Option) string {
		mw, _ := flowtest.NewMiddleware(t, opts...)
		return serve(t, newApp(nil, mw))
	})
}

func TestStackedMiddlewares(t *testing.T) {
	user, _ := flowtest.NewMiddleware(t)
	admin, _ := flowtest.NewMiddleware(t, flowtest.StackedOptions...)
	flowtest.RunStacked(t, serve(t, newApp(nil, user, admin)))
}

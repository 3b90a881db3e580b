package fibersession_test

import (
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/sessionmw/go/adapters/fibersession"
	"github.com/sessionmw/go/adapters/internal/flowtest"
	"github.com/sessionmw/go/sessionmw"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, flowtest.FasthttpGoroutines...) }

// respond writes a flowtest handler's answer the fiber way.
func respond(h func(*sessionmw.SessionManager) (int, string)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		code, body := h(fibersession.FromContext(c))
		return c.Status(code).SendString(body)
	}
}

// newFiber returns an app without keep-alive: Shutdown waits for open
// connections in steps of 100 ms, and without keep-alive none is open.
func newFiber() *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true, DisableKeepalive: true})
}

// newApp returns the flowtest application on fiber: every route of the
// flow and of flowtest's scenarios, behind mws.
func newApp(ran *atomic.Int32, mws ...*sessionmw.Middleware) *fiber.App {
	app := newFiber()
	for _, mw := range mws {
		app.Use(fibersession.New(mw))
	}
	app.Post(flowtest.Login, respond(flowtest.HandleLogin))
	app.Get(flowtest.Profile, respond(flowtest.HandleProfile))
	app.Post(flowtest.Logout, respond(flowtest.HandleLogout))
	app.Post(flowtest.LoginThenFail, func(c *fiber.Ctx) error {
		flowtest.HandleLogin(fibersession.FromContext(c))
		return fiber.NewError(fiber.StatusTeapot, "after login")
	})
	app.Get(flowtest.Write, func(c *fiber.Ctx) error {
		code, body := flowtest.HandleWrite(fibersession.FromContext(c), ran)
		_ = c.Status(code).SendString(body)
		return errors.New("handler error")
	})
	app.Get(flowtest.SeenPath, func(c *fiber.Ctx) error {
		return c.JSON(flowtest.Seen{Sid: c.Cookies("sid"), Other: c.Cookies("other"), Subject: c.Get("Session-Subject"),
			Token: c.Query("token"), Keep: c.Query("keep"), XSession: c.Get("X-Session")})
	})
	app.Get(flowtest.Stacked, func(c *fiber.Ctx) error {
		code, body := flowtest.HandleStacked(fibersession.FromContext(c), fibersession.FromContextNamed(c, flowtest.StackedName))
		return c.Status(code).SendString(body)
	})
	app.Get(flowtest.Headers, func(c *fiber.Ctx) error {
		fibersession.FromContext(c).GetSession().Set("k", 1)
		c.Set("Cache-Control", "private")
		c.Cookie(&fiber.Cookie{Name: "theme", Value: "dark"})
		c.Vary("Accept")
		return c.SendString("ok")
	})
	return app
}

// serve runs app on a free 127.0.0.1 port until t ends.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "http://" + ln.Addr().String()
}

// Login, profile, logout and a replayed cookie over real HTTP.
func TestFlow(t *testing.T) {
	mw, log := flowtest.NewMiddleware(t)
	flowtest.Run(t, serve(t, newApp(nil, mw)))
	if s := log.String(); s != "" {
		t.Errorf("unexpected warnings: %s", s)
	}
}

// net/http handlers need no adapter: adaptor.HTTPHandler(mw.Handler(h)).
func TestNetHTTPHandlerThroughAdaptor(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	app := newFiber()
	app.All("/*", adaptor.HTTPHandler(mw.Handler(flowtest.NewMux())))
	flowtest.Run(t, serve(t, app))
}

func TestRequestChangesReachHandlers(t *testing.T) {
	flowtest.RunRequestChanges(t, func(t *testing.T, opts ...sessionmw.Option) string {
		mw, _ := flowtest.NewMiddleware(t, opts...)
		return serve(t, newApp(nil, mw))
	})
}

func TestHandlerHeadersAndCookies(t *testing.T) {
	mw, _ := flowtest.NewMiddleware(t)
	flowtest.RunHandlerHeaders(t, serve(t, newApp(nil, mw)))
}

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

func TestStackedMiddlewares(t *testing.T) {
	user, _ := flowtest.NewMiddleware(t)
	admin, _ := flowtest.NewMiddleware(t, flowtest.StackedOptions...)
	flowtest.RunStacked(t, serve(t, newApp(nil, user, admin)))
}

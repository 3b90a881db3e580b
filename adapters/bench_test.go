package adapters_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	fiber2 "github.com/gofiber/fiber/v2"
	adaptor2 "github.com/gofiber/fiber/v2/middleware/adaptor"
	fiber3 "github.com/gofiber/fiber/v3"
	adaptor3 "github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/sessionmw/go/adapters/fiber3session"
	"github.com/sessionmw/go/adapters/fibersession"
	"github.com/sessionmw/go/sessionmw"
	"github.com/valyala/fasthttp"
)

// BenchmarkSessionRead measures what reading a session costs through
// each way of serving it, in process (no network, no HTTP parsing): a
// request carrying the cookie of a stored session whose handler reads
// one value and answers 204. "bare" is the same handler without sessions,
// the baseline each session variant's cost is measured from:
//
//   - net-http: sessionmw's Middleware.Handler, driven with ServeHTTP;
//   - fiber2, fiber3: fibersession.New / fiber3session.New before a fiber
//     handler, and adaptor.HTTPHandler(mw.Handler(h)) mounting the
//     net/http handler, driven with app.Handler() on a fasthttp.RequestCtx.
func BenchmarkSessionRead(b *testing.B) {
	mw, err := sessionmw.New([]byte("the adapters' bench secret, 32 bytes or more"), sessionmw.WithSecure(false))
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	cookie := storedSession(b, mw)

	read := func(m *sessionmw.SessionManager) {
		if n, _ := sessionmw.Get[int](m.GetSession(), "n"); n != 1 {
			panic("session not read")
		}
	}
	netRead := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read(sessionmw.FromRequest(r))
		w.WriteHeader(http.StatusNoContent)
	})
	netBare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})

	b.Run("net-http/bare", func(b *testing.B) { benchNetHTTP(b, netBare, cookie) })
	b.Run("net-http/session", func(b *testing.B) { benchNetHTTP(b, mw.Handler(netRead), cookie) })

	b.Run("fiber2/bare", func(b *testing.B) {
		app := fiber2.New()
		app.Get("/read", func(c *fiber2.Ctx) error { return c.SendStatus(http.StatusNoContent) })
		benchFasthttp(b, app.Handler(), cookie)
	})
	b.Run("fiber2/fibersession", func(b *testing.B) {
		app := fiber2.New()
		app.Use(fibersession.New(mw))
		app.Get("/read", func(c *fiber2.Ctx) error {
			read(fibersession.FromContext(c))
			return c.SendStatus(http.StatusNoContent)
		})
		benchFasthttp(b, app.Handler(), cookie)
	})
	b.Run("fiber2/adaptor.HTTPHandler", func(b *testing.B) {
		app := fiber2.New()
		app.Get("/read", adaptor2.HTTPHandler(mw.Handler(netRead)))
		benchFasthttp(b, app.Handler(), cookie)
	})

	b.Run("fiber3/bare", func(b *testing.B) {
		app := fiber3.New()
		app.Get("/read", func(c fiber3.Ctx) error { return c.SendStatus(http.StatusNoContent) })
		benchFasthttp(b, app.Handler(), cookie)
	})
	b.Run("fiber3/fiber3session", func(b *testing.B) {
		app := fiber3.New()
		app.Use(fiber3session.New(mw))
		app.Get("/read", func(c fiber3.Ctx) error {
			read(fiber3session.FromContext(c))
			return c.SendStatus(http.StatusNoContent)
		})
		benchFasthttp(b, app.Handler(), cookie)
	})
	b.Run("fiber3/adaptor.HTTPHandler", func(b *testing.B) {
		app := fiber3.New()
		app.Get("/read", adaptor3.HTTPHandler(mw.Handler(netRead)))
		benchFasthttp(b, app.Handler(), cookie)
	})
}

// storedSession saves a session holding n=1 and returns its cookie.
func storedSession(b *testing.B, mw *sessionmw.Middleware) string {
	rec := httptest.NewRecorder()
	mw.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("n", 1)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 {
		b.Fatalf("no session cookie: %q", rec.Header()["Set-Cookie"])
	}
	return c[0].Name + "=" + c[0].Value
}

// benchNetHTTP serves GET /read with cookie to h, b.N times, on a
// response writer that only keeps headers (cleared each time).
func benchNetHTTP(b *testing.B, h http.Handler, cookie string) {
	r := httptest.NewRequest("GET", "/read", nil)
	r.Header.Set("Cookie", cookie)
	w := &headerWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d", w.code)
		}
	}
}

type headerWriter struct {
	h    http.Header
	code int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) WriteHeader(code int)        { w.code = code }
func (w *headerWriter) Write(p []byte) (int, error) { return len(p), nil }

// benchFasthttp serves GET /read with cookie to h, b.N times, on one
// fasthttp.RequestCtx (its response reset each time).
func benchFasthttp(b *testing.B, h fasthttp.RequestHandler, cookie string) {
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/read")
	req.Header.SetHost("example.com")
	req.Header.Set("Cookie", cookie)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
		if code := ctx.Response.StatusCode(); code != http.StatusNoContent {
			b.Fatalf("status %d: %s", code, ctx.Response.Body())
		}
	}
}

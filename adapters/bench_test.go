package adapters_test

import (
	"bufio"
	"io"
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

// A session read served each way: a request carrying the cookie of a
// stored session, whose handler reads one value and answers 204. "bare"
// is the same handler without sessions, the baseline each way's session
// cost is measured from:
//
//   - net-http: sessionmw's Middleware.Handler;
//   - fiber2, fiber3: fibersession.New / fiber3session.New before a fiber
//     handler, and adaptor.HTTPHandler(mw.Handler(h)) mounting the
//     net/http handler.
type variant struct {
	name string
	net  http.Handler // or
	f2   *fiber2.App  // or
	f3   *fiber3.App
}

// variants returns every way, on mw, and the cookie of a stored session
// holding n=1.
func variants(b *testing.B) ([]variant, string) {
	mw, err := sessionmw.New([]byte("the adapters' bench secret, 32 bytes or more"), sessionmw.WithSecure(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mw.Close() })

	rec := httptest.NewRecorder()
	mw.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Set("n", 1)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 {
		b.Fatalf("no session cookie: %q", rec.Header()["Set-Cookie"])
	}
	cookie := c[0].Name + "=" + c[0].Value

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
	f2 := func(h ...fiber2.Handler) *fiber2.App {
		app := fiber2.New(fiber2.Config{DisableStartupMessage: true})
		app.Get("/read", h...)
		return app
	}
	f3 := func(h any, hs ...any) *fiber3.App {
		app := fiber3.New()
		app.Get("/read", h, hs...)
		return app
	}
	return []variant{
		{name: "net-http/bare", net: netBare},
		{name: "net-http/session", net: mw.Handler(netRead)},
		{name: "fiber2/bare", f2: f2(func(c *fiber2.Ctx) error { return c.SendStatus(http.StatusNoContent) })},
		{name: "fiber2/fibersession", f2: f2(fibersession.New(mw), func(c *fiber2.Ctx) error {
			read(fibersession.FromContext(c))
			return c.SendStatus(http.StatusNoContent)
		})},
		{name: "fiber2/adaptor.HTTPHandler", f2: f2(adaptor2.HTTPHandler(mw.Handler(netRead)))},
		{name: "fiber3/bare", f3: f3(func(c fiber3.Ctx) error { return c.SendStatus(http.StatusNoContent) })},
		{name: "fiber3/fiber3session", f3: f3(fiber3session.New(mw), func(c fiber3.Ctx) error {
			read(fiber3session.FromContext(c))
			return c.SendStatus(http.StatusNoContent)
		})},
		{name: "fiber3/adaptor.HTTPHandler", f3: f3(adaptor3.HTTPHandler(mw.Handler(netRead)))},
	}, cookie
}

// BenchmarkSessionRead serves the session read in process: no network,
// no HTTP parsing; net/http handlers through ServeHTTP, fiber apps
// through app.Handler() on a fasthttp.RequestCtx.
func BenchmarkSessionRead(b *testing.B) {
	vs, cookie := variants(b)
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			switch {
			case v.net != nil:
				benchNetHTTP(b, v.net, cookie)
			case v.f2 != nil:
				benchFasthttp(b, v.f2.Handler(), cookie)
			default:
				benchFasthttp(b, v.f3.Handler(), cookie)
			}
		})
	}
}

// BenchmarkSessionReadLoopback serves the session read over a kept-alive
// 127.0.0.1 connection, one request at a time, from a client that writes
// the same raw request and parses each response: the adapters' cost next
// to what a real request costs (the client's work included, the same for
// every way).
func BenchmarkSessionReadLoopback(b *testing.B) {
	vs, cookie := variants(b)
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			var stop func() error
			switch {
			case v.net != nil:
				srv := &http.Server{Handler: v.net}
				go func() { done <- srv.Serve(ln) }()
				stop = srv.Close
			case v.f2 != nil:
				go func() { done <- v.f2.Listener(ln) }()
				stop = v.f2.Shutdown
			default:
				go func() { done <- v.f3.Listener(ln, fiber3.ListenConfig{DisableStartupMessage: true}) }()
				stop = v.f3.Shutdown
			}
			benchLoopback(b, ln.Addr().String(), cookie)
			if err := stop(); err != nil {
				b.Error(err)
			}
			if err := <-done; err != nil && err != http.ErrServerClosed {
				b.Error(err)
			}
		})
	}
}

// benchNetHTTP serves GET /read with cookie to h, on a response writer
// that only keeps headers (cleared each time).
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

// benchFasthttp serves GET /read with cookie to h on one
// fasthttp.RequestCtx, its response reset each time.
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

// benchLoopback sends GET /read with cookie to addr over one connection.
func benchLoopback(b *testing.B, addr, cookie string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := []byte("GET /read HTTP/1.1\r\nHost: bench\r\nCookie: " + cookie + "\r\n\r\n")
	br := bufio.NewReader(conn)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

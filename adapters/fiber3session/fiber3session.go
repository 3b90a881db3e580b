// Package fiber3session runs sessionmw's middleware in a fiber v3
// application, through fiber's net/http adaptor. It is package
// fibersession for fiber v3: the same API, behaviour and costs (see its
// documentation).
//
//	mw, err := sessionmw.New(secret)
//	if err != nil { … }
//	defer mw.Close()
//	app := fiber.New()
//	app.Use(fiber3session.New(mw))
//	app.Post("/login", func(c fiber.Ctx) error {
//		m := fiber3session.FromContext(c)
//		if err := m.Login(sessionmw.Identity{Subject: userID}); err != nil {
//			return err
//		}
//		return c.JSON(fiber.Map{"ok": true}) // the response carries the cookie
//	})
//
// Handlers written for net/http need no adapter: mount
// adaptor.HTTPHandler(mw.Handler(h)) on a route. Do not use
// adaptor.HTTPMiddleware(mw.Handler): it runs the rest of fiber's chain
// after the middleware returned, past the session's commit, and the
// handlers cannot reach the session.
//
// The session's request gets fiber's c.Context() as its context. The
// session manager, and the *http.Request behind it (whose strings point
// into fasthttp's buffers), are valid until the chain returns.
package fiber3session

import (
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/sessionmw/go/adapters/internal/fiberbridge"
	"github.com/sessionmw/go/sessionmw"
)

// New returns fiber middleware that runs mw around the rest of the
// handler chain; the handlers after it reach the session with
// FromContext. The session is committed into fiber's response when the
// chain has returned, before a byte is sent; a chain's error goes to
// fiber's ErrorHandler with the session's cookie already set, unless the
// middleware answered itself (a store failure: its response stands). A
// request whose URI net/http cannot parse is refused with
// fiber.ErrBadRequest.
func New(mw *sessionmw.Middleware) fiber.Handler {
	serve := fiberbridge.New(mw)
	return func(c fiber.Ctx) error {
		r, err := adaptor.ConvertRequest(c, true)
		if err != nil {
			return fiber.ErrBadRequest
		}
		return serve(c, c.RequestCtx(), r, c.Context())
	}
}

// FromContext returns the session manager of the default session object
// (sessionmw.FromRequest) for c's request. Outside New's chain it returns
// an inactive manager, never nil.
func FromContext(c fiber.Ctx) *sessionmw.SessionManager {
	return sessionmw.FromRequest(fiberbridge.Request(c.RequestCtx()))
}

// FromContextNamed is FromContext for the middleware configured with
// sessionmw.WithSessionObject(name); several New middlewares can be
// stacked, each with its own name.
func FromContextNamed(c fiber.Ctx, name string) *sessionmw.SessionManager {
	return sessionmw.FromRequestNamed(fiberbridge.Request(c.RequestCtx()), name)
}

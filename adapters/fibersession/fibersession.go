// Package fibersession runs sessionmw's middleware in a fiber v2
// application, through fiber's net/http adaptor.
//
//	mw, err := sessionmw.New(secret)
//	if err != nil { … }
//	defer mw.Close()
//	app := fiber.New()
//	app.Use(fibersession.New(mw))
//	app.Post("/login", func(c *fiber.Ctx) error {
//		m := fibersession.FromContext(c)
//		if err := m.Login(sessionmw.Identity{Subject: userID}); err != nil {
//			return err
//		}
//		return c.JSON(fiber.Map{"ok": true}) // the response carries the cookie
//	})
//
// Handlers written for net/http need no adapter of this package: mount
// adaptor.HTTPHandler(mw.Handler(h)) on a route (see the package's
// examples). Do not use adaptor.HTTPMiddleware(mw.Handler): it runs the
// rest of fiber's chain after the middleware returned, that is after the
// session was committed, and the handlers cannot reach the session.
//
// # How it works, and what it costs
//
// Fiber answers from a fasthttp response that is sent only when the whole
// handler chain has returned. New converts the request with fiber's
// adaptor (adaptor.ConvertRequest), runs mw's Handler around the rest of
// the chain, and commits the session when the chain has returned, before
// fasthttp sends a byte: the cookie lands in the fiber response.
// Changes the middleware makes to the request (sessionmw.WithDisableSessionForward
// removing credentials, sessionmw.WithRequestHeaders adding Session-*
// headers) are copied back to fiber's request, so handlers and fiber's
// proxy see the request the middleware passed on. The conversion and the
// copying back cost some microseconds and allocations per request: see
// "Framework adapters" in the repository's BENCHMARKS.md.
//
// Since nothing is sent before the chain returns, a change to the session
// anywhere in the chain is saved; a change made later (in a stream writer
// or a goroutine) is not, and must not be made: the session manager is
// valid only until the chain returns. Nor must the *http.Request behind
// FromContext be kept after the request: as with any request fiber's
// adaptor converts, its strings point into fasthttp's buffers, which the
// next request reuses.
//
// An error returned by the chain goes to fiber's ErrorHandler as usual,
// after the session was committed: the error response carries the
// session's cookie. When the middleware answers itself (a store failure,
// a logout request with sessionmw.WithLogout), its response replaces the
// chain's and the chain's error is dropped (the middleware logged its own).
package fibersession

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/sessionmw/go/adapters/internal/fiberbridge"
	"github.com/sessionmw/go/sessionmw"
)

// New returns fiber middleware that runs mw around the rest of the
// handler chain; the handlers after it reach the session with
// FromContext. A request whose URI net/http cannot parse is refused with
// fiber.ErrBadRequest.
func New(mw *sessionmw.Middleware) fiber.Handler {
	serve := fiberbridge.New(mw)
	return func(c *fiber.Ctx) error {
		r, err := adaptor.ConvertRequest(c, true)
		if err != nil {
			return fiber.ErrBadRequest
		}
		return serve(c, c.Context(), r, c.UserContext())
	}
}

// FromContext returns the session manager of the default session object
// (sessionmw.FromRequest) for c's request. Outside New's chain it returns
// an inactive manager, never nil.
func FromContext(c *fiber.Ctx) *sessionmw.SessionManager {
	return sessionmw.FromRequest(fiberbridge.Request(c.Context()))
}

// FromContextNamed is FromContext for the middleware configured with
// sessionmw.WithSessionObject(name); several New middlewares can be
// stacked, each with its own name.
func FromContextNamed(c *fiber.Ctx, name string) *sessionmw.SessionManager {
	return sessionmw.FromRequestNamed(fiberbridge.Request(c.Context()), name)
}

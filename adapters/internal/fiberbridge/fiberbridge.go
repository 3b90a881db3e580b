// Package fiberbridge runs sessionmw's middleware around the rest of a
// fiber handler chain, for fiber v2 and v3 alike: the request goes in
// converted by fiber's adaptor, the changes the middleware makes to it
// come back to fiber's request (syncRequest), and the response headers
// it sets, or the response it writes itself, land in fiber's response
// (Writer) when the chain has returned, before fasthttp sends a byte.
package fiberbridge

import (
	"context"
	"net/http"
	"sync"

	"github.com/sessionmw/go/sessionmw"
	"github.com/valyala/fasthttp"
)

// Ctx is what the bridge needs of a fiber context: v2's *fiber.Ctx and
// v3's fiber.Ctx both have these methods.
type Ctx interface {
	Request() *fasthttp.Request
	Response() *fasthttp.Response
	Locals(key any, value ...any) any
	Next() error
}

// Serve runs one request through a session middleware and the rest of
// fiber's chain.
type Serve func(c Ctx, r *http.Request, ctx context.Context) error

// New returns the Serve of mw. r is c's request as fiber's adaptor
// converted it; ctx is fiber's user context, the one the session
// middleware's request gets (unless an outer session middleware of this
// bridge is running: its request's context then, so that its managers
// stay reachable). Serve returns the chain's error, or nil when the
// middleware answered the request itself.
func New(mw *sessionmw.Middleware) Serve {
	h := mw.Handler(http.HandlerFunc(next))
	return func(c Ctx, r *http.Request, ctx context.Context) error {
		if prev, ok := c.Locals(requestKey{}).(*http.Request); ok {
			ctx = prev.Context()
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		k := calls.Get().(*call)
		defer calls.Put(k)
		*k = call{c: c, r: r, n: len(r.Header)}
		k.Writer.Reset(c.Response())
		h.ServeHTTP(k, r)
		k.Apply()
		err := k.err
		if k.Wrote() {
			err = nil // the middleware's own answer stands
		}
		*k = call{}
		return err
	}
}

// call is one request's passage through Serve: the ResponseWriter the
// session middleware gets, and what next needs to continue the chain.
type call struct {
	Writer
	c   Ctx
	r   *http.Request // as converted
	n   int           // len(r.Header) before the middleware ran
	err error         // the chain's
}

var calls = sync.Pool{New: func() any { return new(call) }}

// next is the handler the session middleware wraps: it continues fiber's
// chain with the request the middleware passed on, reachable through
// Request meanwhile.
func next(w http.ResponseWriter, fwd *http.Request) {
	k := callOf(w)
	syncRequest(k.c.Request(), k.r, fwd, k.n)
	prev := k.c.Locals(requestKey{})
	k.c.Locals(requestKey{}, fwd)
	k.err = k.c.Next()
	k.c.Locals(requestKey{}, prev)
}

// callOf finds the call behind the writer the session middleware hands
// to the next handler (its own, which unwraps to the call, or the call
// itself on a skipped request).
func callOf(w http.ResponseWriter) *call {
	for {
		switch x := w.(type) {
		case *call:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			panic("fiberbridge: the session middleware's writer does not unwrap to the bridge's")
		}
	}
}

// requestKey is the fiber Locals key of the request the session
// middleware passed on.
type requestKey struct{}

var noRequest = new(http.Request)

// Request returns the request the innermost running session middleware
// passed on, or a request without sessions outside one.
func Request(c Ctx) *http.Request {
	if r, ok := c.Locals(requestKey{}).(*http.Request); ok {
		return r
	}
	return noRequest
}

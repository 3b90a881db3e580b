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

// Chain is fiber's handler chain: v2's *fiber.Ctx and v3's fiber.Ctx.
type Chain interface {
	Next() error
}

// Serve runs one request through a session middleware and the rest of
// fiber's chain.
//
// fctx is the request's fasthttp context (fiber's c.Context() in v2,
// c.RequestCtx() in v3), whose user values are fiber's Locals: the
// request the middleware passed on is kept there for Request. r is the
// request as fiber's adaptor converted it; ctx is fiber's user context,
// the one the session middleware's request gets (unless an outer session
// middleware of this bridge is running: its request's context then, so
// that its managers stay reachable). Serve returns the chain's error, or
// nil when the middleware answered the request itself.
type Serve func(c Chain, fctx *fasthttp.RequestCtx, r *http.Request, ctx context.Context) error

// New returns the Serve of mw.
func New(mw *sessionmw.Middleware) Serve {
	h := mw.Handler(http.HandlerFunc(next))
	return func(c Chain, fctx *fasthttp.RequestCtx, r *http.Request, ctx context.Context) error {
		if prev, ok := fctx.UserValue(requestKey{}).(*http.Request); ok {
			ctx = prev.Context()
		}
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		k := calls.Get().(*call)
		defer func() { *k = call{}; calls.Put(k) }() // also when a handler panics
		*k = call{c: c, fctx: fctx, r: r, n: len(r.Header)}
		k.Writer.Reset(&fctx.Response)
		h.ServeHTTP(k, r)
		k.Apply()
		if k.Wrote() {
			return nil // the middleware's own answer stands
		}
		return k.err
	}
}

// call is one request's passage through Serve: the ResponseWriter the
// session middleware gets, and what next needs to continue the chain.
type call struct {
	Writer
	c    Chain
	fctx *fasthttp.RequestCtx
	r    *http.Request // as converted
	n    int           // len(r.Header) before the middleware ran
	err  error         // the chain's
}

var calls = sync.Pool{New: func() any { return new(call) }}

// next is the handler the session middleware wraps: it continues fiber's
// chain with the request the middleware passed on, reachable through
// Request meanwhile.
func next(w http.ResponseWriter, fwd *http.Request) {
	k := callOf(w)
	syncRequest(&k.fctx.Request, k.r, fwd, k.n)
	prev := k.fctx.UserValue(requestKey{})
	k.fctx.SetUserValue(requestKey{}, fwd)
	k.err = k.c.Next()
	k.fctx.SetUserValue(requestKey{}, prev)
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

// requestKey is the fiber Locals (fasthttp user value) key of the request
// the session middleware passed on.
type requestKey struct{}

var noRequest = new(http.Request)

// Request returns the request the innermost running session middleware
// passed on, or a request without sessions outside one.
func Request(fctx *fasthttp.RequestCtx) *http.Request {
	if r, ok := fctx.UserValue(requestKey{}).(*http.Request); ok {
		return r
	}
	return noRequest
}

// Package ginsession runs sessionmw's middleware in a gin engine.
//
//	mw, err := sessionmw.New(secret)
//	if err != nil { … }
//	defer mw.Close()
//	r := gin.New()
//	r.Use(ginsession.New(mw))
//	r.POST("/login", func(c *gin.Context) {
//		m := ginsession.FromContext(c) // or sessionmw.FromRequest(c.Request)
//		if err := m.Login(sessionmw.Identity{Subject: userID}); err != nil { … }
//		c.JSON(http.StatusOK, gin.H{"ok": true}) // the response carries the cookie
//	})
//
// # Why an adapter
//
// Gin handlers write through c.Writer, not through the http.ResponseWriter
// that sessionmw's middleware hands to the next handler. Running the
// middleware around c.Next and replacing only c.Request (the obvious
// adapter) lets c.JSON send the headers before the session is committed:
// a login answers 200 without Set-Cookie, the saved session is orphaned,
// and nothing is logged. New also replaces c.Writer with a
// gin.ResponseWriter that writes through the middleware's writer, so the
// session is committed (saved, cookie set) just before the response's
// first byte, as with net/http.
//
// Changes to the session after the response went out (c.JSON, then Set)
// follow sessionmw's rule for net/http: they are saved for a session the
// client already holds a cookie for, and otherwise dropped with a warning
// in the middleware's log (a new session, a renewed id after Login, or
// cookie storage need a Set-Cookie that can no longer be sent).
package ginsession

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionmw/go/sessionmw"
)

// New returns gin middleware that runs mw around the rest of the handler
// chain. The handlers after it see c.Request carrying the session manager
// (FromContext, sessionmw.FromRequest) and write through a c.Writer that
// commits the session before the first byte. When mw answers the request
// itself (a store failure, a logout request with sessionmw.WithLogout) the
// rest of the chain is aborted. Outer middleware gets its own c.Request
// and c.Writer back when New's handler returns.
func New(mw *sessionmw.Middleware) gin.HandlerFunc {
	return func(c *gin.Context) {
		gw, req := c.Writer, c.Request
		defer func() { c.Writer, c.Request = gw, req }()
		called := false
		mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			c.Request = r
			c.Writer = &responseWriter{ResponseWriter: gw, w: w}
			c.Next()
		})).ServeHTTP(gw, req)
		if !called {
			c.Abort()
		}
	}
}

// FromContext returns the session manager of c's request: the one
// sessionmw.FromRequest(c.Request) returns. Outside New's chain it returns
// an inactive manager, never nil.
func FromContext(c *gin.Context) *sessionmw.SessionManager {
	return sessionmw.FromRequest(c.Request)
}

// FromContextNamed is FromContext for the middleware configured with
// sessionmw.WithSessionObject(name).
func FromContextNamed(c *gin.Context, name string) *sessionmw.SessionManager {
	return sessionmw.FromRequestNamed(c.Request, name)
}

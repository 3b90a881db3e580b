// Package echosession runs sessionmw's middleware in an echo (v4)
// application.
//
//	mw, err := sessionmw.New(secret)
//	if err != nil { … }
//	defer mw.Close()
//	e := echo.New()
//	e.Use(echosession.New(mw))
//	e.POST("/login", func(c echo.Context) error {
//		m := echosession.FromContext(c) // or sessionmw.FromRequest(c.Request())
//		if err := m.Login(sessionmw.Identity{Subject: userID}); err != nil {
//			return err
//		}
//		return c.JSON(http.StatusOK, map[string]bool{"ok": true})
//	})
//
// New is echo.WrapMiddleware(mw.Handler): echo replaces both the request
// and the response (its *echo.Response then wraps the middleware's
// writer), so the session is committed just before the first byte, as
// with net/http. A handler's returned error is answered by echo's
// HTTPErrorHandler after the middleware has committed the session: the
// error response carries the session's cookie, so a change made before
// the error (a Login) is never orphaned.
package echosession

import (
	"github.com/labstack/echo/v4"
	"github.com/sessionmw/go/sessionmw"
)

// New returns echo middleware that runs mw around the rest of the chain.
// When mw answers the request itself (a store failure, a logout request
// with sessionmw.WithLogout), the rest of the chain does not run.
func New(mw *sessionmw.Middleware) echo.MiddlewareFunc {
	return echo.WrapMiddleware(mw.Handler)
}

// FromContext returns the session manager of c's request: the one
// sessionmw.FromRequest(c.Request()) returns. Outside New's chain it
// returns an inactive manager, never nil.
func FromContext(c echo.Context) *sessionmw.SessionManager {
	return sessionmw.FromRequest(c.Request())
}

// FromContextNamed is FromContext for the middleware configured with
// sessionmw.WithSessionObject(name).
func FromContextNamed(c echo.Context, name string) *sessionmw.SessionManager {
	return sessionmw.FromRequestNamed(c.Request(), name)
}

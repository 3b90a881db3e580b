// Package adapters holds sessionmw's framework adapters, in a module of
// their own so that the library's go.mod never pulls a framework:
//
//   - gin: [github.com/sessionmw/go/adapters/ginsession]
//   - echo v4: [github.com/sessionmw/go/adapters/echosession]
//   - fiber v2: [github.com/sessionmw/go/adapters/fibersession]
//   - fiber v3: [github.com/sessionmw/go/adapters/fiber3session]
//
// Each package has New(mw), the framework's middleware, and
// FromContext(c), the request's *sessionmw.SessionManager; the session is
// committed (saved, cookie set) before the response's first byte, as
// with net/http.
//
// Routers that take func(http.Handler) http.Handler need no adapter:
// pass Middleware.Handler itself.
//
//	r := chi.NewRouter() // github.com/go-chi/chi/v5
//	r.Use(mw.Handler)
//
//	r := mux.NewRouter() // github.com/gorilla/mux
//	r.Use(mw.Handler)
//
// and handlers call sessionmw.FromRequest(r). This package holds no code:
// its examples and tests show chi and gorilla/mux doing so.
package adapters

// Package sessionmw is HTTP session middleware for net/http: a Go port of
// authx_extra's SessionMiddleware for FastAPI, hardened and fast.
//
// The cookie carries only a random (UUIDv4) session id, signed with
// HMAC-SHA256 and timestamped by [github.com/gorilla/securecookie]; the
// session's data stays on the server in a [Store].
//
// # Quick start
//
//	mw, err := sessionmw.New(secretKey, // at least 32 random bytes
//		sessionmw.WithSecure(false),     // plain-HTTP development only
//		sessionmw.WithSkipHeader("X-Skip-Session", "*"),
//	)
//	if err != nil { … }
//	defer mw.Close()
//	http.ListenAndServe(addr, mw.Handler(mux))
//
// and in a handler:
//
//	m := sessionmw.FromRequest(r) // the per-request *SessionManager
//	s := m.GetSession()
//	n, _ := sessionmw.Get[int](s, "test_counter")
//	s.Set("test_counter", n+1)
//
// Middleware.Handler has the func(http.Handler) http.Handler shape, so it
// works with http.ServeMux, chi, gorilla/mux and any router like them.
//
// # Lifecycle
//
// Sessions are lazy. A visitor whose session is never written gets no
// cookie and causes no store write; a request that only reads costs one
// store read and no write, except for a throttled touch (at most once per
// [DefaultTouchInterval]) that keeps an active session from expiring. A
// changed session is saved once, just before the response headers are
// written (also when the handler only calls Write), and only the keys it
// changed are sent to the store, so concurrent requests that change
// different keys all persist.
//
// Call [SessionManager.RenewID] on login (the old id stops working: no
// session fixation) and [SessionManager.Destroy] on logout.
//
// # Expiry
//
// Server-side expiry is always enforced. With [WithMaxAge] > 0 a session
// expires MaxAge after its last save, and the cookie carries the same
// Max-Age. With MaxAge 0 (the default) the cookie is a browser-session
// cookie and the server drops the session after [WithIdleTimeout] without
// a save (default [DefaultIdleTimeout]). The cookie's signature expires
// too, so an old cookie is refused even by a store that kept the data.
//
// # Hostile input and failures
//
// A cookie that fails verification (tampered, truncated, signed with
// another key or for another cookie name, over-long, expired) gives the
// request a fresh, empty session and a warning in the log; never an error
// response. A signed id the store does not know gets a new id: a client
// can never choose its id. A store failure, on the other hand, is never
// hidden: it goes to the [ErrorHandler] (default: 503 for
// [ErrStoreUnavailable] and [ErrStoreFull], else 500).
//
// Nothing the package logs contains the secret, a cookie value or a full
// session id; ids appear as a short hash ([Fingerprint]).
//
// # Stores
//
// [MemoryIO] (the default) and [RistrettoStore] live in this package;
// sessionmw/redisstore keeps sessions in Redis or Valkey. Every store
// passes the conformance suite in sessionmw/storetest.
//
// # Beyond authx_extra
//
//   - Gateway plugin features: [WithKeyLookup] (cookie, header or query),
//     [WithAutoRenew] with a grace window, [WithDisableSessionForward],
//     [MapSessionToHeader], named storage ([RegisterStorage]) and
//     [LoadSession] with the gateway's defaults; package sessionmw/config
//     loads its middlewares.yaml.
//   - Kong session plugin features: encrypted cookie storage
//     ([WithCookieStorage], chunked, [ErrSessionTooLarge]), idle, rolling
//     and absolute timeouts ([WithRollingTimeout], [WithAbsoluteTimeout]),
//     logout ([WithLogout]), key rotation ([WithSecretFallbacks]),
//     revocation of cookie sessions ([WithRevocationStore]),
//     authentication ([SessionManager.Login], [Authenticated]), remember-me
//     ([WithRemember]), audiences ([WithAudience]), revoke everywhere
//     ([Middleware.RevokeSubject]) and [Kong], a preset with Kong's
//     defaults.
//
// # Value types
//
// Values keep their Go type through every store, see [Session].
package sessionmw

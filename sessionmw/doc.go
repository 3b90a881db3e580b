// Package sessionmw is HTTP session middleware for net/http.
//
// By default the client holds only a random (UUIDv4) session id, signed
// with HMAC-SHA256 and timestamped in [github.com/gorilla/securecookie]'s
// format; the session's data stays on the server in a [Store]. With
// [WithCookieStorage] the whole session travels in encrypted cookies
// instead.
//
// # Quick start
//
//	mw, err := sessionmw.New(secretKey, // at least 32 random bytes
//		sessionmw.WithSecure(false),     // plain-HTTP development only
//	)
//	if err != nil { … }
//	defer mw.Close()
//	http.ListenAndServe(addr, mw.Handler(mux))
//
// and in a handler:
//
//	m := sessionmw.FromRequest(r) // the per-request *SessionManager
//	s := m.GetSession()
//	n, _ := sessionmw.Get[int](s, "counter")
//	s.Set("counter", n+1)
//
// Middleware.Handler has the func(http.Handler) http.Handler shape, so it
// works with http.ServeMux, chi, gorilla/mux and any router like them.
//
// # A session's life
//
// Sessions are lazy. A visitor whose session is never written gets no
// cookie and causes no store write; a request that only reads costs one
// store read and no write, except for a throttled touch (at most once per
// [WithTouchInterval]) that keeps an active session from expiring. A
// changed session is saved once, just before the response headers are
// written, and only the keys it changed are sent to the store, so
// concurrent requests that change different keys all persist.
//
// An id is in one of four states. New: the request carries no usable
// credential, and the session gets an id only when one is needed. Live: a
// record holds it, within its deadlines. Superseded: renewal moved the
// session to a successor id; after an automatic renewal ([WithAutoRenew],
// [WithRollingTimeout]) the old id leads to its successor for a grace
// period ([WithRenewGrace]), and a request still carrying it is served the
// successor and handed its id; after an explicit renewal ([SessionManager.Login],
// [SessionManager.RenewID]) the old id leads nowhere, so an id planted
// before login is worthless. Destroyed: [SessionManager.Destroy], logout
// ([WithLogout]), [Middleware.RevokeSubject], a per-subject cap
// ([WithMaxSessionsPerSubject]) or a failed identity check
// ([WithIdentityCheck]) ended it.
//
// The transitions keep these invariants, whatever the options and the
// store:
//
//   - Logout ends the lineage: after Destroy, logout, RevokeSubject or
//     RevokeOthers returns, no id or cookie issued earlier in the session's
//     life (before renewals, by concurrent renewals, by remember-me
//     restores) is accepted, by any instance. With redisstore's client-side
//     cache, another instance may accept it for at most the cache's TTL.
//   - One successor: renewal is a compare-and-set in the store (a
//     superseded record refuses every save, see [ErrSuperseded]);
//     concurrent renewers of one id all end up on the winner's successor,
//     and a superseded id is never extended.
//   - No silent loss: a write that races a renewal lands on the successor,
//     or, when a login retired the id, the request fails with a 409 instead
//     of answering 200 without its write.
//   - Credentials never travel upstream when [WithDisableSessionForward] is
//     on: every cookie the middleware issues, the header or query
//     credential and client-sent Session-* headers are removed, on every
//     request, skipped ones included.
//   - Limits hold on every path that creates a logged-in session: Login
//     and remember-me restores; renewal does not count twice.
//   - A client never chooses its id and never lands in a session it did
//     not start: of several credentials (cookies of the same name, one
//     possibly planted), exactly one distinct live session must remain,
//     or the request starts fresh.
//
// Features attach to the lifecycle at named points (see lifecycle.go);
// the model-based test (model_test.go) checks the invariants above over
// random sequences of operations on every store.
//
// # Expiry
//
// Server-side expiry is always enforced. A session ends at the earliest of
// its last save + the idle TTL ([WithMaxAge] when positive, else
// [WithIdleTimeout]), its id's issue + [WithRollingTimeout], and its
// creation + [WithAbsoluteTimeout]. A store record's TTL ends at that
// deadline, and the cookie's signature expires too, so an old cookie is
// refused even by a store that kept the data.
//
// # Hostile input and failures
//
// A credential that fails verification (tampered, truncated, signed with
// another key or for another cookie name, over-long, expired) gives the
// request a fresh, empty session and a warning in the log; never an error
// response. A signed id the store does not know gets a new id: a client
// can never choose its id. A store failure, on the other hand, is never
// hidden: it goes to the [ErrorHandler] (default: 503 for
// [ErrStoreUnavailable] and [ErrStoreFull], 409 for [ErrSuperseded], else
// 500).
//
// Nothing the package logs contains the secret, a cookie value or a full
// session id; ids appear as a short hash ([Fingerprint]).
//
// # Stores
//
// [MemoryIO] (the default) and [RistrettoStore] live in this package;
// sessionmw/redisstore keeps sessions in Redis or Valkey, sessionmw/pgstore
// in PostgreSQL and sessionmw/sqlitestore in SQLite. Every store
// passes the conformance suite in sessionmw/storetest.
//
// # Logging in, and the rest
//
// [SessionManager.Login] records who authenticated the session and renews
// its id; [Middleware.Sessions], [Middleware.RevokeSubject],
// [WithMaxSessionsPerSubject] and [WithRemember] build on it. Audiences
// ([WithAudience]) keep several applications' sessions apart on one
// client. Package sessionmw/gateway has presets and request glue for API
// gateways, and sessionmw/config loads a gateway's YAML.
//
// # Value types
//
// Values keep their Go type through every store, see [Session].
//
// # Options by task
//
// go doc lists the options alphabetically; here they are by task.
//
//   - The cookie: [WithSessionCookie], [WithSecure], [WithHTTPOnly],
//     [WithSameSite], [WithDomain], [WithPath], [WithPartitioned],
//     [WithKeyLookup] (read the id from a header or query instead), and
//     [WithSecretFallbacks] to rotate the secret.
//   - Where sessions live: [WithStore], [WithCookieStorage] and
//     [WithCookieChunks], [WithRevocationStore] (revocation for cookie
//     storage), [WithEncryptionAtRest], [WithHashedIDs],
//     [WithHashedSubjects], [WithStrictValues].
//   - How long they live: [WithMaxAge], [WithIdleTimeout],
//     [WithRollingTimeout], [WithAbsoluteTimeout], [WithTouchInterval],
//     [WithAutoRenew], [WithRenewGrace].
//   - Who owns them: [WithIdentityCheck], [WithAnonymousSubject],
//     [WithMaxSessionsPerSubject], [WithBind], [WithRemember],
//     [WithRememberCookie].
//   - Ending them: [WithLogout], [WithLogoutMethods], [WithLogoutQueryArg],
//     [WithLogoutPostArg], [WithLogoutBody].
//   - Upstream and requests: [WithSkipHeader], [WithSessionObject],
//     [WithAudience], [WithRequestHeaders], [WithResponseHeaders],
//     [WithDisableSessionForward].
//   - Watching them: [WithHooks], [WithLogger], [WithLogRateLimit],
//     [WithErrorHandler].
package sessionmw

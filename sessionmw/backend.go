package sessionmw

import "net/http"

// backend is where sessions live: a server Store behind a signed id
// (serverBackend) or the client's encrypted cookies (cookieBackend). The
// manager calls it at each transition of the lifecycle and never branches
// on which one it has.
type backend interface {
	// resolve finds the live session the request's credentials lead to,
	// if exactly one, and adopts it into m (renewing it when it is due).
	// Hostile or stale credentials are logged and ignored; only a store
	// failure is an error.
	resolve(m *SessionManager, r *http.Request, now int64) error

	// commit saves what the request changed (or renews, or touches) and
	// puts the credential on h when the client needs a new one; h is nil
	// after the response went out. It reports whether the session is
	// stored afterwards.
	commit(m *SessionManager, h http.Header, now int64) (stored bool, err error)

	// destroy ends the session's lineage at the source of truth.
	destroy(m *SessionManager, now int64) error

	// expire tells the client to drop its credentials.
	expire(m *SessionManager, h http.Header)
}

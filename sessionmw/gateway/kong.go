package gateway

import (
	"net/http"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// Kong's session plugin defaults, used by Kong.
const (
	KongCookieName      = "session"
	KongIdlingTimeout   = 900 * time.Second
	KongRollingTimeout  = 3600 * time.Second
	KongAbsoluteTimeout = 86400 * time.Second
	KongStaleTTL        = 10 * time.Second
)

// Kong returns the session middleware with Kong's session plugin defaults:
// cookie "session", SameSite=Strict, Secure, HttpOnly; idling, rolling and
// absolute timeouts of 15 min, 1 h and 24 h; a 10 s stale_ttl (the renewed
// id's grace); logout on POST and DELETE with "session_logout" in the
// query (the body is not read, as Kong's read_body_for_logout); and, as in
// Kong, encrypted cookie storage unless a WithStore in opts chooses server
// storage (Kong's storage=kong), whose values are then encrypted at rest. opts are applied after the defaults.
func Kong(secretKey []byte, opts ...sessionmw.Option) (*sessionmw.Middleware, error) {
	defaults := []sessionmw.Option{
		sessionmw.WithCookieStorage(),
		sessionmw.WithSessionCookie(KongCookieName),
		sessionmw.WithSameSite(http.SameSiteStrictMode),
		sessionmw.WithSecure(true),
		sessionmw.WithHTTPOnly(true),
		sessionmw.WithIdleTimeout(KongIdlingTimeout),
		sessionmw.WithRollingTimeout(KongRollingTimeout),
		sessionmw.WithAbsoluteTimeout(KongAbsoluteTimeout),
		sessionmw.WithRenewGrace(KongStaleTTL),
		sessionmw.WithLogout(),
		sessionmw.WithLogoutBody(false),      // Kong's read_body_for_logout
		sessionmw.WithEncryptionAtRest(true), // storage=kong keeps data encrypted
	}
	return sessionmw.New(secretKey, append(defaults, opts...)...)
}

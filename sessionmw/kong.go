package sessionmw

import (
	"net/http"
	"time"
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
// id's grace); logout on POST and DELETE with "session_logout"; and, as in
// Kong, encrypted cookie storage unless WithStore is given (Kong's
// storage=kong). opts are applied after the defaults.
func Kong(secretKey []byte, opts ...Option) (*Middleware, error) {
	defaults := []Option{
		WithSessionCookie(KongCookieName),
		WithSameSite(http.SameSiteStrictMode),
		WithSecure(true),
		WithHTTPOnly(true),
		WithIdleTimeout(KongIdlingTimeout),
		WithRollingTimeout(KongRollingTimeout),
		WithAbsoluteTimeout(KongAbsoluteTimeout),
		WithRenewGrace(KongStaleTTL),
		WithLogout(),
		func(c *config) error { c.kongCookieDefault = true; return nil },
	}
	return New(secretKey, append(defaults, opts...)...)
}

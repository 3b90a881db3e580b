package gateway

import (
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// Defaults of the gateway plugin's LoadSessionMiddleware, used by
// LoadSession.
const (
	// DefaultKeyLookup is where LoadSession looks for the id.
	DefaultKeyLookup = "cookie:session_id"
	// DefaultExpiration is the cookie lifetime and server TTL.
	DefaultExpiration = 2 * time.Hour
	// DefaultAutoRenewAfter is how old an id gets before it is rotated.
	DefaultAutoRenewAfter = 30 * time.Minute
)

// LoadSession returns the session middleware with the gateway plugin's
// defaults (its LoadSessionMiddleware): the id in cookie "session_id", a
// 2h cookie lifetime and server TTL, and auto-renewal after 30m. opts are
// applied after those defaults and can change any of them.
//
// Where the plugin's defaults are weaker than sessionmw's (HTTPOnly and
// Secure off), sessionmw's secure defaults stay: pass
// sessionmw.WithSecure(false) for plain-HTTP development.
func LoadSession(secretKey []byte, opts ...sessionmw.Option) (*sessionmw.Middleware, error) {
	defaults := []sessionmw.Option{
		sessionmw.WithKeyLookup(DefaultKeyLookup),
		sessionmw.WithMaxAge(DefaultExpiration),
		sessionmw.WithAutoRenew(DefaultAutoRenewAfter),
	}
	return sessionmw.New(secretKey, append(defaults, opts...)...)
}

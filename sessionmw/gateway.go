package sessionmw

import "time"

// Defaults of the gateway plugin's LoadSessionMiddleware, used by
// LoadSession.
const (
	// DefaultGatewayKeyLookup is where LoadSession looks for the id.
	DefaultGatewayKeyLookup = "cookie:session_id"
	// DefaultGatewayExpiration is the cookie lifetime and server TTL.
	DefaultGatewayExpiration = 2 * time.Hour
	// DefaultGatewayAutoRenewAfter is how old an id gets before it is
	// rotated.
	DefaultGatewayAutoRenewAfter = 30 * time.Minute
)

// LoadSession returns the session middleware with the gateway plugin's
// defaults (its LoadSessionMiddleware): the id in cookie "session_id", a
// 2h cookie lifetime and server TTL, and auto-renewal after 30m. opts are
// applied after those defaults and can change any of them.
//
// Where the plugin's defaults are weaker than sessionmw's (HTTPOnly and
// Secure off), sessionmw's secure defaults stay: pass WithSecure(false) for
// plain-HTTP development.
func LoadSession(secretKey []byte, opts ...Option) (*Middleware, error) {
	defaults := []Option{
		WithKeyLookup(DefaultGatewayKeyLookup),
		WithMaxAge(DefaultGatewayExpiration),
		WithAutoRenew(DefaultGatewayAutoRenewAfter),
	}
	return New(secretKey, append(defaults, opts...)...)
}

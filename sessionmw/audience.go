package sessionmw

import "fmt"

// WithAudience makes the middleware serve one audience (an application)
// of several that share a client and a store: each audience has its own
// cookies, "NAME-audience" for the session cookie NAME (default "sid")
// and for the remember-me cookie, and its own sessions, tagged with the
// audience so that no session of one audience is ever accepted by another.
// Logging out of one audience leaves the others; RevokeSubject revokes
// across all of them.
//
// A handler reaches the audience's manager with FromRequestNamed(r, name)
// and, unless WithSessionObject names it otherwise, with FromRequest (so
// Login and Authenticated work as without audiences): when several
// audience middlewares wrap one handler, FromRequest sees the innermost.
// With header or query key lookups, give each audience its own name: the
// audience does not rename them.
func WithAudience(name string) Option {
	return func(c *config) error {
		if err := validCookieName(name); err != nil {
			return fmt.Errorf("sessionmw: WithAudience: %w", err)
		}
		c.audience = name
		return nil
	}
}

// applyAudience names the audience's cookies.
func (c *config) applyAudience() error {
	if c.audience == "" {
		return nil
	}
	if c.cookieStorage {
		if last := c.audience[len(c.audience)-1]; last >= '0' && last <= '9' {
			// Chunk cookies are NAME2, NAME3, …: "sid-app" + "2" would be
			// the first cookie of audience "app2".
			return fmt.Errorf("sessionmw: WithAudience: %q ends in a digit, which cookie storage's chunk cookies (NAME2, NAME3, …) would clash with", c.audience)
		}
	}
	c.cookieName += "-" + c.audience
	if err := validCookieName(c.cookieName); err != nil {
		return fmt.Errorf("sessionmw: WithAudience: %w", err)
	}
	if c.remember != nil {
		c.remember.name += "-" + c.audience
		if err := validCookieName(c.remember.name); err != nil {
			return fmt.Errorf("sessionmw: WithAudience: %w", err)
		}
	}
	return nil
}

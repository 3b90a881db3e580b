package sessionmw

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Defaults of the options. Each can be changed with the With… option of the
// same name.
const (
	// DefaultCookieName is the session cookie's name, as in authx_extra.
	// For production, prefer "__Host-sid" (see WithSessionCookie).
	DefaultCookieName = "sid"
	// DefaultSessionObject names the request-context slot that holds the
	// *SessionManager (authx_extra's session_object).
	DefaultSessionObject = "session"
	// DefaultPath is the cookie's Path attribute. authx_extra sets none, so
	// browsers scope its cookie to the request's directory; "/" is what
	// users expect.
	DefaultPath = "/"
	// DefaultSameSite is the cookie's SameSite attribute.
	DefaultSameSite = http.SameSiteLaxMode
	// DefaultIdleTimeout is how long a session with MaxAge 0 (a
	// browser-session cookie) lives on the server after its last save.
	DefaultIdleTimeout = 2 * time.Hour
	// DefaultTouchInterval is the smallest gap between two saves caused by
	// reads alone: a request that only reads a session whose last save is
	// older than this refreshes its expiry (one store write and one
	// Set-Cookie); younger sessions cost no write at all.
	DefaultTouchInterval = time.Minute
	// DefaultRenewGrace is how long an id replaced by auto-renewal stays
	// readable, so that requests already in flight with the old cookie
	// keep their session (lua-resty-session's stale_ttl).
	DefaultRenewGrace = 10 * time.Second
	// MinSecretKeyLen is the shortest secret key New accepts, in bytes.
	MinSecretKeyLen = 32
)

// Option configures a Middleware. Options are validated by New, which
// returns an error naming the offending option.
type Option func(*config) error

// ErrorHandler answers a request whose session could not be loaded or
// saved because the store failed. err wraps the store's error.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

type skipRule struct {
	name  string // canonical header name
	value string // "*" matches any value
}

type config struct {
	store                           Store
	httpOnly                        bool
	secure                          bool
	maxAge                          time.Duration
	idleTimeout                     time.Duration
	touchInterval                   time.Duration
	cookieName                      string
	objectName                      string
	skip                            []skipRule
	logger                          *slog.Logger
	sameSite                        http.SameSite
	path                            string
	domain                          string
	partitioned                     bool
	errorHandler                    ErrorHandler
	fallbacks                       [][]byte
	lookup                          keyLookup
	renewAfter                      time.Duration // 0: no auto-renewal
	renewSet                        bool          // WithAutoRenew was given
	rolling                         time.Duration
	absolute                        time.Duration
	cookieStorage                   bool
	cookieChunks                    int
	revocations                     Store
	logout                          *logoutConfig
	anonymous                       string
	identityCheck                   IdentityCheck
	maxPerSubject                   int
	remember                        *rememberConfig
	audience                        string
	objectSet                       bool // WithSessionObject was given
	requestHeaders, responseHeaders []string
	renewGrace                      time.Duration
	stripForward                    bool
	events                          *Hooks
	strictValues                    bool
	bind                            Bind
	encryptAtRest, hashIDs          bool
	hashSubjects                    bool
	logEvery                        time.Duration
	logEverySet                     bool
}

func defaultConfig() config {
	return config{
		httpOnly:      true,
		secure:        true,
		idleTimeout:   DefaultIdleTimeout,
		touchInterval: DefaultTouchInterval,
		cookieName:    DefaultCookieName,
		objectName:    DefaultSessionObject,
		sameSite:      DefaultSameSite,
		path:          DefaultPath,
		renewGrace:    DefaultRenewGrace,
		cookieChunks:  DefaultCookieChunks,
	}
}

// WithStore keeps sessions in s. The default is a new MemoryIO per
// Middleware, stopped by Middleware.Close. WithStore and WithCookieStorage
// choose where sessions live: the last one given wins.
func WithStore(s Store) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("sessionmw: WithStore: nil store")
		}
		c.store, c.cookieStorage = s, false
		return nil
	}
}

// WithHTTPOnly sets the cookie's HttpOnly attribute (default true), which
// hides the cookie from JavaScript. Turning it off exposes the session id
// to any script injected into your pages.
func WithHTTPOnly(on bool) Option {
	return func(c *config) error { c.httpOnly = on; return nil }
}

// WithSecure sets the cookie's Secure attribute (default true), so browsers
// send it over HTTPS only. Turn it off for local development over plain
// HTTP only.
func WithSecure(on bool) Option {
	return func(c *config) error { c.secure = on; return nil }
}

// WithMaxAge sets the cookie's lifetime. 0, the default, makes a
// browser-session cookie (no Max-Age, no Expires) whose server-side record
// expires after the idle timeout. A positive duration, rounded up to whole
// seconds, is both the cookie's Max-Age and the server record's TTL,
// counted from the session's last save. It takes a time.Duration: a bare
// number is nanoseconds, so values under one second are refused.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sessionmw: WithMaxAge: negative duration %v", d)
		}
		if d > 0 && d < time.Second {
			return fmt.Errorf("sessionmw: WithMaxAge: %v is under one second; it takes a time.Duration (for an hour, write WithMaxAge(time.Hour) or 3600*time.Second, not 3600)", d)
		}
		c.maxAge = d
		return nil
	}
}

// WithIdleTimeout sets how long a session lives on the server after its
// last save when MaxAge is 0 (default DefaultIdleTimeout). It has no effect
// when MaxAge is positive. Server-side expiry is always enforced: there is
// no way to make a session live forever.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("sessionmw: WithIdleTimeout: %v is shorter than one second", d)
		}
		c.idleTimeout = d
		return nil
	}
}

// WithTouchInterval sets how stale a session's last save may get before a
// read-only request refreshes its expiry (default DefaultTouchInterval).
// Smaller values track idleness more precisely at the cost of more store
// writes; 0 refreshes on every request.
func WithTouchInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sessionmw: WithTouchInterval: negative duration %v", d)
		}
		c.touchInterval = d
		return nil
	}
}

// WithSessionCookie sets the cookie's name (authx_extra's session_cookie,
// default "sid"). A name starting with "__Host-" (recommended in
// production: the browser then only accepts it from a secure origin with
// Path=/ and no Domain) requires Secure, Path "/" and no Domain; one
// starting with "__Secure-" requires Secure. New enforces both. Names are
// HTTP tokens of at most 256 bytes, so that the cookie stays within the
// 4096 bytes browsers keep.
func WithSessionCookie(name string) Option {
	return func(c *config) error {
		if err := validCookieName(name); err != nil {
			return fmt.Errorf("sessionmw: WithSessionCookie: %w", err)
		}
		c.cookieName = name
		c.lookup = keyLookup{fromCookie, name}
		return nil
	}
}

// WithAutoRenew turns on automatic id rotation (the gateway plugin's
// AutoRenewAfter; off by default in New, 30m in LoadSession): the first
// request on a session whose id was issued more than after ago moves the
// session to a new id with a fresh expiry and sends the new id back. The
// old id stays readable for the grace period (WithRenewGrace), pointing to
// the new one, so concurrent requests that still carry it are served the
// same session; after that it is gone. Renewal is driven by metadata the
// middleware keeps in the store, so it works the same on every store.
func WithAutoRenew(after time.Duration) Option {
	return func(c *config) error {
		if after < 0 {
			return fmt.Errorf("sessionmw: WithAutoRenew: negative duration %v", after)
		}
		c.renewAfter, c.renewSet = after, true
		return nil
	}
}

// WithRenewGrace sets how long an id replaced by auto-renewal stays
// readable (default DefaultRenewGrace).
func WithRenewGrace(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond || d > time.Hour {
			return fmt.Errorf("sessionmw: WithRenewGrace: %v is outside 1ms..1h", d)
		}
		c.renewGrace = d
		return nil
	}
}

// WithSessionObject names the request-context slot that holds the session
// manager (authx_extra's session_object, default "session"). Give two
// middlewares on one handler different names, e.g. "session" and "admin";
// a handler reaches the default one with FromRequest and any other with
// FromRequestNamed(r, "admin"). An inner middleware with the same name
// hides the outer one.
func WithSessionObject(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("sessionmw: WithSessionObject: empty name")
		}
		c.objectName, c.objectSet = name, true
		return nil
	}
}

// WithSkipHeader adds a rule that lets a request bypass sessions entirely
// (authx_extra's skip_session_header), e.g. for health checks: a request
// carrying header name with the given value (or any value when value is
// "*") gets no session, no cookie and causes no store access. Names match
// case-insensitively, values exactly. The option may be given several
// times; any matching rule skips.
func WithSkipHeader(name, value string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			return fmt.Errorf("sessionmw: WithSkipHeader: invalid header name %q", name)
		}
		if value == "" {
			return fmt.Errorf("sessionmw: WithSkipHeader: empty value for %q (use \"*\" to match any value)", name)
		}
		c.skip = append(c.skip, skipRule{name: http.CanonicalHeaderKey(name), value: value})
		return nil
	}
}

// WithSameSite sets the cookie's SameSite attribute (default Lax).
// http.SameSiteNoneMode requires Secure.
func WithSameSite(s http.SameSite) Option {
	return func(c *config) error {
		switch s {
		case http.SameSiteDefaultMode, http.SameSiteLaxMode, http.SameSiteStrictMode, http.SameSiteNoneMode:
		default:
			return fmt.Errorf("sessionmw: WithSameSite: unknown mode %d", s)
		}
		c.sameSite = s
		return nil
	}
}

// WithPath sets the cookie's Path attribute (default "/"), at most 1024
// bytes (browsers ignore a longer one).
func WithPath(p string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, ";\r\n") {
			return fmt.Errorf("sessionmw: WithPath: %q must start with / and contain no ';'", p)
		}
		if len(p) > maxAttributeLen {
			return fmt.Errorf("sessionmw: WithPath: path is %d bytes; browsers ignore a Path over %d", len(p), maxAttributeLen)
		}
		c.path = p
		return nil
	}
}

// WithDomain sets the cookie's Domain attribute (default none: the cookie
// goes back to the exact host that set it, which is the safer choice).
func WithDomain(d string) Option {
	return func(c *config) error {
		if strings.ContainsAny(d, "; \t\r\n") {
			return fmt.Errorf("sessionmw: WithDomain: invalid domain %q", d)
		}
		if len(d) > maxAttributeLen {
			return fmt.Errorf("sessionmw: WithDomain: domain is %d bytes; browsers ignore a Domain over %d", len(d), maxAttributeLen)
		}
		c.domain = d
		return nil
	}
}

// WithPartitioned sets the cookie's Partitioned attribute (CHIPS), for
// sessions inside third-party iframes. It requires Secure.
func WithPartitioned(on bool) Option {
	return func(c *config) error { c.partitioned = on; return nil }
}

// WithErrorHandler sets what answers a request when the store fails while
// loading or saving its session. The default logs the error and answers 503
// for ErrStoreUnavailable, ErrStoreFull and timeouts, 500 otherwise. Store
// failures are never turned into a silently fresh session.
func WithErrorHandler(h ErrorHandler) Option {
	return func(c *config) error {
		if h == nil {
			return fmt.Errorf("sessionmw: WithErrorHandler: nil handler")
		}
		c.errorHandler = h
		return nil
	}
}

// WithSecretFallbacks adds retired secret keys, for key rotation: a cookie
// signed with one of them is still accepted and is re-issued under the
// current key on the same response. Remove a key from the list to refuse
// cookies signed with it. Each key obeys the same rules as the main one.
func WithSecretFallbacks(keys ...[]byte) Option {
	return func(c *config) error {
		for i, k := range keys {
			if err := checkSecret(k); err != nil {
				return fmt.Errorf("sessionmw: WithSecretFallbacks: key %d: %w", i, err)
			}
		}
		c.fallbacks = append(c.fallbacks, keys...)
		return nil
	}
}

func checkSecret(k []byte) error {
	if len(k) < MinSecretKeyLen {
		return fmt.Errorf("secret key is %d bytes; at least %d are required (generate 32 random bytes)", len(k), MinSecretKeyLen)
	}
	return nil
}

// maxCookieNameLen bounds cookie names. Browsers allow 4096 bytes for a
// cookie's name and value together; a name this short leaves room for any
// value the middleware sends (a signed id, a remember token, a chunk of
// cookie storage) and for the attributes.
const maxCookieNameLen = 256

// maxAttributeLen bounds the Path and Domain attributes: browsers ignore
// an attribute value longer than 1024 bytes (RFC 6265bis, section 5.6),
// which would silently widen a cookie meant for one path or domain.
const maxAttributeLen = 1024

// validCookieName reports whether name is an RFC 6265 cookie-name (an HTTP
// token) of at most maxCookieNameLen bytes.
func validCookieName(name string) error {
	if name == "" {
		return fmt.Errorf("empty cookie name")
	}
	if len(name) > maxCookieNameLen {
		return fmt.Errorf("cookie name %.16q… is %d bytes, over the %d-byte limit", name, len(name), maxCookieNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("cookie name %q contains invalid character %q", name, name[i])
		}
	}
	return nil
}

func isTokenChar(b byte) bool {
	if b <= ' ' || b >= 0x7f {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(b))
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case: browsers match
// the __Host- and __Secure- cookie prefixes case-insensitively.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validate checks the combinations of options.
func (c *config) validate() error {
	switch {
	case hasPrefixFold(c.cookieName, "__Host-") && !c.secure:
		return fmt.Errorf("sessionmw: WithSessionCookie: %q needs WithSecure(true)", c.cookieName)
	case hasPrefixFold(c.cookieName, "__Host-") && c.path != "/":
		return fmt.Errorf("sessionmw: WithSessionCookie: %q needs WithPath(\"/\"), not %q", c.cookieName, c.path)
	case hasPrefixFold(c.cookieName, "__Host-") && c.domain != "":
		return fmt.Errorf("sessionmw: WithSessionCookie: %q must not have WithDomain(%q)", c.cookieName, c.domain)
	case hasPrefixFold(c.cookieName, "__Secure-") && !c.secure:
		return fmt.Errorf("sessionmw: WithSessionCookie: %q needs WithSecure(true)", c.cookieName)
	case c.sameSite == http.SameSiteNoneMode && !c.secure:
		return fmt.Errorf("sessionmw: WithSameSite: SameSite=None needs WithSecure(true); browsers drop such cookies")
	case c.cookieStorage && c.lookup.source != fromCookie:
		return fmt.Errorf("sessionmw: WithCookieStorage: needs a cookie KeyLookup, not %q", c.lookup)
	case c.partitioned && !c.secure:
		return fmt.Errorf("sessionmw: WithPartitioned: Partitioned needs WithSecure(true)")
	}
	return nil
}

// ttl is how long a record lives after its last save.
func (c *config) ttl() time.Duration {
	if c.maxAge > 0 {
		return c.maxAge
	}
	return c.idleTimeout
}

// cookieMaxAge is the Max-Age attribute in seconds (0: none).
func (c *config) cookieMaxAge() int {
	if c.maxAge <= 0 {
		return 0
	}
	return int((c.maxAge + time.Second - 1) / time.Second)
}

// WithStrictValues makes Session.Set panic on a value that would not come
// back unchanged from a store that serialises values (an unregistered
// struct, a pointer, a type gob cannot encode), whatever store this
// middleware uses. Turn it on in tests and development, so that a value
// that works on MemoryIO is not found broken only in production on Redis.
func WithStrictValues(on bool) Option {
	return func(c *config) error { c.strictValues = on; return nil }
}

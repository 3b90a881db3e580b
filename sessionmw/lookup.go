package sessionmw

import (
	"fmt"
	"net/http"
	"strings"
)

// Where the session id travels, set with WithKeyLookup.
type lookupSource uint8

const (
	fromCookie lookupSource = iota
	fromHeader
	fromQuery
)

type keyLookup struct {
	source lookupSource
	name   string // cookie name, canonical header name, or query parameter
}

func (k keyLookup) String() string {
	return [...]string{"cookie", "header", "query"}[k.source] + ":" + k.name
}

// reservedHeaders cannot carry an id: net/http or proxies consume or
// rewrite them.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Keep-Alive": true, "Te": true, "Trailer": true, "Upgrade": true,
	"Cookie": true, "Set-Cookie": true, "Content-Type": true, "Expect": true,
}

// quotedMarker stands for a quoted cookie value: it never verifies.
const quotedMarker = "\x00quoted"

// parseKeyLookup parses "cookie:NAME", "header:NAME" or "query:NAME".
func parseKeyLookup(spec string) (keyLookup, error) {
	src, name, ok := strings.Cut(spec, ":")
	if !ok {
		return keyLookup{}, fmt.Errorf("%q is not SOURCE:NAME (cookie:NAME, header:NAME or query:NAME)", spec)
	}
	if name == "" {
		return keyLookup{}, fmt.Errorf("%q names no %s", spec, src)
	}
	switch src {
	case "cookie":
		if err := validCookieName(name); err != nil {
			return keyLookup{}, fmt.Errorf("%q: %w", spec, err)
		}
		return keyLookup{fromCookie, name}, nil
	case "header":
		for i := 0; i < len(name); i++ {
			if !isTokenChar(name[i]) {
				return keyLookup{}, fmt.Errorf("%q: header name contains invalid character %q", spec, name[i])
			}
		}
		canon := http.CanonicalHeaderKey(name)
		if reservedHeaders[canon] || strings.HasPrefix(canon, "Proxy-") {
			return keyLookup{}, fmt.Errorf("%q: %s is a framing, hop-by-hop or cookie header and cannot carry a session id", spec, canon)
		}
		return keyLookup{fromHeader, canon}, nil
	case "query":
		if strings.ContainsAny(name, "&=#? ") {
			return keyLookup{}, fmt.Errorf("%q: query parameter name contains a reserved character", spec)
		}
		return keyLookup{fromQuery, name}, nil
	}
	return keyLookup{}, fmt.Errorf("%q: unknown source %q (want cookie, header or query)", spec, src)
}

// WithKeyLookup sets where the signed session id travels (the gateway
// plugin's KeyLookup):
//
//   - "cookie:NAME" (default "cookie:sid"; the same as WithSessionCookie(NAME)).
//   - "header:NAME": the client sends the id in request header NAME, and new
//     or renewed ids come back in the response header of the same name; for
//     API clients that do not keep cookies.
//   - "query:NAME": the id is read from the URL query parameter NAME and is
//     never echoed back, so this source can only resume sessions whose id
//     the client got some other way. Ids in URLs leak through logs, browser
//     history and Referer headers: prefer a cookie or a header.
//
// Whatever the source, the value must be a signed id produced by this
// middleware's key; anything else gives a fresh session.
func WithKeyLookup(spec string) Option {
	return func(c *config) error {
		k, err := parseKeyLookup(spec)
		if err != nil {
			return fmt.Errorf("sessionmw: WithKeyLookup: %w", err)
		}
		c.lookup = k
		if k.source == fromCookie {
			c.cookieName = k.name
		}
		return nil
	}
}

// each calls yield with each value the request offers as its session id,
// in order of preference, until yield returns false.
func (k keyLookup) each(r *http.Request, yield func(string) bool) {
	switch k.source {
	case fromHeader:
		for _, v := range r.Header[k.name] {
			if !yield(v) {
				return
			}
		}
		return
	case fromQuery:
		if r.URL.RawQuery == "" {
			return
		}
		for _, v := range r.URL.Query()[k.name] {
			if !yield(v) {
				return
			}
		}
		return
	}
	each := func(v string, quoted bool) bool {
		if quoted {
			// Quoted values are another spelling of the same bytes; the
			// encoder never quotes, so they never verify.
			v = quotedMarker
		}
		return yield(v)
	}
	if scanCookies(r.Header, k.name, each) {
		return
	}
	for _, c := range r.CookiesNamed(k.name) {
		if !each(c.Value, c.Quoted) {
			return
		}
	}
}

// deliver sends the signed id (or, with value "" and expire, its removal)
// back to the client through the lookup's channel.
func (mw *Middleware) deliver(h http.Header, value string, expire bool) {
	switch mw.cfg.lookup.source {
	case fromQuery:
		return // never echo an id into a URL-borne channel
	case fromHeader:
		h.Set(mw.cfg.lookup.name, value)
		noStore(h)
		return
	}
	maxAge := mw.cfg.cookieMaxAge()
	if expire {
		maxAge = -1
	}
	mw.setCookie(h, value, maxAge)
}

// varyOn is the request header a response depends on when it loaded a session.
func (k keyLookup) varyOn() string {
	switch k.source {
	case fromHeader:
		return k.name
	case fromQuery:
		return ""
	}
	return "Cookie"
}

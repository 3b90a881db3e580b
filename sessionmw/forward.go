package sessionmw

import (
	"net/http"
	"net/url"
	"strings"
)

// WithDisableSessionForward keeps the session's credentials from the next
// handler (default false): on every request, skipped ones included, the
// session credential (the cookie, or the header or query parameter named
// by WithKeyLookup), the cookie-storage chunk cookies and the remember-me
// cookie are removed from the request it gets, and so are client-sent
// Session-* headers. Every other cookie, header and query parameter stays
// exactly as the client sent it (the query string byte for byte). Enable
// it in a gateway in front of upstreams that must never see, log or
// replay users' credentials.
func WithDisableSessionForward(on bool) Option {
	return func(c *config) error { c.stripForward = on; return nil }
}

// installForwarding attaches credential stripping to every request.
func installForwarding(mw *Middleware, _ [][]byte) error {
	cfg := &mw.cfg
	if !cfg.stripForward {
		return nil
	}
	var cookies []string // names of every cookie the middleware issues
	if cfg.lookup.source == fromCookie {
		cookies = append(cookies, cfg.cookieName)
	}
	if cfg.cookieStorage {
		for i := 2; i <= cfg.cookieChunks; i++ {
			cookies = append(cookies, chunkName(cfg.cookieName, i))
		}
	}
	if cfg.remember != nil {
		cookies = append(cookies, cfg.remember.name)
	}
	lookup := cfg.lookup
	mw.hooks.request = append(mw.hooks.request, func(_ *Middleware, r *http.Request) {
		switch lookup.source {
		case fromHeader:
			if _, ok := r.Header[lookup.name]; ok {
				r.Header = r.Header.Clone()
				delete(r.Header, lookup.name)
			}
		case fromQuery:
			stripQuery(r, lookup.name)
		}
		stripCookies(r, cookies)
	})
	return nil
}

// stripCookies removes the cookies called one of names from r's Cookie
// header lines (r must be a private copy; its Header is cloned before any
// change). Other cookies stay, in order.
func stripCookies(r *http.Request, names []string) {
	if len(names) == 0 || len(r.Header["Cookie"]) == 0 {
		return
	}
	strip := func(part string) bool {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		for _, n := range names {
			if strings.TrimSpace(name) == n {
				return true
			}
		}
		return false
	}
	lines := r.Header["Cookie"]
	changed := false
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if strip(part) {
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	var kept []string
	for _, line := range lines {
		var parts []string
		for part := range strings.SplitSeq(line, ";") {
			if p := strings.TrimSpace(part); p != "" && !strip(part) {
				parts = append(parts, p)
			}
		}
		if len(parts) > 0 {
			kept = append(kept, strings.Join(parts, "; "))
		}
	}
	r.Header = r.Header.Clone()
	if len(kept) == 0 {
		delete(r.Header, "Cookie")
	} else {
		r.Header["Cookie"] = kept
	}
}

// stripQuery removes every query parameter called name from r's URL (r
// must be a private copy), keeping the rest of the raw query byte for
// byte: a re-encoded query would break signed URLs. Names are compared
// after unescaping, as url.Values sees them.
func stripQuery(r *http.Request, name string) {
	raw := r.URL.RawQuery
	if raw == "" {
		return
	}
	var kept []string
	changed := false
	for pair := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if key, err := url.QueryUnescape(k); err == nil && key == name {
			changed = true
			continue
		}
		kept = append(kept, pair)
	}
	if !changed {
		return
	}
	u := *r.URL
	u.RawQuery = strings.Join(kept, "&")
	u.ForceQuery = false
	r.URL = &u
	if path, _, ok := strings.Cut(r.RequestURI, "?"); ok {
		r.RequestURI = path
		if u.RawQuery != "" {
			r.RequestURI += "?" + u.RawQuery
		}
	}
}

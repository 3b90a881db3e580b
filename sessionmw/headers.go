package sessionmw

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Session headers, Kong's request_headers and response_headers: opt-in
// facts about the session for the upstream (request) or the client
// (response). Timeouts are the seconds left until each deadline;
// "timeout" is the earliest of them.
var sessionHeaderNames = map[string]string{
	"id":               "Session-Id",
	"audience":         "Session-Audience",
	"subject":          "Session-Subject",
	"timeout":          "Session-Timeout",
	"idling-timeout":   "Session-Idling-Timeout",
	"rolling-timeout":  "Session-Rolling-Timeout",
	"absolute-timeout": "Session-Absolute-Timeout",
}

func parseHeaderFields(opt string, fields []string) ([]string, error) {
	if len(fields) == 0 {
		return nil, fmt.Errorf("sessionmw: %s: no fields", opt)
	}
	for _, f := range fields {
		if _, ok := sessionHeaderNames[f]; !ok {
			return nil, fmt.Errorf("sessionmw: %s: unknown field %q (want id, audience, subject, timeout, idling-timeout, rolling-timeout or absolute-timeout)", opt, f)
		}
	}
	return fields, nil
}

// WithRequestHeaders sets request headers for the next handler from the
// session (Kong's request_headers): any of "id", "audience", "subject",
// "timeout", "idling-timeout", "rolling-timeout", "absolute-timeout", as
// Session-Id, Session-Audience, … . Client-sent headers of those names are
// always removed first. "id" hands the session id to the upstream: only
// for upstreams you trust with it.
func WithRequestHeaders(fields ...string) Option {
	return func(c *config) error {
		f, err := parseHeaderFields("WithRequestHeaders", fields)
		c.requestHeaders = f
		return err
	}
}

// WithResponseHeaders sets the same headers on responses (Kong's
// response_headers).
func WithResponseHeaders(fields ...string) Option {
	return func(c *config) error {
		f, err := parseHeaderFields("WithResponseHeaders", fields)
		c.responseHeaders = f
		return err
	}
}

// installSessionHeaders attaches Session-* headers: client-sent copies
// are removed from every request (whenever request headers are configured
// or forwarding is disabled), the upstream gets the configured request
// headers, the client the configured response headers.
func installSessionHeaders(mw *Middleware, _ [][]byte) error {
	cfg := &mw.cfg
	if len(cfg.requestHeaders) > 0 || cfg.stripForward {
		mw.hooks.request = append(mw.hooks.request, stripSessionHeaders)
	}
	if fields := cfg.requestHeaders; len(fields) > 0 {
		mw.hooks.upstream = append(mw.hooks.upstream, func(m *SessionManager, r *http.Request) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.has(fStored) {
				// r shares its header map with the caller's request until
				// something cloned it: write into a copy of its own.
				r.Header = r.Header.Clone()
				m.sessionHeaders(r.Header, fields, m.mw.now())
			}
		})
	}
	if fields := cfg.responseHeaders; len(fields) > 0 {
		mw.hooks.committed = append(mw.hooks.committed, func(m *SessionManager, h http.Header) {
			if m.has(fStored) {
				m.sessionHeaders(h, fields, m.mw.now())
			}
		})
	}
	return nil
}

// sessionHeaders writes the fields of the session into h.
func (m *SessionManager) sessionHeaders(h http.Header, fields []string, now int64) {
	mw, meta, id := m.mw, m.meta, m.id
	secs := func(deadline int64) string {
		// Whole seconds left, rounded up: a fresh 900 s session says 900.
		return strconv.FormatInt(max(0, (deadline-now+int64(time.Second)-1)/int64(time.Second)), 10)
	}
	idling := meta.Saved + int64(mw.ttl)
	earliest := idling
	rolling, absolute := int64(0), int64(0)
	if mw.cfg.rolling > 0 {
		rolling = meta.Issued + int64(mw.cfg.rolling)
		earliest = min(earliest, rolling)
	}
	if mw.cfg.absolute > 0 {
		absolute = meta.Created + int64(mw.cfg.absolute)
		earliest = min(earliest, absolute)
	}
	for _, f := range fields {
		name := sessionHeaderNames[f]
		var v string
		switch f {
		case "id":
			v = id
		case "audience":
			v = meta.Audience
		case "subject":
			v = meta.Subject
		case "timeout":
			v = secs(earliest)
		case "idling-timeout":
			v = secs(idling)
		case "rolling-timeout":
			if rolling != 0 {
				v = secs(rolling)
			}
		case "absolute-timeout":
			if absolute != 0 {
				v = secs(absolute)
			}
		}
		if v != "" {
			h.Set(name, v)
		}
	}
}

// stripSessionHeaders removes client-sent Session-* headers from r (a
// private copy), whatever fields are configured: the upstream must be
// able to trust every Session-* header it receives.
func stripSessionHeaders(_ *Middleware, r *http.Request) {
	cloned := false
	for _, name := range sessionHeaderNames {
		if _, ok := r.Header[name]; ok {
			if !cloned {
				r.Header = r.Header.Clone()
				cloned = true
			}
			delete(r.Header, name)
		}
	}
}

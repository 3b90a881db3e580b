package sessionmw

import (
	"net/http"
	"net/textproto"
	"strings"
	"sync"
)

// scanCookieMax is the most cookies a request may carry for scanCookies to
// read them itself; above it, it leaves the request to net/http.
const scanCookieMax = 100

// scanCookies calls yield with the value of every cookie called name in
// h's Cookie lines, in order, exactly as (*http.Request).CookiesNamed
// would return them (value unquoted, and whether it was quoted) but
// without allocating. It reports false, having called nothing, when it
// cannot vouch for giving net/http's answer: over scanCookieMax cookies,
// net/http applies a limit that GODEBUG=httpcookiemaxnum can lower, so
// the caller must ask net/http. name must be a valid cookie name (a
// token).
//
// FuzzScanCookiesMatchesNetHTTP holds it to net/http's answers.
func scanCookies(h http.Header, name string, yield func(value string, quoted bool) bool) bool {
	lines := h["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > scanCookieMax || !netHTTPReadsScanCookieMax() {
		return false
	}
	for _, line := range lines {
		line = textproto.TrimString(line)
		var part string
		for len(line) > 0 {
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if textproto.TrimString(k) != name {
				continue // name is a token, so a match is one too
			}
			v, quoted, ok := unquoteCookieValue(v)
			if !ok {
				continue
			}
			if !yield(v, quoted) {
				return true
			}
		}
	}
	return true
}

// unquoteCookieValue is net/http's parseCookieValue for request cookies:
// surrounding double quotes are dropped, and every byte must be allowed.
func unquoteCookieValue(raw string) (v string, quoted, ok bool) {
	if len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw, quoted = raw[1:len(raw)-1], true
	}
	for i := 0; i < len(raw); i++ {
		if b := raw[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return "", quoted, false
		}
	}
	return raw, quoted, true
}

// netHTTPReadsScanCookieMax reports whether net/http reads a Cookie
// header of scanCookieMax cookies (false if GODEBUG=httpcookiemaxnum set a
// lower limit when the program started), probing once.
var netHTTPReadsScanCookieMax = sync.OnceValue(func() bool {
	line := strings.Repeat("a=b;", scanCookieMax-1) + "a=b"
	_, err := http.ParseCookie(line)
	return err == nil
})

package gateway

import (
	"net/url"
	"strings"
)

// param is one decoded query parameter.
type param struct{ name, value string }

// queryParams scans a raw query string for the parameters whose decoded
// name satisfies isKey. It returns them decoded, in order, and, when strip
// is true, the query without them: every other parameter is kept byte for
// byte and in order. Parameters url.ParseQuery skips (one with a
// semicolon or a bad escape) are neither matched nor removed.
func queryParams(raw string, isKey func(string) bool, strip bool) (found []param, rest string) {
	if raw == "" {
		return nil, raw
	}
	var b strings.Builder
	removed, kept := false, 0
	for seg := range strings.SplitSeq(raw, "&") {
		if p, ok := matchParam(seg, isKey); ok {
			found = append(found, p)
			if strip {
				removed = true
				continue
			}
		}
		if strip {
			if kept > 0 {
				b.WriteByte('&')
			}
			b.WriteString(seg)
			kept++
		}
	}
	if !removed {
		return found, raw
	}
	return found, b.String()
}

// matchParam decodes one key=value segment as url.ParseQuery does.
func matchParam(seg string, isKey func(string) bool) (param, bool) {
	if seg == "" || strings.Contains(seg, ";") {
		return param{}, false
	}
	k, v, _ := strings.Cut(seg, "=")
	k, err := url.QueryUnescape(k)
	if err != nil || !isKey(k) {
		return param{}, false
	}
	v, err = url.QueryUnescape(v)
	if err != nil {
		return param{}, false
	}
	return param{k, v}, true
}

package sessionmw

import "net/http"

// skipped reports whether a WithSkipHeader rule matches r.
func (mw *Middleware) skipped(r *http.Request) bool {
	for _, rule := range mw.cfg.skip {
		vals := r.Header[rule.name]
		if len(vals) == 0 {
			continue
		}
		if rule.value == "*" {
			return true
		}
		for _, v := range vals {
			if v == rule.value {
				return true
			}
		}
	}
	return false
}

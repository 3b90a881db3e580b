package sessionmw

import (
	"sync"
	"time"
)

// SetClock makes mw read time from now, for tests that move time on every
// store (an injected clock reaches the stores through loadAt and saveAt;
// a Redis record's own TTL keeps real time, which a clock that never runs
// behind the real one cannot get ahead of).
func SetClock(mw *Middleware, now func() time.Time) { mw.clock = now }

// IDOf returns the session id in a session cookie's value, or "".
func IDOf(mw *Middleware, value string) string {
	id, _, _, err := mw.ids.decodeAt(mw.cfg.cookieName, value, mw.now()/int64(time.Second))
	if err != nil {
		return ""
	}
	return id
}

// CookieName is the session cookie's name after every option applied.
func CookieName(mw *Middleware) string { return mw.cfg.cookieName }

// ResetOrphanWarning lets the next orphan write warn again.
func ResetOrphanWarning() { orphanWarning = sync.Once{} }

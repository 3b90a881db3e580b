package sessionmw

import (
	"fmt"
	"time"
)

// The timeout model. A session ends at the earliest of three deadlines,
// each enforced on the server from metadata the middleware keeps (and, in
// cookie storage, inside the encrypted cookie, so a client cannot move
// them):
//
//   - idle: last save or touch + the idle TTL, which is WithMaxAge when it
//     is positive and WithIdleTimeout otherwise (Kong's idling_timeout).
//     Saves and throttled touches move it.
//   - rolling: id issue time + WithRollingTimeout (Kong's rolling_timeout).
//     Only a renewal (auto-renew, RenewID, a new session) moves it.
//   - absolute: creation time + WithAbsoluteTimeout (Kong's
//     absolute_timeout). Nothing moves it; renewals keep the creation time.
//
// Store records get a TTL that ends at that earliest deadline.
//
// With a rolling timeout and no explicit WithAutoRenew, ids are renewed
// on the first request after half the rolling timeout, so an active
// session rolls on until its absolute timeout. An explicit WithAutoRenew
// wins; one that is not shorter than the rolling timeout is a
// configuration error, and WithAutoRenew(0) lets sessions end at the
// rolling timeout.

// WithRollingTimeout limits how long one id stays valid after it was
// issued (default 0: no limit; 1h in KongPreset). Renewal issues a new id
// and so starts the rolling timeout again.
func WithRollingTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d != 0 && d < time.Second {
			return fmt.Errorf("sessionmw: WithRollingTimeout: %v is neither 0 nor at least one second", d)
		}
		c.rolling = d
		return nil
	}
}

// WithAbsoluteTimeout limits a session's whole life since it was created,
// renewals included (default 0: no limit; 24h in KongPreset). Use it to
// force a fresh login once a day, whatever the activity.
func WithAbsoluteTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d != 0 && d < time.Second {
			return fmt.Errorf("sessionmw: WithAbsoluteTimeout: %v is neither 0 nor at least one second", d)
		}
		c.absolute = d
		return nil
	}
}

// resolveTimeouts applies the defaults that depend on several options.
func (c *config) resolveTimeouts() error {
	if c.rolling > 0 {
		switch {
		case !c.renewSet:
			c.renewAfter = c.rolling / 2
		case c.renewAfter >= c.rolling:
			return fmt.Errorf("sessionmw: WithAutoRenew: %v is not shorter than WithRollingTimeout(%v); sessions would end before they renew", c.renewAfter, c.rolling)
		}
	}
	return nil
}

// whyFuture is expired's answer for metadata from the future: not an end
// but a forgery or a broken clock.
const whyFuture = "timestamps from the future"

// expired reports why meta's session has ended at now, or "".
func (mw *Middleware) expired(meta *Meta, now int64) string {
	switch {
	case meta.Saved-now > int64(MaxClockSkew) || meta.Created-now > int64(MaxClockSkew):
		return whyFuture
	case meta.Saved != 0 && now-meta.Saved >= int64(mw.ttl):
		return "idle timeout"
	case mw.cfg.rolling > 0 && meta.Issued != 0 && now-meta.Issued >= int64(mw.cfg.rolling):
		return "rolling timeout"
	case mw.cfg.absolute > 0 && meta.Created != 0 && now-meta.Created >= int64(mw.cfg.absolute):
		return "absolute timeout"
	case meta.Deadline != 0 && now >= meta.Deadline:
		return "deadline"
	}
	return ""
}

// recordTTL is how long a record saved at now with meta may live: until
// its earliest deadline. It is not positive when the session is over.
func (mw *Middleware) recordTTL(meta *Meta, now int64) time.Duration {
	ttl := mw.ttl
	if mw.cfg.rolling > 0 {
		ttl = min(ttl, time.Duration(meta.Issued+int64(mw.cfg.rolling)-now))
	}
	if mw.cfg.absolute > 0 {
		ttl = min(ttl, time.Duration(meta.Created+int64(mw.cfg.absolute)-now))
	}
	if meta.Deadline != 0 {
		ttl = min(ttl, time.Duration(meta.Deadline-now))
	}
	return ttl
}

package sessionmw

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Remember-me (Kong's remember, remember_cookie_name,
// remember_rolling_timeout and remember_absolute_timeout): after Login, a
// second, persistent cookie carries an encrypted token of the identity.
// When the browser-session cookie is gone (the browser was closed) or its
// session ended, a request with a valid remember cookie gets a new session
// with that identity, and the token's rolling timeout starts again. The
// token is revoked with its session: Destroy deletes its server record
// (server storage) or lists it in the revocation store (cookie storage;
// without one, a remember cookie replayed after logout stays valid until
// its timeouts, as for cookie sessions). It restores the login, not the
// session's other values.

// Defaults of remember-me (Kong's).
const (
	DefaultRememberCookie   = "remember"
	DefaultRememberRolling  = 7 * 24 * time.Hour
	DefaultRememberAbsolute = 30 * 24 * time.Hour
)

const rememberInfo = "sessionmw v1 remember-me token"

type rememberConfig struct {
	name              string
	rolling, absolute time.Duration
}

// WithRemember turns remember-me on, with a rolling timeout (since the
// token was last used) and an absolute one (since Login). Zero durations
// take Kong's defaults, 7 and 30 days.
func WithRemember(rolling, absolute time.Duration) Option {
	return func(c *config) error {
		if rolling == 0 {
			rolling = DefaultRememberRolling
		}
		if absolute == 0 {
			absolute = DefaultRememberAbsolute
		}
		if rolling < time.Second || absolute < rolling {
			return fmt.Errorf("sessionmw: WithRemember: want 1s <= rolling (%v) <= absolute (%v)", rolling, absolute)
		}
		name := DefaultRememberCookie
		if c.remember != nil {
			name = c.remember.name
		}
		c.remember = &rememberConfig{name: name, rolling: rolling, absolute: absolute}
		return nil
	}
}

// WithRememberCookie names the remember-me cookie (default "remember") and
// turns remember-me on.
func WithRememberCookie(name string) Option {
	return func(c *config) error {
		if err := validCookieName(name); err != nil {
			return fmt.Errorf("sessionmw: WithRememberCookie: %w", err)
		}
		if c.remember == nil {
			c.remember = &rememberConfig{rolling: DefaultRememberRolling, absolute: DefaultRememberAbsolute}
		}
		c.remember.name = name
		return nil
	}
}

func rememberKey(rid string) string { return "remember:" + rid }

// tryRemember restores a login from the request's remember cookie when it
// has no live session.
func (m *SessionManager) tryRemember(r *http.Request) error {
	mw := m.mw
	rc := mw.cfg.remember
	if rc == nil || m.found {
		return nil
	}
	rid, rec, _, err := mw.remembers.open(rc.name, r)
	if len(r.CookiesNamed(rc.name)) > 0 {
		m.hadRemember = true
	}
	if err != nil || rec == nil {
		if err != nil {
			mw.log.LogAttrs(r.Context(), slog.LevelWarn, "invalid remember-me cookie ignored", slog.String("reason", err.Error()))
		}
		return nil
	}
	now := time.Now().UnixNano()
	meta := rec.Meta
	switch {
	case now-meta.Saved >= int64(rc.rolling), now-meta.Created >= int64(rc.absolute):
		mw.log.LogAttrs(r.Context(), slog.LevelInfo, "remember-me token expired")
		return nil
	case meta.Audience != mw.cfg.audience:
		return nil
	}
	live, err := mw.rememberLive(r, rid)
	if err != nil || !live {
		if !live && err == nil {
			mw.log.LogAttrs(r.Context(), slog.LevelWarn, "revoked remember-me token replayed", slog.String("remote", r.RemoteAddr))
		}
		return err
	}
	m.remember = &rememberToken{id: rid, meta: meta}
	m.setMetaLocked(Meta{Created: now, Issued: now, Saved: now, Subject: meta.Subject, Credential: meta.Credential, Groups: meta.Groups, Audience: mw.cfg.audience, Remember: rid})
	m.renew, m.restored = true, true
	mw.log.LogAttrs(r.Context(), slog.LevelInfo, "session restored from remember-me token")
	return nil
}

// rememberLive reports whether the token rid was not revoked.
func (mw *Middleware) rememberLive(r *http.Request, rid string) (bool, error) {
	if mw.cookies == nil {
		rec, err := mw.store.Load(r.Context(), rememberKey(rid))
		if err != nil {
			return false, fmt.Errorf("sessionmw: load remember-me token: %w", err)
		}
		return rec != nil, nil
	}
	if mw.cfg.revocations == nil {
		return true, nil
	}
	rec, err := mw.cfg.revocations.Load(r.Context(), revocationKey(rid))
	if err != nil {
		return false, fmt.Errorf("sessionmw: revocation check: %w", err)
	}
	return rec == nil, nil
}

// issueRememberLocked sends the remember cookie for the session's token,
// creating the token at login, or extending it after a restore.
func (m *SessionManager) issueRememberLocked(h http.Header) error {
	mw := m.mw
	rc := mw.cfg.remember
	rid := m.meta.Remember
	if rc == nil || rid == "" || h == nil {
		return nil
	}
	now := time.Now().UnixNano()
	var meta Meta
	if m.remember != nil && m.remember.id == rid {
		meta = m.remember.meta
	} else { // a new token
		meta = Meta{Created: now}
	}
	meta.Saved = now
	meta.Subject, meta.Credential, meta.Groups, meta.Audience = m.meta.Subject, m.meta.Credential, m.meta.Groups, m.meta.Audience
	ttl := min(rc.rolling, time.Duration(meta.Created+int64(rc.absolute)-now))
	if ttl <= 0 {
		return nil
	}
	if mw.cookies == nil {
		// The server record only says the token is live: no identity in
		// it, so it never shows up among the subject's sessions.
		err := mw.store.Save(m.ctx, rememberKey(rid), Update{Replace: true, Meta: Meta{Created: meta.Created, Saved: now}}, ttl)
		if err != nil {
			return fmt.Errorf("sessionmw: save remember-me token: %w", err)
		}
	}
	vals, err := mw.remembers.seal(rc.name, rid, meta, nil)
	if err != nil {
		return err
	}
	mw.setNamedCookie(h, rc.name, vals[0], int((ttl+time.Second-1)/time.Second))
	m.remember = &rememberToken{id: rid, meta: meta}
	return nil
}

// revokeRememberLocked revokes the session's remember token and the one
// the request carried, and expires the cookie.
func (m *SessionManager) revokeRememberLocked(rids ...string) error {
	mw := m.mw
	if mw.cfg.remember == nil {
		return nil
	}
	for _, rid := range rids {
		if rid == "" {
			continue
		}
		var err error
		if mw.cookies == nil {
			err = mw.store.Delete(m.ctx, rememberKey(rid))
		} else {
			err = mw.revoke(m.ctx, rid, mw.cfg.remember.absolute)
		}
		if err != nil {
			return fmt.Errorf("sessionmw: revoke remember-me token: %w", err)
		}
		m.expireRemember = true
	}
	return nil
}

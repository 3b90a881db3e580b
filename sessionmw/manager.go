package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// SessionManager is the per-request handle on a session (authx_extra's
// request.state.session). Get it with FromRequest. It is safe for
// concurrent use by the goroutines of one request and must not be used
// after the handler returns.
type SessionManager struct {
	mw      *Middleware
	ctx     context.Context     // the request's context as it reached the middleware
	req     *http.Request       // the request as passed to the next handler
	rw      http.ResponseWriter // the writer the middleware was given
	session Session

	mu          sync.Mutex
	id          string         // current id; "" until one is needed
	oldID       string         // id replaced by RenewID, deleted after the save
	meta        *Meta          // metadata as loaded or saved; never nil; see ownMetaLocked
	remember    *rememberToken // the valid remember token the request carried, if any
	oldRemember string         // token replaced by a new Login
	cookieTS    int64          // when the client's cookie was signed (Unix seconds)
	chunksSeen  int32          // cookie storage: chunk cookies the request carried

	inactive       bool
	stored         bool // the store holds a record under id (as of load)
	metaOwned      bool // meta points to the manager's own copy, not a shared record's
	renew          bool // save the whole session under a new id
	touch          bool // refresh expiry although nothing changed
	reissue        bool // send the cookie again (signed with a fallback key)
	hadCookie      bool // the request carried a session cookie
	expire         bool // send an expired cookie (after Destroy)
	viaOld         bool // loaded through a renewed id's successor link
	graceOld       bool // keep oldID readable for the renew grace, not delete it
	explicitRenew  bool // RenewID was called (cookie storage revokes the old id)
	found          bool // the request's credential led to a live session
	loggedIn       bool // Login was called
	restored       bool // restored from a remember-me token
	hadRemember    bool // the request carried a remember cookie
	expireRemember bool
	committed      bool
	wroteHeader    bool // responseWriter: the response was committed
	failed         bool // responseWriter: the error handler answered instead
}

// The SessionManager is the one allocation the middleware makes per
// request: the response writer and the request context it hands to the
// next handler are views of it (responseWriter and managerCtx, types with
// the same fields), rather than objects of their own.

// noMeta is the metadata of a session that has none yet. Shared: never
// changed (ownMetaLocked copies it first).
var noMeta Meta

// rememberToken is a remember-me token and its metadata.
type rememberToken struct {
	id   string
	meta Meta
}

// ownMetaLocked returns m.meta as the manager's own copy, to change.
// m.meta otherwise points into a loaded record, which stores share.
func (m *SessionManager) ownMetaLocked() *Meta {
	if !m.metaOwned {
		c := *m.meta
		m.meta, m.metaOwned = &c, true
	}
	return m.meta
}

// setMetaLocked replaces the manager's metadata with a copy of meta.
func (m *SessionManager) setMetaLocked(meta Meta) {
	if m.metaOwned {
		*m.meta = meta
		return
	}
	m.meta, m.metaOwned = &meta, true
}

// shareMetaLocked points the manager's metadata at a loaded record's.
func (m *SessionManager) shareMetaLocked(meta *Meta) {
	m.meta, m.metaOwned = meta, false
}

// managerCtx is the request context the middleware hands to the next
// handler: the request's context plus this manager under the middleware's
// key, saving the allocation of context.WithValue on every request.
type managerCtx SessionManager

// Deadline implements context.Context.
func (c *managerCtx) Deadline() (time.Time, bool) { return c.ctx.Deadline() }

// Done implements context.Context.
func (c *managerCtx) Done() <-chan struct{} { return c.ctx.Done() }

// Err implements context.Context.
func (c *managerCtx) Err() error { return c.ctx.Err() }

// Value implements context.Context.
func (c *managerCtx) Value(key any) any {
	if key == c.mw.ctxKey {
		return (*SessionManager)(c)
	}
	return c.ctx.Value(key)
}

// GetSession returns the session's data (authx_extra's get_session()).
func (m *SessionManager) GetSession() *Session {
	return &m.session
}

// GetSessionID returns the session's id (authx_extra's get_session_id()).
// For a new visitor it assigns the id the session will be saved under;
// asking for it does not by itself save anything. An inactive manager
// returns "". Treat the id as a secret: log a hash of it at most.
func (m *SessionManager) GetSessionID() string {
	if m.inactive {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.id == "" {
		m.id = newID()
	}
	return m.id
}

// Active reports whether the manager belongs to a Middleware (false when
// the request was skipped or never went through one).
func (m *SessionManager) Active() bool { return !m.inactive }

// IsNew reports whether the session was not loaded from the store on this
// request.
func (m *SessionManager) IsNew() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.stored
}

// Clear empties the session but keeps it (and its id).
func (m *SessionManager) Clear() { m.session.Clear() }

// RenewID moves the session to a new id, deleting the old one, when the
// response is committed. Call it whenever the privilege level changes,
// above all on login: a session id planted before login then maps to
// nothing afterwards (no session fixation).
func (m *SessionManager) RenewID() {
	if m.inactive {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stored && m.oldID == "" {
		m.oldID = m.id
	}
	m.graceOld = false // an explicit renewal retires the old id at once
	m.explicitRenew = true
	m.id = newID()
	m.stored = false
	m.renew = true
}

// Destroy ends the session: it is deleted from the store at once and the
// response expires the cookie (authx_extra's logout). The manager then holds
// a new empty session; setting values in it starts a new session with a new
// id. A store failure is returned and nothing is changed.
func (m *SessionManager) Destroy() error {
	if m.inactive {
		m.session.reset()
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().UnixNano()
	for _, id := range []string{m.oldID, m.id} {
		if id == "" {
			continue
		}
		var err error
		if m.mw.cookies != nil {
			err = m.mw.revoke(m.ctx, id, m.mw.sessionRevocationTTL(*m.meta, now))
		} else {
			err = m.mw.store.Delete(m.ctx, id)
		}
		if err != nil {
			return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
		}
	}
	var rememberID string
	if m.remember != nil {
		rememberID = m.remember.id
	}
	if err := m.revokeRememberLocked(m.meta.Remember, rememberID, m.oldRemember); err != nil {
		return err
	}
	if m.hadRemember {
		m.expireRemember = true
	}
	m.mw.log.LogAttrs(m.ctx, slog.LevelDebug, "session destroyed", slog.Any("session", fingerprint(m.id)))
	m.shareMetaLocked(&noMeta)
	m.remember, m.oldRemember = nil, ""
	m.loggedIn, m.restored = false, false
	m.session.reset()
	m.id, m.oldID = "", ""
	m.stored, m.renew, m.touch, m.reissue, m.graceOld = false, false, false, false, false
	m.expire = m.hadCookie
	return nil
}

// load finds the request's session. Hostile or stale credentials give a
// fresh session; only a store failure is an error.
func (m *SessionManager) load(r *http.Request) error {
	mw := m.mw
	var id string
	count := 0
	start := time.Now()
	mw.cfg.lookup.each(r, func(v string) bool {
		count++
		if v == "" {
			return true
		}
		m.hadCookie = true
		got, ts, fallback, err := mw.ids.decodeAt(mw.cfg.cookieName, v, start.Unix())
		if err != nil {
			mw.log.LogAttrs(r.Context(), slog.LevelWarn, "invalid session cookie; starting a fresh session",
				slog.String("source", mw.cfg.lookup.String()), slog.String("reason", err.Error()), slog.String("remote", r.RemoteAddr))
			return true
		}
		id, m.cookieTS, m.reissue = got, ts, fallback
		return false
	})
	if count > 1 {
		mw.log.LogAttrs(r.Context(), slog.LevelWarn, "several session ids in one request; the first valid one wins",
			slog.String("source", mw.cfg.lookup.String()), slog.Int("count", count), slog.String("remote", r.RemoteAddr))
	}
	if id == "" {
		return nil
	}
	now := start.UnixNano()
	rec, err := loadAt(r.Context(), mw.store, id, now)
	if err != nil {
		return fmt.Errorf("sessionmw: load session %s: %w", fingerprint(id), err)
	}
	if rec != nil && rec.Meta.Successor != "" {
		// An id replaced by auto-renewal, inside its grace period: serve
		// the session it moved to. The client gets the new id from the
		// response that renewed it, not from this one.
		succ := rec.Meta.Successor
		if rec, err = loadAt(r.Context(), mw.store, succ, now); err != nil {
			return fmt.Errorf("sessionmw: load renewed session %s: %w", fingerprint(succ), err)
		}
		id, m.reissue, m.viaOld = succ, false, true
	}
	why := "not found"
	if rec != nil {
		why = mw.expired(&rec.Meta, now)
		if why == "" && rec.Meta.Audience != mw.cfg.audience {
			why = "another audience"
		}
	}
	if why != "" {
		// Expired or unknown: never adopt the id, even though it is signed.
		mw.log.LogAttrs(r.Context(), slog.LevelInfo, "session ended; starting a fresh session",
			slog.String("reason", why), slog.Any("session", fingerprint(id)))
		m.reissue, m.viaOld = false, false
		return nil
	}
	m.id, m.stored, m.found = id, true, true
	m.shareMetaLocked(&rec.Meta)
	m.session.base = rec
	m.touch = !m.viaOld && now-rec.Meta.Saved >= int64(mw.cfg.touchInterval)
	if after := mw.cfg.renewAfter; after > 0 && !m.viaOld && now-rec.Meta.Issued >= int64(after) {
		mw.log.LogAttrs(r.Context(), slog.LevelDebug, "renewing session id", slog.Any("session", fingerprint(id)))
		m.oldID, m.graceOld = id, true
		m.id, m.stored, m.renew = newID(), false, true
	}
	return nil
}

// commit saves the session if needed and sets the cookie on the response
// headers. It runs once, before the first byte of the response.
func (m *SessionManager) commit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.committed {
		return nil
	}
	m.committed = true
	mw := m.mw
	h := m.rw.Header()
	if vary := mw.cfg.lookup.varyOn(); vary != "" && (m.hadCookie || m.stored) {
		addVary(h, vary)
	}
	defer m.finishHeadersLocked(h)
	dirty := m.session.Modified()
	if mw.cookies != nil {
		switch {
		case dirty || m.renew || (m.stored && (m.touch || m.reissue)):
			return m.saveCookieLocked(h)
		case m.expire:
			m.expireCookiesLocked(h)
		}
		return nil
	}
	if !dirty && !m.renew {
		switch {
		case m.stored && m.touch:
			return m.saveLocked(h, false)
		case m.stored && m.reissue:
			return m.setCookieLocked(h)
		case m.expire:
			mw.deliver(h, "", true)
		}
		return nil
	}
	return m.saveLocked(h, dirty || m.renew)
}

// nextMetaLocked returns the metadata the session is saved with at now,
// assigning an id if it has none; full reports a new or renewed id (the
// whole session is written).
func (m *SessionManager) nextMetaLocked(now int64) (meta Meta, full bool) {
	full = !m.stored
	if m.id == "" {
		m.id = newID()
	}
	meta = *m.meta
	if full {
		if meta.Created == 0 || !m.renew {
			meta.Created = now // renewals keep the creation time
		}
		meta.Issued = now
	}
	meta.Saved = now
	meta.Successor = ""
	meta.Audience = m.mw.cfg.audience
	return meta, full
}

// saveLocked writes the session to the store and sets the cookie.
func (m *SessionManager) saveLocked(h http.Header, changed bool) error {
	mw := m.mw
	now := time.Now().UnixNano()
	meta, full := m.nextMetaLocked(now)
	ttl := mw.recordTTL(&meta, now)
	if ttl <= 0 {
		// Past its absolute timeout: the session is over, whatever changed.
		mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session reached its absolute timeout; changes dropped",
			slog.Any("session", fingerprint(m.id)))
		m.stored = false
		return nil
	}
	var u Update
	if changed || full {
		u = m.session.update(full, meta)
	} else {
		u = Update{Meta: meta}
	}
	stored, err := saveAt(m.ctx, mw.store, m.id, u, ttl, now)
	if errors.Is(err, ErrNotFound) && !full {
		// The session ended meanwhile (a concurrent logout or expiry):
		// never resurrect it. The client's cookie now maps to nothing.
		mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session ended during the request; changes dropped",
			slog.Any("session", fingerprint(m.id)))
		m.stored = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("sessionmw: save session %s: %w", fingerprint(m.id), err)
	}
	saved := m.session.markSaved(u, stored)
	m.stored, m.renew, m.touch = true, false, false
	m.shareMetaLocked(&saved.Meta)
	if m.oldID != "" {
		old := m.oldID
		m.oldID = ""
		if m.graceOld {
			// Auto-renewal: the old id points to the new one for the
			// grace period, then expires.
			m.graceOld = false
			om := meta
			om.Successor = m.id
			err := mw.store.Save(m.ctx, old, Update{Meta: om}, mw.cfg.renewGrace)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("sessionmw: retire renewed session %s: %w", fingerprint(old), err)
			}
		} else if err := mw.store.Delete(m.ctx, old); err != nil {
			return fmt.Errorf("sessionmw: delete renewed session %s: %w", fingerprint(old), err)
		}
	}
	if h == nil {
		return nil
	}
	// The cookie goes out for a new or renewed id, a retired key, or when
	// the one the client holds was signed more than a touch interval ago
	// (which refreshes its signature time and Max-Age); not on every write.
	stale := now/int64(time.Second)-m.cookieTS >= int64(mw.cfg.touchInterval/time.Second)
	if full || m.reissue || stale {
		if err := m.setCookieLocked(h); err != nil {
			return err
		}
		m.cookieTS = now / int64(time.Second)
	}
	return m.afterSaveLocked(h)
}

// afterSaveLocked finishes a save that went out with the response:
// remember-me cookies, the per-subject cap, response headers.
func (m *SessionManager) afterSaveLocked(h http.Header) error {
	if m.oldRemember != "" {
		if err := m.revokeRememberLocked(m.oldRemember); err != nil {
			return err
		}
		m.oldRemember = ""
	}
	if m.loggedIn || m.restored {
		if err := m.issueRememberLocked(h); err != nil {
			return err
		}
		m.expireRemember = false
	}
	if m.loggedIn {
		m.loggedIn = false
		if err := m.enforceCapLocked(); err != nil {
			return err
		}
	}
	m.restored = false
	return nil
}

// afterLoad runs once the request's session is known: the identity check
// and the remember-me restore.
func (m *SessionManager) afterLoad(r *http.Request) error {
	if m.found {
		ok, err := m.checkIdentity()
		if err != nil || ok {
			return err
		}
		m.found = false
	}
	return m.tryRemember(r)
}

func (m *SessionManager) setCookieLocked(h http.Header) error {
	mw := m.mw
	if u, ok := parseCanonicalUUID(m.id); ok {
		if c, ok := mw.sessionCookieFast(u); ok {
			h.Add("Set-Cookie", c)
			noStore(h)
			m.reissue = false
			return nil
		}
	}
	v, err := mw.ids.encode(mw.cfg.cookieName, m.id)
	if err != nil {
		return err
	}
	mw.deliver(h, v, false)
	m.reissue = false
	return nil
}

// finishHeadersLocked adds what goes on every committed response: the
// remember cookie's expiry after a logout, and the response headers.
func (m *SessionManager) finishHeadersLocked(h http.Header) {
	mw := m.mw
	if m.expireRemember && mw.cfg.remember != nil {
		mw.setNamedCookie(h, mw.cfg.remember.name, "", -1)
		m.expireRemember = false
	}
	if len(mw.cfg.responseHeaders) > 0 && m.stored {
		m.sessionHeaders(h, mw.cfg.responseHeaders, m.id, *m.meta, time.Now().UnixNano())
	}
}

// finish runs after the handler returned.
func (m *SessionManager) finish() {
	w := m.writer()
	if w.failed {
		return
	}
	if !w.wroteHeader {
		if err := m.commit(); err != nil {
			w.failed = true
			m.mw.fail(m.rw, m.req, err)
		}
		return
	}
	// Changes made after the response was committed can still be saved
	// for a session the client already holds a cookie for.
	if !m.session.Modified() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.stored || m.renew || m.mw.cookies != nil {
		m.mw.log.LogAttrs(m.ctx, slog.LevelWarn, "session changed after the response was written; a new session cannot be saved without its cookie")
		return
	}
	if err := m.saveLocked(nil, true); err != nil {
		m.mw.log.LogAttrs(m.ctx, slog.LevelError, "saving session after the response failed", slog.Any("error", err))
	}
}

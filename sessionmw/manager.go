package sessionmw

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// SessionManager is the per-request handle on a session. Get it with
// FromRequest. It is safe for concurrent use by the goroutines of one
// request and must not be used after the handler returns.
type SessionManager struct {
	mw      *Middleware
	ctx     context.Context     // the request's context as it reached the middleware
	req     *http.Request       // the request as passed to the next handler
	rw      http.ResponseWriter // the writer the middleware was given
	session Session

	mu       sync.Mutex
	id       string        // current id; "" until one is needed
	oldID    string        // explicit renewal pending: the stored id to retire
	meta     *Meta         // metadata as loaded or saved; never nil; see ownMetaLocked
	cookieTS int64         // when the client's credential was signed (Unix seconds)
	ext      *featureState // state of the features that need some; nil until one does
	flags    mflag         // guarded by mu

	inactive    bool // no middleware: reads and writes go nowhere (immutable)
	wroteHeader bool // responseWriter: the response was committed (handler goroutine only)
	failed      bool // responseWriter: the error handler answered instead
}

// mflag is the manager's state, one bit each.
type mflag uint16

const (
	fStored    mflag = 1 << iota // a record (or cookie) holds the session under id
	fMetaOwned                   // meta points to the manager's own copy, not a shared record's
	fRenew                       // explicit renewal pending: save under id, retire oldID
	fTouch                       // refresh expiry although nothing changed
	fReissue                     // send the credential again (renewed id, fallback key, successor)
	fHadCookie                   // the request carried a session credential
	fExpire                      // send an expired credential (after Destroy)
	fFound                       // the request's credential led to a live session
	fAuthed                      // the session was authenticated on this request
	fCommitted                   // commit ran
	fKeep                        // save a new session although nothing was set: its id was handed out
	fDestroyed                   // Destroy ran on this request
)

func (m *SessionManager) has(f mflag) bool { return m.flags&f != 0 }

// The SessionManager is the one allocation the middleware makes per
// request: the response writer and the request context it hands to the
// next handler are views of it (responseWriter and managerCtx, types with
// the same fields), rather than objects of their own.

// noMeta is the metadata of a session that has none yet. Shared: never
// changed (ownMetaLocked copies it first).
var noMeta Meta

// ownMetaLocked returns m.meta as the manager's own copy, to change.
// m.meta otherwise points into a loaded record, which stores share.
func (m *SessionManager) ownMetaLocked() *Meta {
	if !m.has(fMetaOwned) {
		c := *m.meta
		m.meta = &c
		m.flags |= fMetaOwned
	}
	return m.meta
}

// setMetaLocked replaces the manager's metadata with a copy of meta.
func (m *SessionManager) setMetaLocked(meta Meta) {
	if m.has(fMetaOwned) {
		*m.meta = meta
		return
	}
	m.meta = &meta
	m.flags |= fMetaOwned
}

// shareMetaLocked points the manager's metadata at a loaded record's.
func (m *SessionManager) shareMetaLocked(meta *Meta) {
	m.meta = meta
	m.flags &^= fMetaOwned
}

// adoptLocked makes rec, stored under id, the request's session.
func (m *SessionManager) adoptLocked(id string, rec *Record) {
	m.id = id
	m.flags |= fStored | fFound
	m.shareMetaLocked(&rec.Meta)
	m.session.base = rec
}

// forgetLocked drops the request's session: it becomes a new one.
func (m *SessionManager) forgetLocked() {
	m.id, m.oldID = "", ""
	m.shareMetaLocked(&noMeta)
	m.session.reset()
	m.flags &^= fStored | fRenew | fTouch | fReissue | fFound | fAuthed | fKeep
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
	if key == c.mw.ctxKey || (key == c.mw.aliasKey && c.mw.aliasKey != nil) {
		return (*SessionManager)(c)
	}
	return c.ctx.Value(key)
}

// GetSession returns the session's data.
func (m *SessionManager) GetSession() *Session {
	return &m.session
}

// GetSessionID returns the session's id. For a new visitor it assigns the
// id, and the session is then kept: saved (even if empty) and its cookie
// sent when the response is committed, so that the id means the same
// session on the next request (data keyed by it elsewhere stays found).
// An inactive manager returns "". Treat the id as a secret: log
// Fingerprint(id) at most.
func (m *SessionManager) GetSessionID() string {
	if m.inactive {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.id == "" {
		m.id = newID()
	}
	if !m.has(fStored) {
		m.flags |= fKeep
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
	return !m.has(fStored)
}

// Clear empties the session but keeps it (and its id).
func (m *SessionManager) Clear() { m.session.Clear() }

// RenewID moves the session to a new id when the response is committed;
// the old id is retired at once and leads nowhere afterwards. Call it
// whenever the privilege level changes, above all on login (Login calls
// it): an id planted before login then maps to nothing (no session
// fixation).
func (m *SessionManager) RenewID() {
	if m.inactive {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renewLocked()
}

func (m *SessionManager) renewLocked() {
	if m.has(fStored) && !m.has(fRenew) {
		m.oldID = m.id
	}
	m.id = newID()
	m.flags = m.flags&^fStored | fRenew
}

// Destroy ends the session (signing out): it is removed at once, with every id
// issued earlier in its life, and the response expires the cookie. The
// manager then holds a new empty session; setting values in it starts a
// new session with a new id. A store failure is returned and nothing is
// changed.
func (m *SessionManager) Destroy() error {
	if m.inactive {
		m.session.reset()
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.destroyLocked(ReasonLogout)
}

// destroyLocked ends the session; reason is for the Destroyed hook.
func (m *SessionManager) destroyLocked(reason string) error {
	mw := m.mw
	id := m.id
	if err := mw.backend.destroy(m, mw.now()); err != nil {
		return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
	}
	for _, h := range mw.hooks.destroyed {
		if err := h(m); err != nil {
			return err
		}
	}
	mw.log.LogAttrs(m.ctx, slog.LevelDebug, "session destroyed", slog.Any("session", fingerprint(id)), slog.String("reason", reason))
	if mw.hooked() && (id != "" || m.has(fStored)) {
		mw.emit(mw.cfg.events.Destroyed, m.ctx, m.event(reason))
	}
	m.forgetLocked()
	m.flags |= fDestroyed
	if m.has(fHadCookie) {
		m.flags |= fExpire
	}
	return nil
}

// commit saves the session if needed and sets the credential on the
// response headers. It runs once, before the first byte of the response.
func (m *SessionManager) commit() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.has(fCommitted) {
		return nil
	}
	m.flags |= fCommitted
	mw := m.mw
	h := m.rw.Header()
	if mw.vary != "" && m.has(fHadCookie|fStored) {
		addVary(h, mw.vary)
	}
	defer m.committedLocked(h)
	if m.needsSaveLocked() {
		return m.saveLocked(h)
	}
	if m.has(fExpire) {
		mw.backend.expire(m, h)
	}
	return nil
}

// needsSaveLocked reports whether commit has to call the backend: the
// session changed, is moving to a new id, or its stored copy or the
// client's credential needs refreshing.
func (m *SessionManager) needsSaveLocked() bool {
	return m.session.Modified() || m.has(fRenew|fKeep) || (m.has(fStored) && m.has(fTouch|fReissue))
}

// saveLocked has the backend save the session, then runs what follows a
// login. h is nil after the response went out.
func (m *SessionManager) saveLocked(h http.Header) error {
	var changes Update
	if len(m.mw.hooks.saved) > 0 && (m.session.Modified() || !m.has(fStored)) {
		changes = m.session.update(!m.has(fStored), Meta{})
	}
	stored, err := m.mw.backend.commit(m, h, m.mw.now())
	if err != nil {
		return err
	}
	if stored && (changes.Replace || len(changes.Set) > 0 || len(changes.Delete) > 0) {
		for _, hook := range m.mw.hooks.saved {
			if err := hook(m, changes); err != nil {
				return err
			}
		}
	}
	if stored && m.has(fAuthed) {
		m.flags &^= fAuthed
		for _, hook := range m.mw.hooks.authenticated {
			if err := hook(m, h); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *SessionManager) committedLocked(h http.Header) {
	for _, hook := range m.mw.hooks.committed {
		hook(m, h)
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
	// for a session the client already holds a credential for.
	if !m.session.Modified() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.has(fStored) || m.has(fRenew) || !m.mw.saveLate {
		m.mw.log.LogAttrs(m.ctx, slog.LevelWarn, "session changed after the response was written; a new session, a renewal or a cookie session cannot be saved without its credential")
		return
	}
	if err := m.saveLocked(nil); err != nil {
		m.mw.log.LogAttrs(m.ctx, slog.LevelError, "saving session after the response failed", slog.Any("error", err))
	}
}

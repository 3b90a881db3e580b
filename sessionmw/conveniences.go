package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Status says what a request did to its session so far.
type Status int

// The values of Status.
const (
	StatusUnmodified Status = iota // loaded (or new) and not changed
	StatusModified                 // values changed, or renewed: saved when the response is written
	StatusDestroyed                // Destroy ended it, and nothing was set since
)

// Status reports what this request did to its session so far.
func (m *SessionManager) Status() Status {
	if m.inactive {
		return StatusUnmodified
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.session.Modified() || m.has(fRenew|fKeep):
		return StatusModified
	case m.has(fDestroyed):
		return StatusDestroyed
	}
	return StatusUnmodified
}

// Pop returns the value stored under key as a T and deletes it from the
// session: a flash message, shown once.
//
//	s.Set("flash", "Saved!")            // on one request
//	msg, ok := sessionmw.Pop[string](s, "flash") // on the next
func Pop[T any](s *Session, key string) (v T, ok bool) {
	v, ok = Get[T](s, key)
	if _, found := s.Get(key); found {
		s.Delete(key)
	}
	return v, ok
}

// Deadline returns when the session ends if nothing extends it: the
// earliest of its idle, rolling and absolute deadlines and SetDeadline's.
// For a session not saved yet it is counted from now.
func (m *SessionManager) Deadline() time.Time {
	if m.inactive {
		return time.Time{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.mw.now()
	meta := *m.meta
	if meta.Saved == 0 {
		meta.Created, meta.Issued, meta.Saved = now, now, now
	}
	return time.Unix(0, now+int64(m.mw.recordTTL(&meta, now)))
}

// SetDeadline makes the session end at t at the latest, whatever its
// activity (it may still end earlier, at its idle, rolling or absolute
// deadline). The session is saved with the response; the deadline
// survives renewals. A zero t removes it.
func (m *SessionManager) SetDeadline(t time.Time) {
	if m.inactive {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := int64(0)
	if !t.IsZero() {
		d = t.UnixNano()
	}
	m.ownMetaLocked().Deadline = d
	m.session.touchAll()
}

// RememberMe makes the session's cookie persistent (on) — it outlives the
// browser, with a Max-Age of the session's time left — or, with false,
// as the middleware's WithMaxAge says (a browser-session cookie by
// default). The choice is kept with the session.
func (m *SessionManager) RememberMe(on bool) {
	if m.inactive {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.meta.Persist == on {
		return
	}
	m.ownMetaLocked().Persist = on
	m.session.touchAll()
	m.flags |= fReissue // the cookie's Max-Age changes
}

// FromContext is FromRequest for code that has the request's context
// only (the context of a request the middleware handled, or one derived
// from it).
func FromContext(ctx context.Context) *SessionManager {
	return fromContext(ctx, defaultKey)
}

// ErrNoResponse reports a Commit that cannot save without a response: a
// new or renewed session must reach its client in a cookie.
var ErrNoResponse = errors.New("sessionmw: a new or renewed session is saved with the response that carries its cookie")

// Load returns the manager of the session with the given id, for code
// outside an HTTP request: a background job, or a websocket or gRPC
// stream that outlives its handler. Read and change it as in a handler,
// and save the changes with Commit. An id that leads to no live session
// gives an error wrapping ErrNotFound. It needs a server store.
func (mw *Middleware) Load(ctx context.Context, id string) (*SessionManager, error) {
	b, ok := mw.backend.(serverBackend)
	if !ok {
		return nil, fmt.Errorf("sessionmw: Load: %w", ErrNoSubjectIndex)
	}
	m := &SessionManager{mw: mw, ctx: ctx, meta: &noMeta}
	m.session.strict = mw.cfg.strictValues
	got, err := b.follow(ctx, id, mw.now())
	if err != nil {
		return nil, err
	}
	if got.rec == nil {
		return nil, fmt.Errorf("sessionmw: Load %s: %s: %w", fingerprint(id), got.detail, ErrNotFound)
	}
	m.adoptLocked(got.id, got.rec)
	return m, nil
}

// Commit saves the session's changes now, without waiting for a response:
// for a manager from Load, or in a long-running handler (a websocket loop)
// whose client already holds its cookie. A new or renewed session cannot
// be committed this way (ErrNoResponse): its id must reach the client in
// the response. After a Commit, changes can be made and committed again.
func (m *SessionManager) Commit() error {
	if m.inactive {
		return fmt.Errorf("sessionmw: Commit: no session middleware on this request")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.has(fStored) || m.has(fRenew) {
		if !m.session.Modified() && !m.has(fRenew|fKeep) {
			return nil
		}
		return ErrNoResponse
	}
	if !m.session.Modified() {
		return nil
	}
	return m.saveLocked(nil)
}

// orphanWarning makes warnOrphanWrite log once per process.
var orphanWarning sync.Once

// warnOrphanWrite logs, once per process, a value set in a session no
// middleware will save.
func warnOrphanWrite() {
	orphanWarning.Do(func() {
		slog.Default().Warn("sessionmw: a session value was set on a request that no session middleware handled; it is not saved (FromRequest outside the middleware, or a skipped request)")
	})
}

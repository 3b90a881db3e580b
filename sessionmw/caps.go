package sessionmw

import (
	"fmt"
	"net/http"
)

// WithMaxSessionsPerSubject caps how many live sessions one subject may
// have (default 0: no cap). Whenever a session gains an identity (Login,
// or a remember-me restore) and is saved, the subject's oldest sessions
// beyond the cap are destroyed; renewal moves a session without counting
// twice. It needs a store that implements SubjectIndex.
func WithMaxSessionsPerSubject(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("sessionmw: WithMaxSessionsPerSubject: negative cap %d", n)
		}
		c.maxPerSubject = n
		return nil
	}
}

// installSubjectCap enforces WithMaxSessionsPerSubject.
func installSubjectCap(mw *Middleware, _ [][]byte) error {
	limit := mw.cfg.maxPerSubject
	if limit == 0 {
		return nil
	}
	if _, err := mw.index(); err != nil {
		if mw.store == nil {
			return fmt.Errorf("sessionmw: WithMaxSessionsPerSubject: needs a server store, not cookie storage")
		}
		return fmt.Errorf("sessionmw: WithMaxSessionsPerSubject: the store (%T) does not implement SubjectIndex", mw.store)
	}
	mw.hooks.authenticated = append(mw.hooks.authenticated, func(m *SessionManager, _ http.Header) error {
		return m.enforceCapLocked(limit)
	})
	return nil
}

// enforceCapLocked destroys the subject's oldest sessions beyond limit,
// never the current one.
func (m *SessionManager) enforceCapLocked(limit int) error {
	mw := m.mw
	if m.meta.Subject == "" {
		return nil
	}
	infos, err := mw.Sessions(m.ctx, m.meta.Subject)
	if err != nil {
		return err
	}
	excess := len(infos) - limit
	for _, in := range infos {
		if excess <= 0 {
			break
		}
		if in.ID == mw.storeKey(m.id) {
			continue
		}
		if err := mw.destroySession(m.ctx, in.ID, ReasonLimit); err != nil {
			return err
		}
		excess--
	}
	return nil
}

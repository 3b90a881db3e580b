package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// ErrNoSubjectIndex reports that the store cannot list a subject's
// sessions: it does not implement SubjectIndex (MemoryIO, RistrettoStore
// and redisstore do), or sessions live in cookies.
var ErrNoSubjectIndex = errors.New("sessionmw: the store cannot list a subject's sessions")

func (mw *Middleware) index() (SubjectIndex, error) {
	idx, ok := mw.store.(SubjectIndex)
	if !ok {
		return nil, ErrNoSubjectIndex
	}
	return idx, nil
}

// Sessions lists subject's live sessions, oldest first. Ids that renewal
// superseded are not sessions of their own and are left out.
func (mw *Middleware) Sessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	idx, err := mw.index()
	if err != nil {
		return nil, err
	}
	infos, err := idx.SubjectSessions(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: list sessions: %w", err)
	}
	return slices.DeleteFunc(infos, func(in SessionInfo) bool { return in.Meta.Successor != "" }), nil
}

// DestroySession ends the session with the given id, as Destroy would
// from inside its own request (its remember-me token too).
func (mw *Middleware) DestroySession(ctx context.Context, id string) error {
	if mw.store == nil {
		return ErrNoSubjectIndex
	}
	rec, err := mw.store.Load(ctx, id)
	if err != nil {
		return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
	}
	if err := mw.store.Delete(ctx, id); err != nil {
		return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
	}
	if rec != nil && rec.Meta.Remember != "" {
		if err := mw.store.Delete(ctx, rememberKey(rec.Meta.Remember)); err != nil {
			return fmt.Errorf("sessionmw: revoke remember-me token of %s: %w", fingerprint(id), err)
		}
	}
	return nil
}

// RevokeSubject destroys every live session of subject (on every audience
// that shares the store), except the ids in except, and returns how many
// it destroyed. Use it after a password change or to log a user out
// everywhere. It lists sessions through the store's SubjectIndex: no scan.
func (mw *Middleware) RevokeSubject(ctx context.Context, subject string, except ...string) (int, error) {
	infos, err := mw.Sessions(ctx, subject)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, in := range infos {
		if slices.Contains(except, in.ID) {
			continue
		}
		if err := mw.DestroySession(ctx, in.ID); err != nil {
			return n, err
		}
		n++
	}
	mw.log.LogAttrs(ctx, slog.LevelInfo, "subject's sessions revoked", slog.Int("count", n))
	return n, nil
}

// RevokeOthers destroys every other session of this session's subject
// ("log out my other devices") and returns how many.
func (m *SessionManager) RevokeOthers() (int, error) {
	id, ok := m.Identity()
	if !ok {
		return 0, ErrAnonymous
	}
	return m.mw.RevokeSubject(m.ctx, id.Subject, m.GetSessionID())
}

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
// superseded are not sessions of their own and are left out, and so are
// remember-me tokens.
func (mw *Middleware) Sessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	infos, err := mw.subjectRecords(ctx, subject)
	if err != nil {
		return nil, err
	}
	// A session of this middleware's audience that its deadlines ended is
	// over even if the store (whose TTL may be the idle one alone) still
	// lists it.
	now := mw.now()
	return slices.DeleteFunc(infos, func(in SessionInfo) bool {
		return in.Meta.Successor != "" || isTokenKey(in.ID) ||
			(in.Meta.Audience == mw.cfg.audience && mw.expired(&in.Meta, now) != "")
	}), nil
}

// subjectRecords lists every record the store indexes under subject:
// sessions, superseded ids and remember-me tokens.
func (mw *Middleware) subjectRecords(ctx context.Context, subject string) ([]SessionInfo, error) {
	idx, err := mw.index()
	if err != nil {
		return nil, err
	}
	infos, err := mw.list(ctx, idx, subject)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: list sessions: %w", err)
	}
	return infos, nil
}

// DestroySession ends the session with the given id, as Destroy would
// from inside its own request (its remember-me token too). The id is as
// Sessions lists it: with WithHashedIDs, its storage key.
func (mw *Middleware) DestroySession(ctx context.Context, id string) error {
	return mw.destroySession(ctx, id, ReasonRevoked)
}

// destroySession is DestroySession for the storage key key; reason is for
// the Destroyed hook.
func (mw *Middleware) destroySession(ctx context.Context, key, reason string) error {
	if mw.store == nil {
		return ErrNoSubjectIndex
	}
	id := key // for messages: a fingerprint either way
	rec, err := mw.loadStored(ctx, key, mw.now())
	if err != nil {
		return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
	}
	if err := mw.delStored(ctx, mw.store, key); err != nil {
		return fmt.Errorf("sessionmw: destroy session %s: %w", fingerprint(id), err)
	}
	if rec != nil && rec.Meta.Remember != "" {
		for _, k := range [...]string{rememberKey(rec.Meta.Remember), rememberDataKey(rec.Meta.Remember)} {
			if err := mw.del(ctx, mw.store, k); err != nil {
				return fmt.Errorf("sessionmw: revoke remember-me token of %s: %w", fingerprint(id), err)
			}
		}
	}
	if rec != nil && rec.Meta.Successor == "" {
		mw.destroyedElsewhere(ctx, SessionInfo{ID: id, Meta: rec.Meta}, reason)
	}
	return nil
}

// destroyedElsewhere reports a session ended outside its own request.
func (mw *Middleware) destroyedElsewhere(ctx context.Context, in SessionInfo, reason string) {
	if mw.hooked() {
		mw.emit(mw.cfg.events.Destroyed, ctx, Event{Session: Fingerprint(in.ID), Subject: in.Meta.Subject, Audience: in.Meta.Audience, Reason: reason})
	}
}

// RevokeSubject destroys every session of subject (on every audience that
// shares the store) and every remember-me token issued to it, except the
// sessions in except and their tokens, and returns how many sessions it
// destroyed. Use it after a password change or to log a user out
// everywhere. It lists sessions through the store's SubjectIndex: no scan.
func (mw *Middleware) RevokeSubject(ctx context.Context, subject string, except ...string) (int, error) {
	infos, err := mw.subjectRecords(ctx, subject)
	if err != nil {
		return 0, err
	}
	keep := map[string]bool{}
	for _, in := range infos {
		if slices.Contains(except, in.ID) || slices.ContainsFunc(except, func(id string) bool { return mw.storeKey(id) == in.ID }) {
			keep[in.ID] = true
			if in.Meta.Remember != "" {
				keep[mw.storeKey(rememberKey(in.Meta.Remember))] = true
				keep[mw.storeKey(rememberDataKey(in.Meta.Remember))] = true
			}
		}
	}
	n := 0
	for _, in := range infos {
		switch {
		case keep[in.ID]:
		case isTokenKey(in.ID):
			if err := mw.delStored(ctx, mw.store, in.ID); err != nil {
				return n, fmt.Errorf("sessionmw: revoke remember-me token: %w", err)
			}
		default:
			if err := mw.DestroySession(ctx, in.ID); err != nil {
				return n, err
			}
			if in.Meta.Successor == "" {
				n++
			}
		}
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

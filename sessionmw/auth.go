package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
)

// Working with authentication, as Kong's session plugin does with its
// authentication plugins (a "logical OR"): the session middleware runs
// first; a request whose session is authenticated skips the credential
// check (Authenticated reports the identity); otherwise the authentication
// middleware checks credentials and, on success, calls Login, which
// rotates the session id and records the identity. Anonymous identities
// never get a session, so terminate anonymous requests yourself (403),
// or the OR lets them through.

// Identity is who authenticated a session: Kong's consumer, credential and
// authenticated groups.
type Identity struct {
	// Subject identifies the user or consumer. Required.
	Subject string
	// Credential identifies the credential used (an API key's id, say).
	Credential string
	// Groups are the authenticated groups.
	Groups []string
}

// ErrAnonymous is returned by Login for an identity without a subject or
// with the anonymous subject (WithAnonymousSubject): anonymous requests
// never get a session.
var ErrAnonymous = errors.New("sessionmw: anonymous identities get no session")

// WithAnonymousSubject names the subject of the anonymous consumer (Kong's
// key-auth "anonymous"): Login refuses it, so anonymous requests never
// obtain a session.
func WithAnonymousSubject(subject string) Option {
	return func(c *config) error { c.anonymous = subject; return nil }
}

// IdentityCheck tells whether an authenticated session's identity still
// exists (the consumer was not deleted, the credential not revoked). It
// returns false to end the session, or an error when it cannot tell (the
// request then goes to the error handler). It runs on every request that
// carries an authenticated session: cache what it looks up.
type IdentityCheck func(ctx context.Context, id Identity) (bool, error)

// WithIdentityCheck sets the check run on authenticated sessions; a
// session whose identity is gone is destroyed and the request continues
// with a fresh, anonymous session.
func WithIdentityCheck(check IdentityCheck) Option {
	return func(c *config) error {
		if check == nil {
			return fmt.Errorf("sessionmw: WithIdentityCheck: nil check")
		}
		c.identityCheck = check
		return nil
	}
}

// Login marks the session as authenticated by id and moves it to a new id
// when the response is committed (so that an id planted before login is
// worthless). The session's values are kept. Login is what Sessions,
// RevokeSubject, WithMaxSessionsPerSubject and WithRemember know about:
// with a cap, the subject's oldest sessions beyond it are destroyed once
// this one is saved; with remember-me, a remember-me cookie is issued.
func (m *SessionManager) Login(id Identity) error {
	if m.inactive {
		return fmt.Errorf("sessionmw: Login: no session middleware on this request")
	}
	if id.Subject == "" || id.Subject == m.mw.cfg.anonymous {
		return ErrAnonymous
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renewLocked()
	meta := m.ownMetaLocked()
	meta.Subject, meta.Credential, meta.Groups = id.Subject, id.Credential, slices.Clone(id.Groups)
	m.flags |= fAuthed
	for _, hook := range m.mw.hooks.login {
		hook(m, meta)
	}
	m.mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session authenticated", slog.Any("session", fingerprint(m.id)))
	return nil
}

// Identity returns the identity that authenticated the session, and
// whether there is one.
func (m *SessionManager) Identity() (Identity, bool) {
	if m.inactive {
		return Identity{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.meta.Subject == "" {
		return Identity{}, false
	}
	return Identity{Subject: m.meta.Subject, Credential: m.meta.Credential, Groups: slices.Clone(m.meta.Groups)}, true
}

// Authenticated reports the identity of r's session (the default session
// object), for authentication middleware that should skip its own
// credential check when the session is already authenticated.
func Authenticated(r *http.Request) (Identity, bool) {
	return FromRequest(r).Identity()
}

// installIdentityCheck runs WithIdentityCheck on every authenticated
// session a request resolves to.
func installIdentityCheck(mw *Middleware, _ [][]byte) error {
	if mw.cfg.identityCheck == nil {
		return nil
	}
	mw.hooks.resolved = append(mw.hooks.resolved, func(m *SessionManager, _ *http.Request) (bool, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m.has(fFound) || m.meta.Subject == "" {
			return false, nil
		}
		ok, err := m.mw.identityExists(m.ctx, m.meta)
		if err != nil || ok {
			return false, err
		}
		m.mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session identity is gone; session destroyed", slog.Any("session", fingerprint(m.id)))
		return false, m.destroyLocked(ReasonIdentity)
	})
	return nil
}

// identityExists runs the identity check on meta's identity (true without
// a check).
func (mw *Middleware) identityExists(ctx context.Context, meta *Meta) (bool, error) {
	check := mw.cfg.identityCheck
	if check == nil {
		return true, nil
	}
	ok, err := check(ctx, Identity{Subject: meta.Subject, Credential: meta.Credential, Groups: slices.Clone(meta.Groups)})
	if err != nil {
		return false, fmt.Errorf("sessionmw: identity check: %w", err)
	}
	return ok, nil
}

package sessionmw

import (
	"net/http"
)

// A session's life, as every request sees it. The manager (manager.go)
// owns the transitions; where sessions live is a backend (a server Store
// or encrypted cookies: backend.go); features attach at the named points
// below and are never called by name.
//
// States of an id:
//
//   - new: the request carries no usable credential. The session has no
//     id until one is needed (a write, GetSessionID) and no record until
//     it is saved.
//   - live: a record holds the session, within its idle, rolling and
//     absolute deadlines (timeouts.go).
//   - superseded: renewal moved the session to a successor id. An
//     automatic renewal leaves the old id pointing to its successor for
//     the grace period (WithRenewGrace), so a request that still carries
//     it is served the successor and handed its id; an explicit renewal
//     (Login, RenewID) retires the old id, which then leads nowhere. A
//     superseded record is frozen: no save or touch can extend it or
//     clear its link (Store.Save refuses with ErrSuperseded).
//   - destroyed: logout, revocation, a failed identity check or a
//     per-subject cap removed it; nothing leads to it any more.
//
// Transitions, one place each:
//
//   - resolve (backend): credentials → verified ids → records, following
//     successor links, checking deadlines and audience. A credential that
//     does not verify, or leads to no live session, is ignored; of several
//     credentials, exactly one distinct live session must remain, or the
//     request starts fresh (a tossed cookie never picks the session).
//   - renew (backend): automatic renewal happens when the session is
//     resolved, explicit renewal when it is committed. Both first save the
//     whole session under the new id, then mark the old id with a
//     compare-and-set; of concurrent renewers one wins, and automatic
//     renewers that lose adopt the winner's successor. Writes that landed
//     on the old id in between are carried over.
//   - commit (manager, then backend): once, before the response's first
//     byte: save what changed (a delta, or the whole session for a new
//     id), or touch, and send the credential when it changed. A write that
//     meets a superseded id follows it to its successor; when it cannot
//     (the old id was retired by a login), the request fails with
//     ErrSuperseded instead of losing the write.
//   - destroy (manager, then backend): the id, the id the request carried
//     and any renewal in flight are removed (server storage), or the
//     session's lineage is listed in the revocation store (cookie storage).
//
// Invariants that hold in every combination of options:
//
//   - logout ends the lineage: no id or cookie issued earlier in the
//     session's life is accepted afterwards;
//   - one successor per id; a superseded id is never extended;
//   - no silent loss: a write lands, or the request fails;
//   - credentials never travel upstream when forwarding is disabled, and
//     client-sent Session-* headers never reach it (skip header included);
//   - limits hold on every path that creates a logged-in session;
//   - a client never chooses its id, and never lands in a session it did
//     not start.

// hooks are the lifecycle points where features attach. New installs the
// features the options turn on; a point no feature uses is an empty slice
// and costs nothing.
type hooks struct {
	// request runs on every request, skipped ones included, on the private
	// copy that goes to the next handler: it removes what must not travel
	// upstream (credentials, spoofed Session-* headers).
	request []func(mw *Middleware, r *http.Request)

	// resolved runs once the request's session is known (live or new).
	// A hook may end the session (identity check), restore one (remember
	// me), or answer the request itself (logout), reporting done.
	resolved []func(m *SessionManager, r *http.Request) (done bool, err error)

	// upstream runs just before the next handler, on the request it gets.
	upstream []func(m *SessionManager, r *http.Request)

	// login runs inside Login, under the manager's lock, once the identity
	// is set in the session's metadata (meta is the manager's own copy).
	login []func(m *SessionManager, meta *Meta)

	// authenticated runs after a session that gained an identity on this
	// request (Login, or a restore) was stored, with the response headers
	// (nil after the response went out).
	authenticated []func(m *SessionManager, h http.Header) error

	// saved runs after each save of the session that changed its values,
	// with those changes (a Replace for a new id or a cleared session).
	saved []func(m *SessionManager, changes Update) error

	// committed runs on every committed response, saved or not.
	committed []func(m *SessionManager, h http.Header)

	// destroyed runs when the session is destroyed, before the manager
	// forgets it (meta is still the destroyed session's).
	destroyed []func(m *SessionManager) error
}

// featureState is the per-request state of the backends and features that
// need some, allocated on first use: a request on a middleware with none
// of them never allocates it.
type featureState struct {
	lineage  string        // cookie storage: the session's lineage
	chunks   int           // cookie storage: chunk cookies the request carried
	remember rememberState // remember-me
	// createdBy is the Created event's reason for a session this request
	// creates ("remember": restored from a remember-me token).
	createdBy string
}

// state returns the request's featureState, allocating it.
func (m *SessionManager) state() *featureState {
	if m.ext == nil {
		m.ext = &featureState{}
	}
	return m.ext
}

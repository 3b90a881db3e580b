package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// cookieBackend keeps the whole session in the client's encrypted cookies
// (WithCookieStorage). With no server state, a logged-out cookie can only
// be refused through the revocation store, which lists lineages and
// remember-me tokens: every cookie carries its session's lineage, an id
// that stays the same across automatic renewals, so one entry ends every
// cookie issued in a session's life, and its token, whose revocation ends
// the sessions restored from it. A login starts a new lineage and revokes
// the old one.
type cookieBackend struct {
	mw    *Middleware
	codec *cookieCodec
	revs  Store // nil without WithRevocationStore
}

func newCookieBackend(mw *Middleware, keys [][]byte) (*cookieBackend, error) {
	codec, err := newCookieCodec(mw.cfg.cookieChunks, keys...)
	if err != nil {
		return nil, err
	}
	return &cookieBackend{mw: mw, codec: codec, revs: mw.cfg.revocations}, nil
}

// resolve implements backend.
func (b *cookieBackend) resolve(m *SessionManager, r *http.Request, now int64) error {
	mw := b.mw
	st := m.state()
	st.chunks = b.chunksPresent(r)
	var chosen opened
	distinct := 0
	for i, c := range r.CookiesNamed(mw.cfg.cookieName) {
		if i == maxCandidates {
			break
		}
		if c.Value == "" {
			continue
		}
		m.flags |= fHadCookie
		ctx, src := r.Context(), "cookie:"+mw.cfg.cookieName
		if c.Quoted {
			// Another spelling of the same bytes; the encoder never quotes.
			mw.refused(ctx, RefusedMalformed, src, r.RemoteAddr, errors.New("quoted value"))
			continue
		}
		o, err := b.codec.open(mw.cfg.cookieName, c.Value, r)
		if err != nil {
			mw.refused(ctx, RefusedBadSignature, src, r.RemoteAddr, err)
			continue
		}
		got := lookup{id: o.id}
		switch why := mw.expired(&o.rec.Meta, now); {
		case why == whyFuture:
			got.why, got.detail = RefusedMalformed, why
		case why != "":
			got.why, got.detail, got.ended = ReasonExpired, why, &o.rec.Meta
		case o.rec.Meta.Audience != mw.cfg.audience:
			got.why, got.detail = RefusedAudience, "another audience"
		case !mw.binder.matches(o.rec.Meta.Bind, r):
			got.why, got.detail = RefusedBinding, "bound to another client"
		default:
			// The session's lineage, or the remember-me token it carries,
			// may have been revoked (logout, a login elsewhere).
			for _, id := range [...]string{o.lineage, o.rec.Meta.Remember} {
				if revoked, err := b.revoked(ctx, id); err != nil {
					return err
				} else if revoked {
					got.why, got.detail = RefusedRevoked, "revoked"
					break
				}
			}
		}
		if got.why != "" {
			mw.ended(ctx, got, r.RemoteAddr)
			continue
		}
		if distinct == 0 || o.id != chosen.id {
			distinct++
		}
		if distinct == 1 {
			chosen = o
		}
	}
	if distinct > 1 {
		mw.refused(r.Context(), RefusedAmbiguous, "cookie:"+mw.cfg.cookieName, r.RemoteAddr, nil)
	}
	if distinct != 1 {
		return nil
	}
	m.adoptLocked(chosen.id, chosen.rec)
	st.lineage = chosen.lineage
	if chosen.fallback {
		m.flags |= fReissue
	}
	if now-chosen.rec.Meta.Saved >= int64(mw.cfg.touchInterval) {
		m.flags |= fTouch
	}
	if after := mw.cfg.renewAfter; after > 0 && now-chosen.rec.Meta.Issued >= int64(after) {
		// The cookie is the store: renewing is sending the session under
		// a new id, in the same lineage.
		old := m.id
		m.id = newID()
		m.ownMetaLocked().Issued = now
		m.flags |= fReissue
		m.renewed(r.Context(), old, "auto")
	}
	return nil
}

// revoked reports whether id (a lineage or a token) is in the revocation
// store.
func (b *cookieBackend) revoked(ctx context.Context, id string) (bool, error) {
	if b.revs == nil || id == "" {
		return false, nil
	}
	rec, err := b.mw.load(ctx, b.revs, revocationKey(id), b.mw.now())
	if err != nil {
		return false, fmt.Errorf("sessionmw: revocation check for %s: %w", fingerprint(id), err)
	}
	return rec != nil, nil
}

// commit implements backend: the whole session is sealed into the
// response's cookies.
func (b *cookieBackend) commit(m *SessionManager, h http.Header, now int64) (bool, error) {
	mw := b.mw
	if h == nil {
		return false, nil // after the response: nothing can carry the cookie
	}
	st := m.state()
	if m.id == "" {
		m.id = newID()
	}
	meta := *m.meta
	if !m.has(fStored) {
		if meta.Created == 0 || !m.has(fRenew) {
			meta.Created = now
		}
		meta.Issued = now
		mw.bindMeta(&meta, m.req)
	}
	meta.Saved, meta.Successor, meta.Audience = now, "", mw.cfg.audience
	if mw.recordTTL(&meta, now) <= 0 {
		mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session reached its absolute timeout; changes dropped",
			slog.Any("session", fingerprint(m.id)))
		m.forgetLocked()
		return false, nil
	}
	oldLineage := ""
	if m.has(fRenew) && m.oldID != "" {
		// An explicit renewal (login): cookies of the old lineage must
		// stop working, the new session starts its own.
		oldLineage, st.lineage = st.lineage, ""
	}
	if st.lineage == "" {
		st.lineage = newID()
	}
	u := m.session.update(true, meta)
	vals, err := b.codec.seal(mw.cfg.cookieName, m.id, st.lineage, meta, u.Set)
	if err != nil {
		return false, fmt.Errorf("sessionmw: save session %s: %w", fingerprint(m.id), err)
	}
	if oldLineage != "" {
		if err := b.revoke(m.ctx, oldLineage, mw.revocationTTL(*m.meta, now)); err != nil {
			return false, err
		}
	}
	saved := m.session.markSaved(u, nil)
	m.shareMetaLocked(&saved.Meta)
	if !m.has(fStored) {
		m.born(m.oldID)
	}
	m.oldID = ""
	m.flags = m.flags&^(fRenew|fTouch|fReissue|fKeep) | fStored
	maxAge := mw.cfg.cookieMaxAge()
	if meta.Persist {
		maxAge = persistMaxAge(mw.recordTTL(&meta, now))
	}
	for i, v := range vals {
		mw.setNamedCookie(h, chunkName(mw.cfg.cookieName, i+1), v, maxAge)
	}
	for i := len(vals) + 1; i <= st.chunks; i++ {
		mw.setNamedCookie(h, chunkName(mw.cfg.cookieName, i), "", -1)
	}
	return true, nil
}

// destroy implements backend: the session's lineage is revoked, which ends
// every cookie issued in its life.
func (b *cookieBackend) destroy(m *SessionManager, now int64) error {
	st := m.state()
	if st.lineage == "" {
		return nil
	}
	if err := b.revoke(m.ctx, st.lineage, b.mw.revocationTTL(*m.meta, now)); err != nil {
		return err
	}
	st.lineage = ""
	return nil
}

// expire implements backend: every session cookie the request carried is
// cleared.
func (b *cookieBackend) expire(m *SessionManager, h http.Header) {
	n := max(m.state().chunks, 1)
	for i := 1; i <= n; i++ {
		b.mw.setNamedCookie(h, chunkName(b.mw.cfg.cookieName, i), "", -1)
	}
}

// chunksPresent returns the highest k such that the request carries the
// session cookie chunks 1..k, or 0.
func (b *cookieBackend) chunksPresent(r *http.Request) int {
	n := 0
	for i := 1; i <= b.codec.chunks; i++ {
		if len(r.CookiesNamed(chunkName(b.mw.cfg.cookieName, i))) == 0 {
			if i == 1 {
				return 0
			}
			continue
		}
		n = i
	}
	return n
}

func revocationKey(id string) string { return "revoked:" + id }

// revocationTTL is how long a cookie of a session with meta, destroyed at
// now, could still have been accepted: until the session's earliest
// deadline, plus one touch interval of slack for cookies signed later.
func (mw *Middleware) revocationTTL(meta Meta, now int64) time.Duration {
	ttl := mw.ttl
	if meta.Saved != 0 {
		ttl = mw.recordTTL(&meta, now)
	}
	return ttl + mw.cfg.touchInterval
}

// revoke lists id (a lineage, or a remember-me token) in the revocation
// store for ttl, after which nothing carrying it would be accepted anyway.
func (b *cookieBackend) revoke(ctx context.Context, id string, ttl time.Duration) error {
	if b.revs == nil || id == "" || ttl <= 0 {
		return nil
	}
	now := b.mw.now()
	_, err := b.mw.save(ctx, b.revs, revocationKey(id), Update{Replace: true, Meta: Meta{Created: now}}, ttl, now)
	if err != nil {
		return fmt.Errorf("sessionmw: revoke %s: %w", fingerprint(id), err)
	}
	return nil
}

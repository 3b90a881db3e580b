package sessionmw

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Remember-me: after Login, a second, persistent cookie carries an
// encrypted token of the identity. When the browser-session cookie is gone
// (the browser was closed) or its session ended, a request with a valid
// remember cookie gets a new session with that identity and the values
// the session held when it was last saved: a copy of them is kept with
// the token (a record beside the token's with server storage, costing one
// more store write per save that changes values; inside the remember
// cookie itself with cookie storage, when they fit in one cookie).
//
// With server storage a token is spent by the restore it makes: the token
// is marked with the restored session (a compare-and-set, so concurrent
// requests carrying it share one restored session rather than each minting
// one) and a new token, with the same absolute deadline, goes out with the
// session. The sessions the spent token belonged to are destroyed: their
// client has lost them. Logout revokes the session's token and the one the
// request carried.
//
// With cookie storage there is no server record to spend: every cookie
// session carries its token's id, and a session whose token is on the
// revocation list is refused, so revoking the token (logout, a new login)
// ends every session restored from it.
// Without a revocation store, a remember cookie replayed after logout
// stays valid until its timeouts, as cookie sessions do.

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

func rememberKey(rid string) string { return rememberPrefix + rid }

// rememberDataKey holds the values a token restores (server storage).
func rememberDataKey(rid string) string { return rememberPrefix + "data:" + rid }

const rememberPrefix = "remember:"

// isTokenKey reports whether a store key holds a remember-me token.
func isTokenKey(id string) bool { return strings.HasPrefix(id, rememberPrefix) }

// tokenRecord is what the store keeps of a live token: its deadlines and,
// so that RevokeSubject finds it after its session ended, its subject
// (Sessions leaves tokens out).
func tokenRecord(token Meta, subject, audience string) Meta {
	return Meta{Created: token.Created, Saved: token.Saved, Subject: subject, Audience: audience}
}

// rememberState is remember-me's per-request state.
type rememberState struct {
	token   string // the token this response sends (with issue)
	tmeta   Meta   // its metadata: Created, Saved and the identity
	prev    string // the token a Login replaces, revoked once the login is saved
	carried string // the valid token the request carried
	had     bool   // the request carried a remember cookie
	fresh   bool   // token was minted by Login and is not recorded yet
	issue   bool   // send token's cookie on this response
	expire  bool   // send the remember cookie's removal
	cookie  string // the remember cookie the request carried (cookie storage re-issues it)
}

// rememberBackend is what remember-me needs from where sessions live.
type rememberBackend interface {
	// restoreFrom gives m a session for the identity of the token rid
	// (whose metadata is token, and which carried vals in cookie
	// storage); false when the token was revoked.
	restoreFrom(m *SessionManager, rid string, token Meta, vals []Entry, now int64) (bool, error)
	// keepValues records the values rid restores.
	keepValues(m *SessionManager, rid string, vals []Entry) error
	// keepToken records a new token, live for ttl.
	keepToken(m *SessionManager, rid string, token Meta, ttl time.Duration) error
	// dropToken revokes a token (for ttl, where revocation is a list).
	dropToken(m *SessionManager, rid string, ttl time.Duration) error
}

type rememberFeature struct {
	mw     *Middleware
	rc     rememberConfig
	codec  *cookieCodec
	tokens rememberBackend
}

// installRemember attaches remember-me to the lifecycle.
func installRemember(mw *Middleware, keys [][]byte) error {
	if mw.cfg.remember == nil {
		return nil
	}
	codec, err := newCookieCodecInfo(rememberInfo, 1, keys...)
	if err != nil {
		return err
	}
	f := &rememberFeature{mw: mw, rc: *mw.cfg.remember, codec: codec, tokens: mw.backend.(rememberBackend)}
	h := &mw.hooks
	h.resolved = append(h.resolved, f.restore)
	h.login = append(h.login, f.login)
	h.authenticated = append(h.authenticated, f.afterLogin)
	h.saved = append(h.saved, f.saved)
	h.committed = append(h.committed, f.cookie)
	h.destroyed = append(h.destroyed, f.revoke)
	return nil
}

// tokenTTL is how long a token with meta may live from now.
func (f *rememberFeature) tokenTTL(meta Meta, now int64) time.Duration {
	return min(f.rc.rolling, time.Duration(meta.Created+int64(f.rc.absolute)-now))
}

// restore gives a request without a live session the session its
// remember cookie's token leads to.
func (f *rememberFeature) restore(m *SessionManager, r *http.Request) (bool, error) {
	mw := f.mw
	cs := r.CookiesNamed(f.rc.name)
	if len(cs) == 0 {
		return false, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := &m.state().remember
	st.had, st.cookie = true, cs[0].Value
	if m.has(fFound) {
		return false, nil
	}
	o, err := f.codec.open(f.rc.name, cs[0].Value, r)
	if err != nil || o.rec == nil {
		if err != nil {
			mw.log.LogAttrs(r.Context(), slog.LevelWarn, "invalid remember-me cookie ignored", slog.String("reason", err.Error()))
		}
		return false, nil
	}
	now := mw.now()
	tm := o.rec.Meta
	switch {
	case now-tm.Saved >= int64(f.rc.rolling), now-tm.Created >= int64(f.rc.absolute):
		mw.log.LogAttrs(r.Context(), slog.LevelInfo, "remember-me token expired")
		return false, nil
	case tm.Audience != mw.cfg.audience:
		return false, nil
	case !mw.binder.matches(tm.Bind, r):
		mw.refused(r.Context(), RefusedBinding, "cookie:"+f.rc.name, r.RemoteAddr, nil)
		return false, nil
	}
	if ok, err := mw.identityExists(m.ctx, &tm); err != nil || !ok {
		if err == nil {
			mw.log.LogAttrs(r.Context(), slog.LevelInfo, "remember-me identity is gone; token ignored")
		}
		return false, err
	}
	ok, err := f.tokens.restoreFrom(m, o.id, tm, o.rec.Values, now)
	if err != nil {
		return false, fmt.Errorf("sessionmw: remember-me restore: %w", err)
	}
	if !ok {
		mw.log.LogAttrs(r.Context(), slog.LevelWarn, "revoked remember-me token replayed", slog.String("remote", r.RemoteAddr))
		return false, nil
	}
	st.carried = o.id
	mw.log.LogAttrs(r.Context(), slog.LevelInfo, "session restored from remember-me token", slog.Any("session", fingerprint(m.id)))
	return false, nil
}

// login mints the token of a new login; the one it replaces is revoked
// once the login is saved.
func (f *rememberFeature) login(m *SessionManager, meta *Meta) {
	st := &m.state().remember
	if meta.Remember != "" && st.prev == "" {
		st.prev = meta.Remember
	}
	meta.Remember = newID()
	st.token, st.fresh, st.issue = meta.Remember, true, false
}

// afterLogin records a login's new token and revokes the one it replaced.
func (f *rememberFeature) afterLogin(m *SessionManager, h http.Header) error {
	st := &m.state().remember
	now := f.mw.now()
	if st.prev != "" {
		if err := f.tokens.dropToken(m, st.prev, f.rc.absolute); err != nil {
			return fmt.Errorf("sessionmw: revoke remember-me token: %w", err)
		}
		st.prev = ""
	}
	if !st.fresh || st.token != m.meta.Remember {
		return nil
	}
	st.fresh = false
	st.tmeta = Meta{Created: now, Saved: now}
	if err := f.tokens.keepToken(m, st.token, st.tmeta, f.tokenTTL(st.tmeta, now)); err != nil {
		return fmt.Errorf("sessionmw: save remember-me token: %w", err)
	}
	st.issue = true
	return f.tokens.keepValues(m, st.token, m.session.entries())
}

// saved keeps the values the session's token restores up to date.
func (f *rememberFeature) saved(m *SessionManager, changes Update) error {
	rid := m.meta.Remember
	if rid == "" {
		return nil
	}
	st := &m.state().remember
	if st.fresh {
		return nil // afterLogin records them with the new token
	}
	if _, ok := f.tokens.(*cookieBackend); ok {
		// The values travel in the remember cookie: send it again, if
		// the one the request carried is this session's token.
		if st.token != rid && st.cookie != "" {
			if o, err := f.codec.open(f.rc.name, st.cookie, m.req); err == nil && o.id == rid {
				st.token, st.tmeta = rid, Meta{Created: o.rec.Meta.Created}
			}
		}
		st.issue = st.token == rid
		return nil
	}
	return f.tokens.(serverBackend).keepChanges(m, rid, changes)
}

// cookie sends the remember cookie, or its removal, on a committed
// response.
func (f *rememberFeature) cookie(m *SessionManager, h http.Header) {
	if m.ext == nil {
		return
	}
	st := &m.ext.remember
	if st.expire {
		f.mw.setNamedCookie(h, f.rc.name, "", -1)
		st.expire = false
		return
	}
	if !st.issue || !m.has(fStored) || st.token != m.meta.Remember {
		return
	}
	st.issue = false
	now := f.mw.now()
	tm := st.tmeta
	tm.Saved = now
	tm.Subject, tm.Credential, tm.Groups, tm.Audience = m.meta.Subject, m.meta.Credential, m.meta.Groups, m.meta.Audience
	tm.Bind = m.meta.Bind // a token is bound as its session is
	ttl := f.tokenTTL(tm, now)
	if ttl <= 0 {
		return
	}
	var carried []Entry
	if _, ok := f.tokens.(*cookieBackend); ok {
		carried = m.session.entries() // cookie storage: the values travel in the token
	}
	vals, err := f.codec.seal(f.rc.name, st.token, st.token, tm, carried)
	if errors.Is(err, ErrSessionTooLarge) {
		f.mw.log.LogAttrs(m.ctx, slog.LevelDebug, "remember-me cookie without the session's values: they do not fit in one cookie")
		vals, err = f.codec.seal(f.rc.name, st.token, st.token, tm, nil)
	}
	if err != nil {
		f.mw.log.LogAttrs(m.ctx, slog.LevelError, "remember-me cookie not sent", slog.Any("error", err))
		return
	}
	f.mw.setNamedCookie(h, f.rc.name, vals[0], int((ttl+time.Second-1)/time.Second))
}

// revoke ends the destroyed session's token, the one the request carried
// and one a login was replacing, and expires the cookie.
func (f *rememberFeature) revoke(m *SessionManager) error {
	st := &m.state().remember
	for _, rid := range [...]string{m.meta.Remember, st.carried, st.prev} {
		if rid == "" {
			continue
		}
		if err := f.tokens.dropToken(m, rid, f.rc.absolute); err != nil {
			return fmt.Errorf("sessionmw: revoke remember-me token: %w", err)
		}
	}
	if st.had || m.meta.Remember != "" {
		st.expire = true
	}
	st.carried, st.prev, st.token, st.issue, st.fresh = "", "", "", false, false
	return nil
}

// restoreFrom implements rememberBackend for server storage: the token is
// spent by a compare-and-set on its record, and concurrent requests that
// carry it adopt the one session it was spent on.
func (b serverBackend) restoreFrom(m *SessionManager, rid string, token Meta, _ []Entry, now int64) (bool, error) {
	mw := b.mw
	ctx := m.ctx
	rec, err := mw.load(ctx, mw.store, rememberKey(rid), now)
	if err != nil || rec == nil {
		return false, err
	}
	if rec.Meta.Successor == "" {
		won, err := b.spendToken(m, rid, rec, token, now)
		if err != nil || won {
			return won, err
		}
		if rec, err = mw.load(ctx, mw.store, rememberKey(rid), now); err != nil || rec == nil {
			return false, err
		}
	}
	// Spent already, by a concurrent request or by one whose response
	// this client missed: within the grace period, share its session.
	if rec.Meta.Successor == "" || now-rec.Meta.Saved >= int64(mw.cfg.renewGrace) {
		return false, nil
	}
	got, err := b.follow(ctx, rec.Meta.Successor, now)
	if err != nil || got.rec == nil {
		return false, err
	}
	m.adoptLocked(got.id, got.rec)
	m.flags |= fReissue
	if next := got.rec.Meta.Remember; next != "" {
		trec, err := mw.load(ctx, mw.store, rememberKey(next), now)
		if err != nil {
			return false, err
		}
		if trec != nil {
			st := &m.state().remember
			st.token, st.tmeta, st.issue = next, Meta{Created: trec.Meta.Created}, true
		}
	}
	return true, nil
}

// spendToken restores a session from the live token rid (record rec): the
// session is saved, then the token marked with it. It reports false when
// another request spent the token first.
func (b serverBackend) spendToken(m *SessionManager, rid string, rec *Record, token Meta, now int64) (bool, error) {
	mw := b.mw
	ctx := m.ctx
	sid, next := newID(), newID()
	meta := Meta{Created: now, Issued: now, Saved: now, Subject: token.Subject, Credential: token.Credential,
		Groups: token.Groups, Audience: mw.cfg.audience, Remember: next}
	mw.bindMeta(&meta, m.req)
	data, err := mw.load(ctx, mw.store, rememberDataKey(rid), now)
	if err != nil {
		return false, err
	}
	var vals []Entry
	if data != nil {
		vals = data.Values
	}
	stored, err := mw.save(ctx, mw.store, sid, Update{Replace: true, Set: vals, Meta: meta}, mw.recordTTL(&meta, now), now)
	if err != nil {
		return false, err
	}
	mark := rec.Meta
	mark.Successor, mark.Saved = sid, now
	if _, err := mw.save(ctx, mw.store, rememberKey(rid), Update{Meta: mark}, mw.cfg.renewGrace, now); err != nil {
		if derr := mw.del(ctx, mw.store, sid); derr != nil {
			return false, derr
		}
		if errors.Is(err, ErrSuperseded) || errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	// The token's successor keeps its absolute deadline.
	tm := Meta{Created: token.Created, Saved: now}
	ttl := min(mw.cfg.remember.rolling, time.Duration(tm.Created+int64(mw.cfg.remember.absolute)-now))
	if ttl > 0 {
		trec := tokenRecord(tm, token.Subject, mw.cfg.audience)
		if _, err := mw.save(ctx, mw.store, rememberKey(next), Update{Replace: true, Meta: trec}, ttl, now); err != nil {
			return false, err
		}
	}
	// The sessions the spent token was issued with are lost to their
	// client; nobody else may keep them.
	if infos, err := mw.Sessions(ctx, token.Subject); err == nil {
		for _, in := range infos {
			if in.Meta.Remember == rid && in.ID != mw.storeKey(sid) {
				// Not DestroySession: that would revoke rid, whose spent
				// record the concurrent restores are following.
				if err := mw.delStored(ctx, mw.store, in.ID); err != nil {
					return false, err
				}
				mw.destroyedElsewhere(ctx, in, ReasonRevoked)
			}
		}
	} else if !errors.Is(err, ErrNoSubjectIndex) {
		return false, err
	}
	if vals != nil {
		// The values go with the new token; the spent one's copy goes.
		if err := b.keepValues(m, next, vals); err != nil {
			return false, err
		}
		if err := mw.del(ctx, mw.store, rememberDataKey(rid)); err != nil {
			return false, err
		}
	}
	if stored == nil {
		stored = Merge(nil, Update{Replace: true, Set: vals, Meta: meta})
	}
	m.adoptLocked(sid, stored)
	m.flags |= fReissue | fAuthed
	if mw.hooked() {
		mw.emit(mw.cfg.events.Created, ctx, m.event("remember"))
	}
	st := &m.state().remember
	st.token, st.tmeta, st.issue = next, tm, ttl > 0
	return true, nil
}

// keepToken implements rememberBackend: the token's record says it is
// live (see tokenRecord).
func (b serverBackend) keepToken(m *SessionManager, rid string, token Meta, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	trec := tokenRecord(token, m.meta.Subject, b.mw.cfg.audience)
	_, err := b.mw.save(m.ctx, b.mw.store, rememberKey(rid), Update{Replace: true, Meta: trec}, ttl, b.mw.now())
	return err
}

// dropToken implements rememberBackend: the token and the values it
// would restore.
func (b serverBackend) dropToken(m *SessionManager, rid string, _ time.Duration) error {
	if err := b.mw.del(m.ctx, b.mw.store, rememberKey(rid)); err != nil {
		return err
	}
	return b.mw.del(m.ctx, b.mw.store, rememberDataKey(rid))
}

// keepChanges applies a save's changes to the values rid restores, as a
// delta, so that concurrent requests changing different keys all count
// (as they do in the session itself); a missing copy is written whole.
func (b serverBackend) keepChanges(m *SessionManager, rid string, changes Update) error {
	mw := b.mw
	now := mw.now()
	changes.Meta = Meta{Created: now, Subject: m.meta.Subject, Audience: mw.cfg.audience}
	_, err := mw.save(m.ctx, mw.store, rememberDataKey(rid), changes, mw.cfg.remember.rolling, now)
	if errors.Is(err, ErrNotFound) {
		return b.keepValues(m, rid, m.session.entries())
	}
	return err
}

// keepValues implements rememberBackend: a record beside the token's,
// with the subject so that RevokeSubject finds it, live as long as a
// token can be.
func (b serverBackend) keepValues(m *SessionManager, rid string, vals []Entry) error {
	mw := b.mw
	meta := Meta{Created: mw.now(), Subject: m.meta.Subject, Audience: mw.cfg.audience}
	_, err := mw.save(m.ctx, mw.store, rememberDataKey(rid), Update{Replace: true, Set: vals, Meta: meta}, mw.cfg.remember.rolling, mw.now())
	return err
}

// restoreFrom implements rememberBackend for cookie storage: a new cookie
// session in the lineage of the token's restores, unless the token was
// revoked.
func (b *cookieBackend) restoreFrom(m *SessionManager, rid string, token Meta, vals []Entry, now int64) (bool, error) {
	revoked, err := b.revoked(m.ctx, rid)
	if err != nil || revoked {
		return false, err
	}
	m.forgetLocked()
	m.setMetaLocked(Meta{Subject: token.Subject, Credential: token.Credential, Groups: token.Groups,
		Audience: b.mw.cfg.audience, Remember: rid})
	if len(vals) > 0 {
		m.session.base = &Record{Values: vals}
	}
	m.id = newID()
	m.flags |= fRenew | fAuthed | fFound
	st := m.state()
	st.createdBy = "remember"
	st.lineage = "" // a lineage of its own; the token ends it too (Meta.Remember)
	st.remember.token, st.remember.tmeta, st.remember.issue = rid, Meta{Created: token.Created}, true
	return true, nil
}

// keepValues implements rememberBackend: the values travel in the
// remember cookie (see rememberFeature.cookie).
func (b *cookieBackend) keepValues(*SessionManager, string, []Entry) error { return nil }

// keepToken implements rememberBackend: cookie tokens need no record.
func (b *cookieBackend) keepToken(*SessionManager, string, Meta, time.Duration) error { return nil }

// dropToken implements rememberBackend: the token goes on the revocation
// list, which also ends every cookie session that carries it (those
// restored from it, and the one it was issued with).
func (b *cookieBackend) dropToken(m *SessionManager, rid string, ttl time.Duration) error {
	return b.revoke(m.ctx, rid, ttl)
}

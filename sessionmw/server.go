package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"
)

// serverBackend keeps sessions in a Store; the client holds only a signed
// id, in the channel WithKeyLookup names.
type serverBackend struct{ mw *Middleware }

// maxCandidates bounds how many credentials of one request are examined
// (several cookies of the session's name, say): each costs a store read.
const maxCandidates = 4

// maxHops bounds how many successor links one request follows.
const maxHops = 3

// retired is the successor of an id that an explicit renewal (Login,
// RenewID) replaced: it leads nowhere, so that an id planted before login
// never reaches the logged-in session.
const retired = "-"

// retireTTL is how long a retired id stays in the store so that a request
// that loaded it before the renewal, and writes, fails instead of losing
// its write.
const retireTTL = time.Minute

// lookup is the outcome of following one id to its session.
type lookup struct {
	id     string  // where the chain ended
	rec    *Record // nil: no live session (why says why)
	via    bool    // reached through a superseded id
	why    string  // a Refused* reason, or ReasonExpired
	detail string  // for the log
	ended  *Meta   // ReasonExpired: the ended session's metadata
}

// follow loads id and follows successor links to the live session they
// lead to, checking its deadlines and audience.
func (b serverBackend) follow(ctx context.Context, id string, now int64) (lookup, error) {
	mw := b.mw
	rec, err := mw.load(ctx, mw.store, id, now)
	if err != nil {
		return lookup{}, fmt.Errorf("sessionmw: load session %s: %w", fingerprint(id), err)
	}
	via := false
	for hops := 0; rec != nil && rec.Meta.Successor != ""; hops++ {
		switch {
		case rec.Meta.Successor == retired:
			return lookup{id: id, why: RefusedRenewed, detail: "retired by a login"}, nil
		case now-rec.Meta.Saved >= int64(mw.cfg.renewGrace):
			return lookup{id: id, why: RefusedRenewed, detail: "renewed, grace period over"}, nil
		case hops == maxHops:
			return lookup{id: id, why: RefusedRenewed, detail: "renewed too often"}, nil
		}
		id, via = rec.Meta.Successor, true
		if rec, err = mw.load(ctx, mw.store, id, now); err != nil {
			return lookup{}, fmt.Errorf("sessionmw: load renewed session %s: %w", fingerprint(id), err)
		}
	}
	switch {
	case rec == nil:
		return lookup{id: id, why: RefusedUnknown, detail: "not found"}, nil
	case rec.Meta.Audience != mw.cfg.audience:
		return lookup{id: id, why: RefusedAudience, detail: "another audience"}, nil
	}
	if why := mw.expired(&rec.Meta, now); why != "" {
		if why == whyFuture {
			return lookup{id: id, why: RefusedMalformed, detail: why}, nil
		}
		return lookup{id: id, why: ReasonExpired, detail: why, ended: &rec.Meta}, nil
	}
	return lookup{id: id, rec: rec, via: via}, nil
}

// resolve implements backend.
func (b serverBackend) resolve(m *SessionManager, r *http.Request, now int64) error {
	mw := b.mw
	var (
		chosen   lookup
		ts       int64
		fallback bool
		seen     int // credentials examined
		distinct int // distinct live sessions among them
		err      error
	)
	ctx := r.Context()
	mw.cfg.lookup.each(r, func(v string) bool {
		if seen++; seen > maxCandidates {
			return false
		}
		if v == "" {
			return true
		}
		m.flags |= fHadCookie
		id, signed, fb, derr := mw.ids.decodeAt(mw.cfg.cookieName, v, now/int64(time.Second))
		if derr != nil {
			mw.refused(ctx, refusalOf(derr), mw.cfg.lookup.String(), r.RemoteAddr, derr)
			return true
		}
		got, lerr := b.follow(ctx, id, now)
		if lerr != nil {
			err = lerr
			return false
		}
		if got.rec != nil && !mw.binder.matches(got.rec.Meta.Bind, r) {
			got = lookup{id: got.id, why: RefusedBinding, detail: "bound to another client"}
		}
		if got.rec == nil {
			// Never adopt the id, even though it is signed.
			mw.ended(ctx, got, r.RemoteAddr)
			return true
		}
		if distinct == 0 || got.id != chosen.id {
			distinct++
		}
		if distinct == 1 {
			chosen, ts, fallback = got, signed, fb
		}
		return true
	})
	if err != nil {
		return err
	}
	if seen > 1 {
		mw.log.LogAttrs(ctx, slog.LevelWarn, "several session credentials in one request",
			slog.String("source", mw.cfg.lookup.String()), slog.Int("count", seen), slog.Int("live", distinct), slog.String("remote", r.RemoteAddr))
	}
	switch {
	case distinct == 0:
		return nil
	case distinct > 1:
		// Two live sessions offered at once: one may have been planted
		// (cookie tossing from a sibling domain, a more specific path).
		// Adopting either could put the client in a session it did not
		// start, so it gets neither.
		mw.refused(ctx, RefusedAmbiguous, mw.cfg.lookup.String(), r.RemoteAddr, nil)
		return nil
	}
	m.adoptLocked(chosen.id, chosen.rec)
	m.cookieTS = ts
	if chosen.rec.Meta.Sealed == resealMark {
		// Stored in plaintext, or sealed under a retired secret: the next
		// save writes every value again, sealed under the current one.
		m.session.rewriteAll()
	}
	if fallback || chosen.via || chosen.rec.Meta.Saved/int64(time.Second)-ts >= int64(mw.cfg.touchInterval/time.Second) {
		// A retired key signed it, the client missed the response that
		// renewed its id, or the one that re-signed it after a save (its
		// signature would expire while the session lives): hand it the
		// current one.
		m.flags |= fReissue
	}
	if !chosen.via && now-chosen.rec.Meta.Saved >= int64(mw.cfg.touchInterval) {
		m.flags |= fTouch
	}
	if after := mw.cfg.renewAfter; after > 0 && !chosen.via && now-chosen.rec.Meta.Issued >= int64(after) {
		return b.autoRenew(m, ctx, now)
	}
	return nil
}

// ended reports a credential that led to no live session: a session
// whose deadline passed is reported destroyed (expired), anything else
// refused.
func (mw *Middleware) ended(ctx context.Context, got lookup, remote string) {
	if got.why != ReasonExpired {
		mw.refused(ctx, got.why, mw.cfg.lookup.String(), remote, errors.New(got.detail))
		return
	}
	mw.log.LogAttrs(ctx, slog.LevelDebug, "session ended", slog.String("reason", got.detail), slog.Any("session", fingerprint(got.id)))
	if mw.hooked() {
		mw.emit(mw.cfg.events.Destroyed, ctx, Event{Session: Fingerprint(got.id), Subject: got.ended.Subject, Audience: got.ended.Audience, Reason: ReasonExpired})
	}
}

// autoRenew moves the adopted session to a new id now, before the handler
// runs: the whole session is saved under the new id, then the old id is
// marked with it (a compare-and-set). A renewer that loses adopts the
// winner's successor.
func (b serverBackend) autoRenew(m *SessionManager, ctx context.Context, now int64) error {
	mw := b.mw
	old, base := m.id, m.session.base
	meta := base.Meta
	meta.Issued, meta.Saved = now, now
	ttl := mw.recordTTL(&meta, now)
	if ttl <= 0 {
		m.forgetLocked()
		return nil
	}
	next := newID()
	full := Update{Replace: true, Set: base.Values, Meta: meta}
	stored, err := mw.save(ctx, mw.store, next, full, ttl, now)
	if err != nil {
		return fmt.Errorf("sessionmw: renew session %s: %w", fingerprint(old), err)
	}
	if stored == nil {
		stored = Merge(nil, full)
	}
	mark := base.Meta
	mark.Successor, mark.Saved = next, now
	frozen, err := b.supersede(ctx, old, mark, mw.cfg.renewGrace, now)
	switch {
	case err == nil:
		if stored, err = b.carryOver(ctx, next, base, frozen, nil, meta, ttl, now, stored); err != nil {
			return err
		}
		mw.log.LogAttrs(ctx, slog.LevelDebug, "session id renewed", slog.Any("session", fingerprint(old)), slog.Any("successor", fingerprint(next)))
		m.adoptLocked(next, stored)
		m.renewed(ctx, old, "auto")
		m.flags = m.flags&^fTouch | fReissue
		return nil
	case errors.Is(err, ErrSuperseded), errors.Is(err, ErrNotFound):
		// Another request renewed it first (or ended it): drop our copy and
		// take what the old id leads to now.
		if derr := mw.del(ctx, mw.store, next); derr != nil {
			return fmt.Errorf("sessionmw: drop losing renewal of %s: %w", fingerprint(old), derr)
		}
		got, err := b.follow(ctx, old, now)
		if err != nil {
			return err
		}
		m.forgetLocked()
		if got.rec != nil {
			m.adoptLocked(got.id, got.rec)
			m.flags |= fReissue
		}
		return nil
	default:
		_ = mw.del(ctx, mw.store, next)
		return fmt.Errorf("sessionmw: renew session %s: %w", fingerprint(old), err)
	}
}

// supersede marks id with its successor (in mark) for ttl, and returns the
// record as it stood when it was marked (nil if the store cannot tell and
// reloading fails to find it). ErrSuperseded reports another renewal won.
func (b serverBackend) supersede(ctx context.Context, id string, mark Meta, ttl time.Duration, now int64) (*Record, error) {
	mw := b.mw
	frozen, err := mw.save(ctx, mw.store, id, Update{Meta: mark}, ttl, now)
	if err != nil || frozen != nil {
		return frozen, err
	}
	// Marked: the record cannot change any more, so reading it back gives
	// exactly what it held at the mark.
	frozen, err = mw.load(ctx, mw.store, id, now)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: read renewed session %s: %w", fingerprint(id), err)
	}
	return frozen, nil
}

// carryOver copies onto the successor next the writes that other requests
// made to the old id between base (what this request loaded) and frozen
// (the old id when it was marked), except keys this request changed
// itself (mine). It returns the successor's record as stored, or stored
// unchanged when there was nothing to carry.
func (b serverBackend) carryOver(ctx context.Context, next string, base, frozen *Record, mine *Session, meta Meta, ttl time.Duration, now int64, stored *Record) (*Record, error) {
	if frozen == nil || frozen == base {
		return stored, nil
	}
	u := diffRecords(base, frozen, mine)
	if len(u.Set) == 0 && len(u.Delete) == 0 {
		return stored, nil
	}
	u.Meta = meta
	rec, err := b.mw.save(ctx, b.mw.store, next, u, ttl, now)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: carry writes over to renewed session %s: %w", fingerprint(next), err)
	}
	if rec == nil {
		rec = Merge(stored, u)
	}
	return rec, nil
}

// diffRecords returns the delta that turns base's values into cur's,
// leaving out keys that mine (this request's own changes, may be nil) set
// or deleted.
func diffRecords(base, cur *Record, mine *Session) Update {
	var u Update
	skip := func(k string) bool { return mine != nil && mine.touched(k) }
	for _, e := range cur.Values {
		if skip(e.Key) {
			continue
		}
		if v, ok := base.Get(e.Key); !ok || !sameValue(v, e.Value) {
			u.Set = append(u.Set, e)
		}
	}
	for _, e := range base.Values {
		if _, ok := cur.Get(e.Key); !ok && !skip(e.Key) {
			u.Delete = append(u.Delete, e.Key)
		}
	}
	return u
}

// sameValue reports whether two session values are equal.
func sameValue(a, b any) bool {
	return reflect.DeepEqual(a, b)
}

// commit implements backend.
func (b serverBackend) commit(m *SessionManager, h http.Header, now int64) (bool, error) {
	mw := b.mw
	full := !m.has(fStored)
	if m.id == "" {
		m.id = newID()
	}
	meta := *m.meta
	if full {
		if meta.Created == 0 || !m.has(fRenew) {
			meta.Created = now // renewals keep the creation time
		}
		meta.Issued = now
	}
	meta.Saved = now
	meta.Successor = ""
	meta.Audience = mw.cfg.audience
	if full {
		mw.bindMeta(&meta, m.req)
	}
	ttl := mw.recordTTL(&meta, now)
	if ttl <= 0 {
		// Past its absolute timeout: the session is over, whatever changed.
		mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session reached its absolute timeout; changes dropped",
			slog.Any("session", fingerprint(m.id)))
		m.forgetLocked()
		return false, nil
	}
	var u Update
	switch {
	case full || m.session.Modified():
		u = m.session.update(full, meta)
	case !m.has(fTouch) && m.has(fReissue):
		// Nothing to write: only the client's credential is out of date.
		return true, b.sendIDLocked(m, h, now, true)
	default:
		u = Update{Meta: meta}
	}
	var stored *Record
	var err error
	old := m.oldID
	if full {
		stored, err = b.saveNewLocked(m, u, meta, ttl, now)
	} else {
		stored, err = b.saveDeltaLocked(m, u, ttl, now)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		// The session ended meanwhile (a concurrent logout or expiry):
		// never resurrect it. The client's credential now maps to nothing.
		mw.log.LogAttrs(m.ctx, slog.LevelInfo, "session ended during the request; changes dropped",
			slog.Any("session", fingerprint(m.id)))
		m.forgetLocked()
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sessionmw: save session %s: %w", fingerprint(m.id), err)
	}
	saved := m.session.markSaved(u, stored)
	m.shareMetaLocked(&saved.Meta)
	m.flags = m.flags&^(fRenew|fTouch|fKeep) | fStored
	if full {
		m.born(old)
	}
	return true, b.sendIDLocked(m, h, now, full)
}

// saveNewLocked saves a session under a new id: a new session, or one
// that an explicit renewal moves, whose old id it then retires.
func (b serverBackend) saveNewLocked(m *SessionManager, u Update, meta Meta, ttl time.Duration, now int64) (*Record, error) {
	mw := b.mw
	stored, err := mw.save(m.ctx, mw.store, m.id, u, ttl, now)
	if err != nil || m.oldID == "" {
		return stored, err
	}
	if stored == nil {
		stored = Merge(nil, u)
	}
	old, base := m.oldID, m.session.base
	mark := noMeta
	if base != nil {
		mark = base.Meta
	}
	mark.Successor, mark.Saved = retired, now
	frozen, err := b.supersede(m.ctx, old, mark, retireTTL, now)
	switch {
	case err == nil:
		m.oldID = ""
		if base != nil && !m.session.wasCleared() {
			return b.carryOver(m.ctx, m.id, base, frozen, &m.session, meta, ttl, now, stored)
		}
		return stored, nil
	case errors.Is(err, ErrSuperseded), errors.Is(err, ErrNotFound):
		// Renewed or ended by another request meanwhile: either way the
		// old id no longer leads anywhere this request must retire.
		m.oldID = ""
		return stored, nil
	default:
		_ = mw.del(m.ctx, mw.store, m.id)
		return nil, fmt.Errorf("retire %s: %w", fingerprint(old), err)
	}
}

// saveDeltaLocked applies u to the session's id; if renewal superseded the
// id meanwhile, it follows the successor and applies u there.
func (b serverBackend) saveDeltaLocked(m *SessionManager, u Update, ttl time.Duration, now int64) (*Record, error) {
	mw := b.mw
	for hops := 0; ; hops++ {
		stored, err := mw.save(m.ctx, mw.store, m.id, u, ttl, now)
		if !errors.Is(err, ErrSuperseded) || hops == maxHops {
			return stored, err
		}
		cur, lerr := mw.load(m.ctx, mw.store, m.id, now)
		switch {
		case lerr != nil:
			return nil, lerr
		case cur == nil:
			return nil, ErrNotFound
		case cur.Meta.Successor == retired && len(u.Set) == 0 && len(u.Delete) == 0 && !u.Replace:
			// Only a touch: nothing is lost by not saving it.
			return nil, ErrNotFound
		case cur.Meta.Successor == retired:
			// A login replaced the id while this request ran; its id must
			// not lead to the logged-in session, so the write cannot follow.
			return nil, err
		}
		next, nerr := b.follow(m.ctx, cur.Meta.Successor, now)
		if nerr != nil {
			return nil, nerr
		}
		if next.rec == nil {
			return nil, ErrNotFound
		}
		m.id = next.id
		u.Meta = next.rec.Meta
		u.Meta.Saved = now
		m.flags |= fReissue
	}
}

// sendIDLocked puts the session's signed id on h when the client needs it:
// a new or renewed id, a retired key, or a credential signed more than a
// touch interval ago (which refreshes its signature time and Max-Age).
// It is not sent on every write.
func (b serverBackend) sendIDLocked(m *SessionManager, h http.Header, now int64, force bool) error {
	mw := b.mw
	if h == nil {
		return nil
	}
	secs := now / int64(time.Second)
	stale := secs-m.cookieTS >= int64(mw.cfg.touchInterval/time.Second)
	if !force && !m.has(fReissue) && !stale {
		return nil
	}
	if m.meta.Persist && mw.cfg.lookup.source == fromCookie {
		// RememberMe: a persistent cookie, for the session's time left.
		v, err := mw.ids.encode(mw.cfg.cookieName, m.id)
		if err != nil {
			return err
		}
		mw.setCookie(h, v, persistMaxAge(mw.recordTTL(m.meta, now)))
		m.flags &^= fReissue
		m.cookieTS = secs
		return nil
	}
	if u, ok := parseCanonicalUUID(m.id); ok {
		if c, ok := mw.sessionCookieFast(u); ok {
			h.Add("Set-Cookie", c)
			noStore(h)
			m.flags &^= fReissue
			m.cookieTS = secs
			return nil
		}
	}
	v, err := mw.ids.encode(mw.cfg.cookieName, m.id)
	if err != nil {
		return err
	}
	mw.deliver(h, v, false)
	m.flags &^= fReissue
	m.cookieTS = secs
	return nil
}

// destroy implements backend: the session's id, and a renewal's old id,
// are deleted. Ids that were superseded earlier lead here and so nowhere.
func (b serverBackend) destroy(m *SessionManager, now int64) error {
	for _, id := range [...]string{m.oldID, m.id} {
		if id == "" {
			continue
		}
		if err := b.mw.del(m.ctx, b.mw.store, id); err != nil {
			return err
		}
	}
	return nil
}

// expire implements backend.
func (b serverBackend) expire(m *SessionManager, h http.Header) {
	b.mw.deliver(h, "", true)
}

// persistMaxAge is the Max-Age, in whole seconds rounded up, of a cookie
// that lasts ttl.
func persistMaxAge(ttl time.Duration) int {
	return max(1, int((ttl+time.Second-1)/time.Second))
}

package sessionmw

import (
	"context"
	"fmt"
	"time"
)

// Hooks are functions called at points of a session's life, for metrics,
// tracing or audit logs (package sessionmw/otelsession turns them into
// OpenTelemetry metrics). Set them with WithHooks; every field may be nil,
// and a middleware without hooks pays nothing for them.
//
// Hooks run synchronously on the request's goroutine (Evicted events on
// the store's), so they must be quick and must not block. An Event never
// holds a full session id, only its Fingerprint.
type Hooks struct {
	// Created: a new session was saved for the first time (including one
	// restored from a remember-me token; Reason "remember").
	Created func(ctx context.Context, e Event)
	// Loaded: a request's credential led to a live session.
	Loaded func(ctx context.Context, e Event)
	// Renewed: the session moved to a new id (Previous is the old one);
	// Reason is "auto" (automatic or rolling renewal) or "explicit"
	// (Login, RenewID).
	Renewed func(ctx context.Context, e Event)
	// Destroyed: the session ended; Reason is one of the Reason* constants
	// for ends (ReasonLogout, ReasonRevoked, ReasonExpired, ReasonLimit,
	// ReasonIdentity, ReasonEvicted).
	Destroyed func(ctx context.Context, e Event)
	// Refused: a credential the request carried was not accepted; Reason
	// is one of the Refused* constants. The request goes on with a fresh
	// session (or the one other credential that was accepted).
	Refused func(ctx context.Context, e Event)
	// StoreCall: a call to the store returned; Op is "load", "save",
	// "delete" or "list", Duration how long it took, Err its error (nil
	// on success; an unknown id is not an error).
	StoreCall func(ctx context.Context, e Event)
}

// Event describes what a hook reports. Fields that do not apply are zero.
type Event struct {
	Session  string // Fingerprint of the session id
	Previous string // Renewed: Fingerprint of the id it replaced
	Subject  string // the session's subject, when known
	Audience string
	Reason   string
	Source   string // Refused: where the credential was ("cookie:sid", …)
	Op       string // StoreCall
	Duration time.Duration
	Err      error
}

// Reasons of Destroyed events.
const (
	ReasonLogout   = "logout"   // Destroy, or a logout request
	ReasonRevoked  = "revoke"   // RevokeSubject, RevokeOthers, DestroySession
	ReasonExpired  = "expired"  // a deadline passed (seen on a request, or swept)
	ReasonLimit    = "limit"    // WithMaxSessionsPerSubject
	ReasonIdentity = "identity" // WithIdentityCheck found the identity gone
	ReasonEvicted  = "evicted"  // a bounded store dropped it to make room
)

// Reasons of Refused events.
const (
	RefusedBadSignature     = "bad_signature"     // tampered, or signed with another key or for another name
	RefusedExpiredSignature = "expired_signature" // signed too long ago, or too far in the future
	RefusedMalformed        = "malformed"         // not a credential this middleware makes
	RefusedTooLarge         = "too_large"         // over the size limit
	RefusedUnknown          = "unknown_id"        // verified, but no such session (ended, or never was)
	RefusedEnded            = "ended"             // verified, but the session's deadlines passed
	RefusedRenewed          = "renewed"           // an id renewal retired, or whose grace passed
	RefusedRevoked          = "revoked"           // cookie storage: logged out
	RefusedAudience         = "audience"          // a session of another audience
	RefusedAmbiguous        = "ambiguous"         // credentials for two different live sessions
	RefusedBinding          = "binding"           // the client's attributes do not match the session's (WithBind)
)

// WithHooks sets functions called at points of a session's life (see
// Hooks). Given twice, the later one wins.
func WithHooks(h Hooks) Option {
	return func(c *config) error {
		c.events = &h
		return nil
	}
}

// event returns the Event of the manager's session, for a hook.
func (m *SessionManager) event(reason string) Event {
	return Event{Session: Fingerprint(m.id), Subject: m.meta.Subject, Audience: m.mw.cfg.audience, Reason: reason}
}

// emitted reports whether any hook is set; the hot path checks it first.
func (mw *Middleware) hooked() bool { return mw.cfg.events != nil }

func (mw *Middleware) emit(f func(context.Context, Event), ctx context.Context, e Event) {
	if f != nil {
		f(ctx, e)
	}
}

// refused reports a refused credential to the log and the Refused hook.
// Routine refusals (an ended or unknown session) log at Debug; tampering
// and the like at Warn.
func (mw *Middleware) refused(ctx context.Context, reason, source, remote string, err error) {
	level := levelOfRefusal(reason)
	if mw.log.Enabled(ctx, level) {
		attrs := []any{"reason", reason, "source", source, "remote", remote}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		mw.log.Log(ctx, level, "session credential refused", attrs...)
	}
	if mw.hooked() {
		mw.emit(mw.cfg.events.Refused, ctx, Event{Reason: reason, Source: source, Audience: mw.cfg.audience})
	}
}

// refusalOf classifies a verification error of a signed id.
func refusalOf(err error) string {
	switch err {
	case errMACInvalid:
		return RefusedBadSignature
	case errTimestampExpired, errTimestampTooNew:
		return RefusedExpiredSignature
	case errTooLarge:
		return RefusedTooLarge
	}
	return RefusedMalformed
}

// errTooLarge reports a credential over the size limit.
var errTooLarge = fmt.Errorf("credential over the %d-byte limit", maxCookieValueLen)

// watchEvictions reports the sessions the store drops on its own to the
// Destroyed hook, when the store can tell (EvictionNotifier).
func (mw *Middleware) watchEvictions() {
	if !mw.hooked() || mw.cfg.events.Destroyed == nil {
		return
	}
	n, ok := mw.store.(EvictionNotifier)
	if !ok {
		return
	}
	f := mw.cfg.events.Destroyed
	mw.stopEvictions = n.NotifyEvictions(func(e Eviction) {
		if e.Meta.Audience != mw.cfg.audience || isTokenKey(e.ID) {
			return
		}
		if mw.vault != nil {
			if m, _, err := mw.vault.openMeta(e.ID, e.Meta); err == nil {
				e.Meta = m
			}
		}
		f(context.Background(), Event{Session: Fingerprint(e.ID), Subject: e.Meta.Subject, Audience: e.Meta.Audience, Reason: e.Reason})
	})
}

// The middleware calls its stores through load, save, del and list, which
// seal and hash what goes to the session store when a vault is on (see
// vault.go) and report each call to the StoreCall hook when one is set.
// load, save and del take ids; loadStored and delStored take storage keys
// (what list returns).

func (mw *Middleware) load(ctx context.Context, s Store, id string, now int64) (*Record, error) {
	if mw.vault != nil && s == mw.store {
		return mw.loadStored(ctx, mw.vault.key(id), now)
	}
	return mw.timedLoad(ctx, s, id, now)
}

func (mw *Middleware) loadStored(ctx context.Context, key string, now int64) (*Record, error) {
	rec, err := mw.timedLoad(ctx, mw.store, key, now)
	if err != nil || mw.vault == nil {
		return rec, err
	}
	return mw.vault.openRecord(key, rec)
}

func (mw *Middleware) timedLoad(ctx context.Context, s Store, key string, now int64) (*Record, error) {
	if !mw.hooked() || mw.cfg.events.StoreCall == nil {
		return loadAt(ctx, s, key, now)
	}
	start := time.Now()
	rec, err := loadAt(ctx, s, key, now)
	mw.cfg.events.StoreCall(ctx, Event{Op: "load", Session: Fingerprint(key), Duration: time.Since(start), Err: err, Audience: mw.cfg.audience})
	return rec, err
}

// save applies u; with a vault it returns no record (the stored one is
// sealed), so callers build the plaintext one from u.
func (mw *Middleware) save(ctx context.Context, s Store, id string, u Update, ttl time.Duration, now int64) (*Record, error) {
	sealed := mw.vault != nil && s == mw.store
	if sealed {
		key := mw.vault.key(id)
		var err error
		if u, err = mw.vault.sealUpdate(key, u); err != nil {
			return nil, err
		}
		id = key
	}
	var rec *Record
	var err error
	if !mw.hooked() || mw.cfg.events.StoreCall == nil {
		rec, err = saveAt(ctx, s, id, u, ttl, now)
	} else {
		start := time.Now()
		rec, err = saveAt(ctx, s, id, u, ttl, now)
		mw.cfg.events.StoreCall(ctx, Event{Op: "save", Session: Fingerprint(id), Duration: time.Since(start), Err: err, Audience: mw.cfg.audience})
	}
	if sealed {
		rec = nil
	}
	return rec, err
}

func (mw *Middleware) del(ctx context.Context, s Store, id string) error {
	if mw.vault != nil && s == mw.store {
		id = mw.vault.key(id)
	}
	return mw.delStored(ctx, s, id)
}

func (mw *Middleware) delStored(ctx context.Context, s Store, key string) error {
	if !mw.hooked() || mw.cfg.events.StoreCall == nil {
		return s.Delete(ctx, key)
	}
	start := time.Now()
	err := s.Delete(ctx, key)
	mw.cfg.events.StoreCall(ctx, Event{Op: "delete", Session: Fingerprint(key), Duration: time.Since(start), Err: err, Audience: mw.cfg.audience})
	return err
}

// list lists subject's records; with a vault, IDs are storage keys and
// metadata is opened.
func (mw *Middleware) list(ctx context.Context, idx SubjectIndex, subject string) ([]SessionInfo, error) {
	indexed := mw.vault.subject(subject)
	var infos []SessionInfo
	var err error
	if !mw.hooked() || mw.cfg.events.StoreCall == nil {
		infos, err = idx.SubjectSessions(ctx, indexed)
	} else {
		start := time.Now()
		infos, err = idx.SubjectSessions(ctx, indexed)
		mw.cfg.events.StoreCall(ctx, Event{Op: "list", Subject: subject, Duration: time.Since(start), Err: err, Audience: mw.cfg.audience})
	}
	if err != nil || mw.vault == nil {
		return infos, err
	}
	for i := range infos {
		if infos[i].Meta, _, err = mw.vault.openMeta(infos[i].ID, infos[i].Meta); err != nil {
			return nil, err
		}
		if infos[i].Meta.Sealed == resealMark {
			infos[i].Meta.Sealed = ""
		}
	}
	return infos, nil
}

// storeKey is where the session store keeps id.
func (mw *Middleware) storeKey(id string) string { return mw.vault.key(id) }

// renewed reports that the session moved to its current id from old.
func (m *SessionManager) renewed(ctx context.Context, old, kind string) {
	if m.mw.hooked() {
		e := m.event(kind)
		e.Previous = Fingerprint(old)
		m.mw.emit(m.mw.cfg.events.Renewed, ctx, e)
	}
}

// born reports the first save under the session's id: a renewal from old
// (an explicit one: automatic renewals report themselves), or a new
// session.
func (m *SessionManager) born(old string) {
	if !m.mw.hooked() {
		return
	}
	if old != "" {
		m.renewed(m.ctx, old, "explicit")
		return
	}
	reason := ""
	if m.ext != nil {
		reason = m.ext.createdBy
	}
	m.mw.emit(m.mw.cfg.events.Created, m.ctx, m.event(reason))
}

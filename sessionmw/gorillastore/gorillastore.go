// Package gorillastore lets code written for github.com/gorilla/sessions
// keep its API while its sessions move to any sessionmw store (MemoryIO,
// RistrettoStore, redisstore, …): replace the gorilla store's constructor
// and nothing else changes.
//
//	// before: store := sessions.NewCookieStore(key)
//	store := gorillastore.New(redisStore, key)
//	session, _ := store.Get(r, "session-name")
//	session.Values["user"] = "fiona"
//	err := session.Save(r, w)
//
// The cookie carries only a signed id (securecookie, with the key pairs
// given to New, so rotation works as in gorilla); the values live in the
// sessionmw store, which keeps their Go types. Keys must be strings. Save
// writes the whole session (as gorilla's stores do), and a session saved
// with Options.MaxAge < 0 is deleted from the store.
package gorillastore

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/internal/values"
)

// DefaultMaxAge is the cookie lifetime and server TTL of sessions whose
// Options.MaxAge is 0 (browser-session cookies): they still expire on the
// server after this long without a save.
const DefaultMaxAge = 2 * time.Hour

// Store is a gorilla sessions.Store backed by a sessionmw.Store.
type Store struct {
	store  sessionmw.Store
	codecs []securecookie.Codec
	// Options are the defaults of new sessions. New sets Path "/",
	// MaxAge 30 days, HttpOnly, Secure and SameSite=Lax.
	Options *sessions.Options
}

var _ sessions.Store = (*Store)(nil)

// New returns a Store keeping sessions in store and signing ids with
// keyPairs (as sessions.NewCookieStore takes them: hash key, optional
// block key, then older pairs for rotation).
func New(store sessionmw.Store, keyPairs ...[]byte) *Store {
	s := &Store{
		store:  store,
		codecs: securecookie.CodecsFromPairs(keyPairs...),
		Options: &sessions.Options{
			Path:     "/",
			MaxAge:   86400 * 30,
			HttpOnly: true,
			Secure:   true,
			SameSite: http.SameSiteLaxMode,
		},
	}
	s.MaxAge(s.Options.MaxAge)
	return s
}

// MaxAge sets the default session lifetime in seconds and the signature
// lifetime of the codecs (as gorilla's stores do).
func (s *Store) MaxAge(age int) {
	s.Options.MaxAge = age
	for _, c := range s.codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(max(age, int(DefaultMaxAge/time.Second)))
		}
	}
}

// Get returns the session called name, from the request's registry.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the session called name: the stored one when the request
// carries a valid cookie for it, else a new one (IsNew). As with gorilla's
// stores, an invalid cookie gives a new session and the decoding error.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.Options
	session.Options = &opts
	session.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return session, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return session, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return session, fmt.Errorf("gorillastore: %w", err)
	}
	rec, err := s.store.Load(r.Context(), id)
	if err != nil {
		return session, fmt.Errorf("gorillastore: load %s: %w", sessionmw.Fingerprint(id), err)
	}
	if rec == nil {
		return session, nil // unknown or expired: a new session, with a new id on Save
	}
	for _, e := range rec.Values {
		// A copy of its own, as every gorilla store decodes one: the
		// stored value is never shared with this request.
		session.Values[e.Key] = values.Clone(e.Value)
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// ErrNonStringKey reports a session value under a key that is not a
// string; sessionmw stores only string keys.
var ErrNonStringKey = errors.New("gorillastore: session keys must be strings")

// Save writes the session to the store and its cookie to w. With
// Options.MaxAge < 0 it deletes the session and expires the cookie.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	if session.Options.MaxAge < 0 {
		if session.ID != "" {
			if err := s.store.Delete(r.Context(), session.ID); err != nil {
				return fmt.Errorf("gorillastore: delete %s: %w", sessionmw.Fingerprint(session.ID), err)
			}
		}
		http.SetCookie(w, sessions.NewCookie(session.Name(), "", session.Options))
		return nil
	}
	set := make([]sessionmw.Entry, 0, len(session.Values))
	for k, v := range session.Values {
		ks, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: %T", ErrNonStringKey, k)
		}
		set = append(set, sessionmw.Entry{Key: ks, Value: values.Clone(v)})
	}
	if session.ID == "" {
		session.ID = uuid.NewString()
	}
	ttl := time.Duration(session.Options.MaxAge) * time.Second
	if ttl == 0 {
		ttl = DefaultMaxAge
	}
	now := time.Now().UnixNano()
	u := sessionmw.Update{Replace: true, Set: set, Meta: sessionmw.Meta{Created: now, Issued: now, Saved: now}}
	if err := s.store.Save(r.Context(), session.ID, u, ttl); err != nil {
		return fmt.Errorf("gorillastore: save %s: %w", sessionmw.Fingerprint(session.ID), err)
	}
	encoded, err := securecookie.EncodeMulti(session.Name(), session.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("gorillastore: sign id: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(session.Name(), encoded, session.Options))
	session.IsNew = false
	return nil
}

package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionmw/go/sessionmw"
)

// DefaultKeyName is where KeyAuth looks for an API key, in a header and in
// the query (Kong's key_names default).
const DefaultKeyName = "apikey"

// The request headers KeyAuth sets for the next handler, as Kong's
// authentication plugins do. Client-sent headers of these names are always
// removed first, under any spelling.
const (
	HeaderConsumerID           = "X-Consumer-Id"
	HeaderConsumerUsername     = "X-Consumer-Username"
	HeaderConsumerCustomID     = "X-Consumer-Custom-Id"
	HeaderCredentialIdentifier = "X-Credential-Identifier"
	HeaderAuthenticatedGroups  = "X-Authenticated-Groups"
	HeaderAnonymousConsumer    = "X-Anonymous-Consumer"
)

var consumerHeaders = []string{
	HeaderConsumerID, HeaderConsumerUsername, HeaderConsumerCustomID,
	HeaderCredentialIdentifier, HeaderAuthenticatedGroups, HeaderAnonymousConsumer,
}

// Consumer is an API client (Kong's consumer).
type Consumer struct {
	// ID identifies the consumer; it becomes the session's
	// sessionmw.Identity.Subject. Defaults to Username.
	ID string
	// Username and CustomID are optional; at least one of ID and Username
	// is required.
	Username, CustomID string
	// Groups are the consumer's groups (Kong's ACL groups), sent upstream
	// as X-Authenticated-Groups and stored in the session at login.
	Groups []string
	// Keys are the consumer's API keys.
	Keys []KeyCredential
}

// KeyCredential is one API key of a consumer.
type KeyCredential struct {
	// ID names the credential (X-Credential-Identifier, the session's
	// Identity.Credential); never the key. Defaults to the consumer's ID,
	// ":key-" and the key's position counted from 1.
	ID string
	// Key is the secret the client presents.
	Key string
}

// Auth is what KeyAuth decided for a request; see AuthFromRequest.
type Auth struct {
	// Consumer is the authenticated consumer, or the anonymous one (its
	// Keys are never filled in).
	Consumer Consumer
	// Credential is the id of the key that authenticated, now or when the
	// session logged in; empty for the anonymous consumer.
	Credential string
	// Groups are the authenticated groups.
	Groups []string
	// Anonymous reports the anonymous consumer: no valid key and no
	// authenticated session.
	Anonymous bool
	// FromSession reports that an authenticated session, not a key, let
	// the request in.
	FromSession bool
}

type authKey struct{}

// AuthFromRequest returns what the KeyAuth middleware decided for r, and
// false when no KeyAuth ran before.
func AuthFromRequest(r *http.Request) (Auth, bool) {
	a, ok := r.Context().Value(authKey{}).(*Auth)
	if !ok {
		return Auth{}, false
	}
	return *a, true
}

// KeyAuthOption configures KeyAuth.
type KeyAuthOption func(*keyAuth) error

// KeyNames sets the header and query parameter names that carry the key
// (default DefaultKeyName). The first name found wins, headers before the
// query for each name.
func KeyNames(names ...string) KeyAuthOption {
	return func(k *keyAuth) error {
		if len(names) == 0 {
			return errors.New("sessionmw: KeyNames: no names")
		}
		for _, n := range names {
			if !validHeaderName(n) {
				return fmt.Errorf("sessionmw: KeyNames: %q is not a valid header name", n)
			}
		}
		k.names = slices.Clone(names)
		return nil
	}
}

// KeyInHeader sets whether keys are read from request headers (default
// true).
func KeyInHeader(on bool) KeyAuthOption {
	return func(k *keyAuth) error { k.inHeader = on; return nil }
}

// KeyInQuery sets whether keys are read from the query string (default
// true).
func KeyInQuery(on bool) KeyAuthOption {
	return func(k *keyAuth) error { k.inQuery = on; return nil }
}

// KeyHideCredentials sets whether the key is removed from the request
// before the next handler (default true: upstreams never see it; Kong's
// hide_credentials defaults to false). Other query parameters are kept
// byte for byte.
func KeyHideCredentials(on bool) KeyAuthOption {
	return func(k *keyAuth) error { k.hide = on; return nil }
}

// KeyAnonymous names the consumer (by ID or Username) that requests
// without a valid key and without an authenticated session continue as
// (Kong's anonymous). Without it they get 401. The anonymous consumer may
// have no keys, and never gets a session: terminate its requests
// (RequestTermination) unless anonymous access is wanted.
func KeyAnonymous(consumer string) KeyAuthOption {
	return func(k *keyAuth) error {
		if consumer == "" {
			return errors.New("sessionmw: KeyAnonymous: empty consumer")
		}
		k.anonName = consumer
		return nil
	}
}

// KeyLogger sets where KeyAuth logs refused keys and failed logins
// (default: discard). Keys are never logged.
func KeyLogger(l *slog.Logger) KeyAuthOption {
	return func(k *keyAuth) error {
		if l != nil {
			k.log = l
		}
		return nil
	}
}

type credential struct {
	consumer *Consumer
	id       string
}

type keyAuth struct {
	names    []string
	inHeader bool
	inQuery  bool
	hide     bool
	anonName string
	anon     *Consumer
	byID     map[string]*Consumer
	byKey    map[[sha256.Size]byte]credential // keys by hash: lookups do not compare secrets byte by byte
	log      *slog.Logger
}

// KeyAuth returns Kong's key-auth plugin as middleware. It must run inside
// the session middleware (for example gateway.Kong) to combine with
// sessions as Kong's logical OR:
//
//   - a request whose session is authenticated (sessionmw.Authenticated)
//     as a known consumer passes without a key;
//   - otherwise a valid key lets it in, and KeyAuth calls
//     sessionmw.FromRequest(r).Login with the consumer's ID as Subject, the
//     key's ID as Credential and the consumer's Groups, which renews the
//     session id and gives the client a session cookie;
//   - otherwise it continues as the anonymous consumer (KeyAnonymous), or
//     gets 401 {"message": …}.
//
// Either way the next handler sees X-Consumer-Id, X-Consumer-Username,
// X-Consumer-Custom-Id, X-Credential-Identifier, X-Authenticated-Groups and
// X-Anonymous-Consumer as Kong sets them, never a client's copies, and
// AuthFromRequest tells what was decided. Two values for the key (two
// headers, two parameters) are refused as Kong does. Without a session
// middleware KeyAuth still authenticates each request by its key.
func KeyAuth(consumers []Consumer, opts ...KeyAuthOption) (func(http.Handler) http.Handler, error) {
	k := &keyAuth{
		names: []string{DefaultKeyName}, inHeader: true, inQuery: true, hide: true,
		byID: map[string]*Consumer{}, byKey: map[[sha256.Size]byte]credential{},
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("sessionmw: KeyAuth: nil option")
		}
		if err := o(k); err != nil {
			return nil, err
		}
	}
	if !k.inHeader && !k.inQuery {
		return nil, errors.New("sessionmw: KeyAuth: keys are read neither from headers nor from the query")
	}
	byName := map[string]*Consumer{}
	for i := range consumers {
		c := consumers[i]
		c.Groups, c.Keys = slices.Clone(c.Groups), nil
		if c.ID == "" {
			c.ID = c.Username
		}
		if c.ID == "" {
			return nil, fmt.Errorf("sessionmw: KeyAuth: consumer %d has neither an ID nor a Username", i+1)
		}
		for _, v := range append([]string{c.ID, c.Username, c.CustomID}, c.Groups...) {
			if !validHeaderValue(v) {
				return nil, fmt.Errorf("sessionmw: KeyAuth: consumer %q: %q contains a control character", c.ID, v)
			}
		}
		if _, dup := k.byID[c.ID]; dup {
			return nil, fmt.Errorf("sessionmw: KeyAuth: two consumers with ID %q", c.ID)
		}
		if c.Username != "" {
			if _, dup := byName[c.Username]; dup {
				return nil, fmt.Errorf("sessionmw: KeyAuth: two consumers with Username %q", c.Username)
			}
			byName[c.Username] = &c
		}
		k.byID[c.ID] = &c
		for j, key := range consumers[i].Keys {
			if key.Key == "" {
				return nil, fmt.Errorf("sessionmw: KeyAuth: consumer %q: key %d is empty", c.ID, j+1)
			}
			id := key.ID
			if id == "" {
				id = c.ID + ":key-" + strconv.Itoa(j+1)
			}
			if !validHeaderValue(id) {
				return nil, fmt.Errorf("sessionmw: KeyAuth: consumer %q: credential ID %q contains a control character", c.ID, id)
			}
			h := sha256.Sum256([]byte(key.Key))
			if _, dup := k.byKey[h]; dup {
				return nil, fmt.Errorf("sessionmw: KeyAuth: consumer %q: key %d (%s) is already another credential's", c.ID, j+1, id)
			}
			k.byKey[h] = credential{consumer: &c, id: id}
		}
	}
	if k.anonName != "" {
		if k.anon = k.byID[k.anonName]; k.anon == nil {
			k.anon = byName[k.anonName]
		}
		if k.anon == nil {
			return nil, fmt.Errorf("sessionmw: KeyAnonymous: no consumer with ID or Username %q", k.anonName)
		}
		for _, cr := range k.byKey {
			if cr.consumer == k.anon {
				return nil, fmt.Errorf("sessionmw: KeyAnonymous: the anonymous consumer %q has keys", k.anon.ID)
			}
		}
	}
	return k.wrap, nil
}

func (k *keyAuth) isName(n string) bool { return slices.Contains(k.names, n) }

// findKey returns the request's key, and whether it is ambiguous (two
// values under the name found first). When hiding credentials it removes
// every key name from r's header and query, whichever was used; r's Header
// and URL must be the handler's own copies.
func (k *keyAuth) findKey(r *http.Request) (key string, found, duplicate bool) {
	var query []param
	if k.inQuery {
		var rest string
		query, rest = queryParams(r.URL.RawQuery, k.isName, k.hide)
		r.URL.RawQuery = rest
	}
	for _, name := range k.names {
		if found {
			break
		}
		if k.inHeader {
			if vs := r.Header.Values(name); len(vs) > 0 {
				key, found, duplicate = vs[0], true, len(vs) > 1
				continue
			}
		}
		for _, p := range query {
			if p.name != name {
				continue
			}
			if found {
				duplicate = true
				break
			}
			key, found = p.value, true
		}
	}
	if k.hide && k.inHeader {
		for _, name := range k.names {
			r.Header.Del(name)
		}
	}
	return key, found, duplicate
}

func (k *keyAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := withOwnHeader(r)
		for name := range r2.Header {
			if isConsumerHeader(name) {
				delete(r2.Header, name)
			}
		}
		a, ok := k.fromSession(r)
		key, found, duplicate := k.findKey(r2) // hides the key even when the session let the request in
		if !ok {
			var msg string
			switch {
			case !found:
				msg = "No API key found in request"
			case duplicate:
				msg = "Duplicate API key found"
			default:
				if cr, valid := k.byKey[sha256.Sum256([]byte(key))]; valid {
					a = &Auth{Consumer: *cr.consumer, Credential: cr.id, Groups: cr.consumer.Groups}
				} else {
					msg = "Invalid authentication credentials"
				}
			}
			switch {
			case a != nil:
				if m := sessionmw.FromRequest(r); m.Active() {
					if err := m.Login(sessionmw.Identity{Subject: a.Consumer.ID, Credential: a.Credential, Groups: a.Groups}); err != nil {
						k.log.LogAttrs(r.Context(), slog.LevelError, "key-auth: session login failed",
							slog.String("consumer", a.Consumer.ID), slog.Any("error", err))
						writeMessage(w, http.StatusInternalServerError, "", "An unexpected error occurred")
						return
					}
				}
			case k.anon != nil:
				a = &Auth{Consumer: *k.anon, Anonymous: true}
			default:
				if found {
					k.log.LogAttrs(r.Context(), slog.LevelInfo, "key-auth: key refused", slog.String("reason", msg))
				}
				w.Header().Set("WWW-Authenticate", "Key")
				writeMessage(w, http.StatusUnauthorized, "", msg)
				return
			}
		}
		setConsumerHeaders(r2.Header, a)
		next.ServeHTTP(w, r2.WithContext(context.WithValue(r.Context(), authKey{}, a)))
	})
}

// fromSession returns the consumer of r's authenticated session, if it is
// still one of ours.
func (k *keyAuth) fromSession(r *http.Request) (*Auth, bool) {
	id, ok := sessionmw.Authenticated(r)
	if !ok {
		return nil, false
	}
	c, known := k.byID[id.Subject]
	if !known || c == k.anon {
		k.log.LogAttrs(r.Context(), slog.LevelWarn, "key-auth: the session's consumer is unknown; the session is ignored",
			slog.String("consumer", id.Subject))
		return nil, false
	}
	return &Auth{Consumer: *c, Credential: id.Credential, Groups: id.Groups, FromSession: true}, true
}

func isConsumerHeader(name string) bool {
	for _, h := range consumerHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}

// setConsumerHeaders sets Kong's upstream headers for a.
func setConsumerHeaders(h http.Header, a *Auth) {
	set := func(name, v string) {
		if v != "" {
			h.Set(name, v)
		}
	}
	set(HeaderConsumerID, a.Consumer.ID)
	set(HeaderConsumerUsername, a.Consumer.Username)
	set(HeaderConsumerCustomID, a.Consumer.CustomID)
	if a.Anonymous {
		h.Set(HeaderAnonymousConsumer, "true")
		return
	}
	set(HeaderCredentialIdentifier, a.Credential)
	var groups []string
	for _, g := range a.Groups {
		if validHeaderValue(g) { // groups come from the session: check again
			groups = append(groups, g)
		}
	}
	set(HeaderAuthenticatedGroups, strings.Join(groups, ", "))
}

package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Middleware is the session middleware. Create it with New, wrap handlers
// with Handler, and call Close when done. It is safe for concurrent use.
type Middleware struct {
	cfg       config
	store     Store // nil with cookie storage
	ownsStore bool
	ids       *idCodec
	backend   backend
	saveLate  bool // the backend can save changes made after the response went out
	hooks     hooks
	// cookieSuffix is the rendered attributes of a browser-session cookie.
	cookieSuffix string
	ctxKey       any
	aliasKey     any // a second key the manager answers to (an audience's name), or nil
	vary         string
	log          *slog.Logger
	ttl          time.Duration
	clock        func() time.Time // nil: time.Now; tests move it
	// stopEvictions unregisters from the store's eviction notices.
	stopEvictions func()
	binder        *binder // nil without WithBind
	vault         *vault  // nil without encryption at rest or hashing
}

// New returns a session middleware that signs session ids with secretKey
// (at least MinSecretKeyLen bytes of random data; keep it secret and the
// same across instances that share a store). Options are applied in order;
// the first invalid one makes New fail with an error naming it.
func New(secretKey []byte, opts ...Option) (*Middleware, error) {
	if err := checkSecret(secretKey); err != nil {
		return nil, fmt.Errorf("sessionmw: New: %w", err)
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("sessionmw: New: nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.applyAudience(); err != nil {
		return nil, err
	}
	if cfg.lookup.source == fromCookie {
		cfg.lookup.name = cfg.cookieName
	}
	if err := cfg.resolveTimeouts(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	mw := &Middleware{cfg: cfg, store: cfg.store, log: newLogger(&cfg), ttl: cfg.ttl(), vary: cfg.lookup.varyOn()}
	mw.ctxKey = objectKey(cfg.objectName)
	if cfg.audience != "" && !cfg.objectSet {
		mw.aliasKey = objectKey(cfg.audience)
	}
	// A credential is re-issued whenever its session is saved or touched,
	// so a signature older than the TTL plus one touch interval belongs to
	// a session the store has dropped already.
	keys := append([][]byte{secretKey}, cfg.fallbacks...)
	ids, err := newIDCodec(mw.ttl+cfg.touchInterval, keys...)
	if err != nil {
		return nil, err
	}
	ids.now = func() int64 { return mw.now() / int64(time.Second) }
	mw.ids = ids
	if mw.binder, err = newBinder(cfg.bind, secretKey); err != nil {
		return nil, err
	}
	mw.cookieSuffix = mw.newCookieSuffix()
	if cfg.cookieStorage {
		if mw.backend, err = newCookieBackend(mw, keys); err != nil {
			return nil, err
		}
	} else {
		if mw.store == nil {
			mw.store = NewMemoryIO()
			mw.ownsStore = true
		}
		mw.backend, mw.saveLate = serverBackend{mw}, true
		if mw.vault, err = newVault(&cfg, keys); err != nil {
			return nil, err
		}
	}
	for _, install := range features {
		if err := install(mw, keys); err != nil {
			mw.Close()
			return nil, err
		}
	}
	mw.watchEvictions()
	return mw, nil
}

// features are installed in this order by New; each looks at the
// configuration and attaches to the lifecycle points it needs, or does
// nothing. The order of hooks at one point is this order: the identity
// check runs before a remember-me restore, which runs before logout.
var features = []func(mw *Middleware, keys [][]byte) error{
	installForwarding,
	installSessionHeaders,
	installIdentityCheck,
	installRemember,
	installLogout,
	installSubjectCap,
}

// Close releases what New created: the default MemoryIO's background sweeper.
// A store passed with WithStore belongs to the caller and stays open.
func (mw *Middleware) Close() error {
	if mw.stopEvictions != nil {
		mw.stopEvictions()
		mw.stopEvictions = nil
	}
	if c, ok := mw.store.(interface{ Close() error }); ok && mw.ownsStore {
		return c.Close()
	}
	return nil
}

// Store returns the store sessions are kept in (nil with cookie storage).
func (mw *Middleware) Store() Store { return mw.store }

// now reads the middleware's clock, in Unix nanoseconds.
func (mw *Middleware) now() int64 {
	if mw.clock != nil {
		return mw.clock().UnixNano()
	}
	return time.Now().UnixNano()
}

// Handler wraps next: every request gets a *SessionManager, reachable with
// FromRequest, and the session is saved before the response headers go out.
func (mw *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mw.skipped(r) {
			next.ServeHTTP(w, mw.forward(r, r))
			return
		}
		m := &SessionManager{mw: mw, ctx: r.Context(), req: r, rw: w, meta: &noMeta}
		m.session.strict = mw.cfg.strictValues
		if err := mw.backend.resolve(m, r, mw.now()); err != nil {
			mw.fail(w, r, err)
			return
		}
		if mw.hooked() && m.has(fFound) {
			mw.emit(mw.cfg.events.Loaded, r.Context(), m.event(""))
		}
		for _, hook := range mw.hooks.resolved {
			done, err := hook(m, r)
			if err != nil {
				mw.fail(w, r, err)
				return
			}
			if done {
				m.finish()
				return
			}
		}
		fwd := mw.forward(r, r.WithContext((*managerCtx)(m)))
		for _, hook := range mw.hooks.upstream {
			hook(m, fwd)
		}
		m.req = fwd
		next.ServeHTTP(m.writer(), fwd)
		m.finish()
	})
}

// forward returns the request for the next handler: fwd (a private copy
// of r, or r itself) after the request hooks removed what must not travel
// upstream. When fwd is r and a hook needs to change it, r is copied first.
func (mw *Middleware) forward(r, fwd *http.Request) *http.Request {
	if len(mw.hooks.request) == 0 {
		return fwd
	}
	if fwd == r {
		c := *r
		fwd = &c
	}
	for _, hook := range mw.hooks.request {
		hook(mw, fwd)
	}
	return fwd
}

// fail reports a store failure to the error handler.
func (mw *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	mw.log.LogAttrs(r.Context(), slog.LevelError, "session store error",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
	if mw.cfg.errorHandler != nil {
		mw.cfg.errorHandler(w, r, err)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrStoreFull), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	case errors.Is(err, ErrSuperseded):
		status = http.StatusConflict
	}
	http.Error(w, http.StatusText(status), status)
}

// objectKey is the context key type of a session object slot.
type objectKey string

// FromRequest returns the session manager that the Middleware named
// DefaultSessionObject attached to r.
//
// It never returns nil. Outside a Middleware, or on a request that a skip
// header rule let through, it returns an inactive manager: its session
// starts empty, can be read and written, and is never saved; Active reports
// false and GetSessionID returns "".
func FromRequest(r *http.Request) *SessionManager {
	return fromContext(r.Context(), defaultKey)
}

var defaultKey any = objectKey(DefaultSessionObject)

// FromRequestNamed is FromRequest for the middleware configured with
// WithSessionObject(name), or WithAudience(name) without a session object.
func FromRequestNamed(r *http.Request, name string) *SessionManager {
	return fromContext(r.Context(), objectKey(name))
}

func fromContext(ctx context.Context, key any) *SessionManager {
	if m, ok := ctx.Value(key).(*SessionManager); ok {
		return m
	}
	m := &SessionManager{inactive: true, meta: &noMeta}
	m.session.orphan = true
	return m
}

package sessionmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Middleware is the session middleware (authx_extra's SessionMiddleware).
// Create it with New, wrap handlers with Handler, and call Close when done.
// It is safe for concurrent use.
type Middleware struct {
	cfg       config
	store     Store
	ownsStore bool
	ids       *idCodec
	cookies   *cookieCodec // cookie storage; nil with a server store
	// cookieSuffix is the rendered attributes of a browser-session cookie.
	cookieSuffix string
	remembers    *cookieCodec // remember-me tokens; nil without WithRemember
	ctxKey       any
	log          *slog.Logger
	ttl          time.Duration
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
	if cfg.audience != "" {
		if !cfg.cookieSet {
			cfg.cookieName = DefaultCookieName + "-" + cfg.audience
		}
		if !cfg.objectSet {
			cfg.objectName = cfg.audience
		}
	}
	if cfg.kongCookieDefault && cfg.store == nil {
		cfg.cookieStorage = true
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
	mw := &Middleware{cfg: cfg, store: cfg.store, log: cfg.logger, ttl: cfg.ttl()}
	if mw.log == nil {
		mw.log = slog.New(slog.DiscardHandler)
	}
	// A cookie is re-issued whenever its session is saved or touched, so a
	// signature older than the TTL plus one touch interval belongs to a
	// session the store has dropped already.
	keys := append([][]byte{secretKey}, cfg.fallbacks...)
	ids, err := newIDCodec(mw.ttl+cfg.touchInterval, keys...)
	if err != nil {
		return nil, err
	}
	mw.ids = ids
	mw.ctxKey = objectKey(cfg.objectName)
	mw.cookieSuffix = mw.newCookieSuffix()
	if cfg.remember != nil {
		if mw.remembers, err = newCookieCodecInfo(rememberInfo, 1, keys...); err != nil {
			return nil, err
		}
	}
	if cfg.cookieStorage {
		if mw.cookies, err = newCookieCodec(cfg.cookieChunks, keys...); err != nil {
			return nil, err
		}
		if cfg.maxPerSubject > 0 {
			return nil, fmt.Errorf("sessionmw: WithMaxSessionsPerSubject: needs a server store, not cookie storage")
		}
		return mw, nil
	}
	if mw.store == nil {
		mw.store = NewMemoryIO()
		mw.ownsStore = true
	}
	if _, ok := mw.store.(SubjectIndex); cfg.maxPerSubject > 0 && !ok {
		return nil, fmt.Errorf("sessionmw: WithMaxSessionsPerSubject: the store (%T) does not implement SubjectIndex", mw.store)
	}
	return mw, nil
}

// Close releases what New created: the default MemoryIO's background sweeper.
// A store passed with WithStore belongs to the caller and stays open.
func (mw *Middleware) Close() error {
	if c, ok := mw.store.(interface{ Close() error }); ok && mw.ownsStore {
		return c.Close()
	}
	return nil
}

// Store returns the store sessions are kept in (nil with cookie storage).
func (mw *Middleware) Store() Store { return mw.store }

// Handler wraps next: every request gets a *SessionManager, reachable with
// FromRequest, and the session is saved before the response headers go out.
func (mw *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mw.skipped(r) {
			next.ServeHTTP(w, r)
			return
		}
		m := &SessionManager{mw: mw, ctx: r.Context(), rw: w, meta: &noMeta}
		load := m.load
		if mw.cookies != nil {
			load = m.loadCookie
		}
		if err := load(r); err != nil {
			mw.fail(w, r, err)
			return
		}
		if err := m.afterLoad(r); err != nil {
			mw.fail(w, r, err)
			return
		}
		if lc := mw.cfg.logout; lc != nil && (m.found || m.restored) && lc.isLogout(r) {
			m.req = r
			m.logout(m.writer(), r)
			m.finish()
			return
		}
		r = r.WithContext((*managerCtx)(m))
		if mw.cfg.stripForward {
			mw.cfg.lookup.strip(r)
		}
		if len(mw.cfg.requestHeaders) > 0 {
			mw.stripSessionHeaders(r)
			if m.found || m.restored {
				m.sessionHeaders(r.Header, mw.cfg.requestHeaders, m.id, *m.meta, time.Now().UnixNano())
			}
		}
		m.req = r
		next.ServeHTTP(m.writer(), r)
		m.finish()
	})
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
	if errors.Is(err, ErrStoreUnavailable) || errors.Is(err, ErrStoreFull) || errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusServiceUnavailable
	}
	http.Error(w, http.StatusText(status), status)
}

// objectKey is the context key type of a session object slot.
type objectKey string

// FromRequest returns the session manager that the Middleware named
// DefaultSessionObject attached to r (authx_extra's request.state.session).
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
// WithSessionObject(name).
func FromRequestNamed(r *http.Request, name string) *SessionManager {
	return fromContext(r.Context(), objectKey(name))
}

func fromContext(ctx context.Context, key any) *SessionManager {
	if m, ok := ctx.Value(key).(*SessionManager); ok {
		return m
	}
	return &SessionManager{inactive: true, meta: &noMeta}
}

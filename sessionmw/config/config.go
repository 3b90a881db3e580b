// Package config builds sessionmw middlewares, and whole gateways, from
// YAML.
//
// Load and LoadFile read the gateway plugin's middlewares.yaml:
//
//	middlewares:
//	  LoadSessionMiddleware:
//	    use: plugins.session.middlewares.LoadSessionMiddleware
//	    config:
//	      storage: "ValkeySessionStorage"
//	      keyLookup: "cookie:session_id"
//	      cookieHTTPOnly: true
//	      cookieSecure: false
//	      cookieSameSite: "Lax"
//	      cookieExpiration: 2h
//	      disableAutoRenew: false
//	      autoRenewAfter: 30m
//	      disableSessionForward: false
//	  MapSessionToHeaderMiddleware:
//	    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
//	    config:
//	      headers:
//	        Authorization: authorization
//	        X-User-Id: user_id
//
// Keys are the plugin's camelCase names; durations are Go duration strings
// ("2h", "30m"). Kong's plugins are middlewares too: "use: session"
// (gateway.Kong, KongSessionConfig), "use: key-auth" (gateway.KeyAuth,
// KeyAuthConfig) and "use: request-termination"
// (gateway.RequestTermination, RequestTerminationConfig), with Kong's
// snake_case field names.
//
// ReadDir reads a gateway directory: middlewares.yaml, routes.yaml
// (path, methods, middlewares, action), actions.yaml (forward to an
// upstream, or a static response), and optionally storages.yaml,
// consumers.yaml (Kong's declarative consumers with their keys) and
// plugins.yaml (acknowledged; plugins are built in). Dir.Build turns it
// into an http.Handler; cmd/sessiongw serves it.
//
// Unknown keys, wrong types, bad durations and invalid values are errors
// (*Error) that name the file, the line and the key. storage names a store
// passed in Options.Storages (there is no global registry); left out,
// sessions live in Options.DefaultStore or else in memory (logged as not
// recommended for production). The secret key is never read from YAML: a
// key named like it is an error (ErrSecretInYAML); pass it in Options.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// The "use" values this loader understands. The short forms (the last path
// element) are accepted too.
const (
	UseLoadSession        = "plugins.session.middlewares.LoadSessionMiddleware"
	UseMapSessionToHeader = "plugins.session.middlewares.MapSessionToHeaderMiddleware"
)

// Options are what the YAML does not carry.
type Options struct {
	// Secret signs session ids (at least sessionmw.MinSecretKeyLen bytes).
	Secret []byte
	// SecretFallbacks are retired keys still accepted (key rotation).
	SecretFallbacks [][]byte
	// Storages maps the storage names the YAML may use to stores, e.g.
	// redisstore.Storages(s) for "ValkeySessionStorage".
	Storages map[string]sessionmw.Store
	// Logger receives the middlewares' logs (default: discard).
	Logger *slog.Logger
	// Extra options are applied to every session middleware after the
	// YAML's, e.g. sessionmw.WithErrorHandler.
	Extra []sessionmw.Option
	// DefaultStore, when not nil, keeps the sessions of every session
	// middleware that names no storage, instead of a MemoryIO of its own
	// (cmd/sessiongw passes one that outlives reloads).
	DefaultStore sessionmw.Store
	// Consumers are the consumers key-auth knows (consumers.yaml in a
	// directory); Kong-mode sessions of a consumer no longer listed end.
	Consumers []gateway.Consumer
}

// LoadSessionConfig is the config block of a LoadSessionMiddleware. Pointer
// fields are optional; unset ones keep the plugin's defaults, except where
// sessionmw's defaults are safer (CookieHTTPOnly and CookieSecure default
// to true).
type LoadSessionConfig struct {
	Storage               string `yaml:"storage"`
	KeyLookup             string `yaml:"keyLookup"`
	CookieHTTPOnly        *bool  `yaml:"cookieHTTPOnly"`
	CookieSecure          *bool  `yaml:"cookieSecure"`
	CookieSameSite        string `yaml:"cookieSameSite"`
	CookieSessionOnly     bool   `yaml:"cookieSessionOnly"`
	CookieExpiration      string `yaml:"cookieExpiration"` // Go duration, e.g. "2h"
	CookieDomain          string `yaml:"cookieDomain"`
	CookiePath            string `yaml:"cookiePath"`
	DisableAutoRenew      bool   `yaml:"disableAutoRenew"`
	AutoRenewAfter        string `yaml:"autoRenewAfter"` // Go duration, e.g. "30m"
	DisableSessionForward bool   `yaml:"disableSessionForward"`
	SessionObject         string `yaml:"sessionObject"`
}

// MapSessionToHeaderConfig is the config block of a
// MapSessionToHeaderMiddleware.
type MapSessionToHeaderConfig struct {
	Headers       map[string]string `yaml:"headers"`
	SessionObject string            `yaml:"sessionObject"`
}

type middlewareDef struct {
	Use    string   `yaml:"use"`
	Config ast.Node `yaml:"config"`
}

type file struct {
	Middlewares map[string]middlewareDef `yaml:"middlewares"`
}

// Middlewares are the middlewares a YAML document defines, by name.
type Middlewares struct {
	byName map[string]func(http.Handler) http.Handler
	uses   map[string]string // name → kind (useLoadSession, useKeyAuth, …)
	// consumerScoped lists the request-terminations for one consumer.
	consumerScoped map[string]bool
	sessions       []*sessionmw.Middleware
}

// Get returns the middleware called name.
func (m *Middlewares) Get(name string) (func(http.Handler) http.Handler, bool) {
	h, ok := m.byName[name]
	return h, ok
}

// Names lists the middlewares, sorted.
func (m *Middlewares) Names() []string {
	names := make([]string, 0, len(m.byName))
	for n := range m.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Chain wraps h in the named middlewares, the first name outermost (the
// order of a route's middlewares list).
func (m *Middlewares) Chain(h http.Handler, names ...string) (http.Handler, error) {
	for i := len(names) - 1; i >= 0; i-- {
		mw, ok := m.byName[names[i]]
		if !ok {
			return nil, fmt.Errorf("config: no middleware named %q", names[i])
		}
		h = mw(h)
	}
	return h, nil
}

// Close releases the session middlewares' default stores.
func (m *Middlewares) Close() error {
	var errs []error
	for _, s := range m.sessions {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// LoadFile reads and loads a YAML file; errors name the file.
func LoadFile(path string, o Options) (*Middlewares, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	src, err := parseSource(path, data)
	if err != nil {
		return nil, err
	}
	return loadMiddlewares(src, o)
}

var memoryWarning sync.Once

// Load builds the middlewares of a YAML document.
func Load(data []byte, o Options) (*Middlewares, error) {
	src, err := parseSource("", data)
	if err != nil {
		return nil, err
	}
	return loadMiddlewares(src, o)
}

// builder builds one kind of middleware from its config block; at locates
// an error at one of the block's keys.
type builder func(b *build, block any, at func(key string, err error) error) (func(http.Handler) http.Handler, error)

// build is the state shared by the middlewares of one document.
type build struct {
	o      Options
	logger *slog.Logger
	out    *Middlewares
	anon   string // the anonymous consumer's ID, when a key-auth names one
}

func loadMiddlewares(src *source, o Options) (*Middlewares, error) {
	var f file
	if err := src.decode(src.root, &f); err != nil {
		return nil, err
	}
	if len(f.Middlewares) == 0 {
		return nil, &Error{File: src.name, Err: errors.New("no middlewares defined (want a top-level \"middlewares:\" mapping)")}
	}
	b := &build{o: o, logger: o.Logger, out: &Middlewares{byName: map[string]func(http.Handler) http.Handler{}, uses: map[string]string{}, consumerScoped: map[string]bool{}}}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	names := make([]string, 0, len(f.Middlewares))
	for n := range f.Middlewares {
		names = append(names, n)
	}
	sort.Strings(names)
	kinds := map[string]string{}
	for _, name := range names {
		kind, ok := uses[f.Middlewares[name].Use]
		if !ok {
			err := fmt.Errorf("unknown middleware %q (want one of %s)", f.Middlewares[name].Use, strings.Join(useNames(), ", "))
			if f.Middlewares[name].Use == "" {
				err = errors.New("missing")
			}
			return nil, src.errAt(err, "middlewares", name, "use")
		}
		kinds[name] = kind
	}
	// Key-auth first: the session middlewares learn the anonymous consumer.
	sort.SliceStable(names, func(i, j int) bool { return kinds[names[i]] == useKeyAuth && kinds[names[j]] != useKeyAuth })
	for _, name := range names {
		def := f.Middlewares[name]
		at := func(key string, err error) error { return src.errAt(err, "middlewares", name, "config", key) }
		var block any
		switch kinds[name] {
		case useLoadSession:
			block = &LoadSessionConfig{}
		case useMapSessionToHeader:
			block = &MapSessionToHeaderConfig{}
		case useKongSession:
			block = &KongSessionConfig{}
		case useKeyAuth:
			block = &KeyAuthConfig{}
		case useRequestTermination:
			block = &RequestTerminationConfig{}
		}
		if err := src.decode(def.Config, block); err != nil {
			b.out.Close()
			return nil, err
		}
		h, err := builders[kinds[name]](b, block, at)
		if err != nil {
			b.out.Close()
			var ce *Error
			if !errors.As(err, &ce) {
				err = src.errAt(err, "middlewares", name)
			}
			return nil, err
		}
		b.out.byName[name] = h
		b.out.uses[name] = kinds[name]
		if rt, ok := block.(*RequestTerminationConfig); ok && rt.Consumer != "" {
			b.out.consumerScoped[name] = true
		}
	}
	return b.out, nil
}

func buildLoadSession(b *build, block any, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	c := block.(*LoadSessionConfig)
	var opts []keyed
	add := func(key string, opt sessionmw.Option) { opts = append(opts, keyed{key, opt}) }

	if c.KeyLookup != "" {
		add("keyLookup", sessionmw.WithKeyLookup(c.KeyLookup))
	}
	if c.CookieHTTPOnly != nil {
		add("cookieHTTPOnly", sessionmw.WithHTTPOnly(*c.CookieHTTPOnly))
	}
	if c.CookieSecure != nil {
		add("cookieSecure", sessionmw.WithSecure(*c.CookieSecure))
	}
	if c.CookieSameSite != "" {
		ss, err := parseSameSite(c.CookieSameSite)
		if err != nil {
			return nil, at("cookieSameSite", err)
		}
		add("cookieSameSite", sessionmw.WithSameSite(ss))
	}
	exp := gateway.DefaultExpiration
	if c.CookieExpiration != "" {
		d, err := parseDuration(c.CookieExpiration)
		if err == nil && d < time.Second {
			err = fmt.Errorf("%v is shorter than one second", d)
		}
		if err != nil {
			return nil, at("cookieExpiration", err)
		}
		exp = d
	}
	if c.CookieSessionOnly {
		// A browser-session cookie; the server still drops the session
		// after the expiration without activity.
		add("cookieSessionOnly", sessionmw.WithMaxAge(0))
		add("cookieExpiration", sessionmw.WithIdleTimeout(exp))
	} else {
		add("cookieExpiration", sessionmw.WithMaxAge(exp))
	}
	if c.CookieDomain != "" {
		add("cookieDomain", sessionmw.WithDomain(c.CookieDomain))
	}
	if c.CookiePath != "" {
		add("cookiePath", sessionmw.WithPath(c.CookiePath))
	}
	if c.DisableAutoRenew {
		add("disableAutoRenew", sessionmw.WithAutoRenew(0))
	} else if c.AutoRenewAfter != "" {
		d, err := parseDuration(c.AutoRenewAfter)
		if err == nil && d <= 0 {
			err = fmt.Errorf("%v is not positive (use disableAutoRenew: true to turn renewal off)", d)
		}
		if err != nil {
			return nil, at("autoRenewAfter", err)
		}
		add("autoRenewAfter", sessionmw.WithAutoRenew(d))
	}
	add("disableSessionForward", sessionmw.WithDisableSessionForward(c.DisableSessionForward))
	if c.SessionObject != "" {
		add("sessionObject", sessionmw.WithSessionObject(c.SessionObject))
	}
	store, err := b.storage(c.Storage)
	if err != nil {
		return nil, at("storage", err)
	}
	if store != nil {
		add("storage", sessionmw.WithStore(store))
	}
	return b.session(gateway.LoadSession, opts, at)
}

// keyed is an option and the YAML key that set it.
type keyed struct {
	key string
	opt sessionmw.Option
}

// storage returns the store called name, the default store when name is
// empty (nil: the middleware's own MemoryIO, with a warning).
func (b *build) storage(name string) (sessionmw.Store, error) {
	if name == "" {
		if b.o.DefaultStore != nil {
			b.logger.Warn("session storage not set: sessions are kept in the default store; name a storage for production")
			return b.o.DefaultStore, nil
		}
		memoryWarning.Do(func() {
			b.logger.Warn("session storage not set: sessions are kept in memory, which is not recommended for production")
		})
		return nil, nil
	}
	store, ok := b.o.Storages[name]
	if !ok {
		return nil, fmt.Errorf("no storage named %q (known: %s)", name, sortedKeys(b.o.Storages))
	}
	return store, nil
}

// session validates opts one at a time, so that a refusal names its key,
// then builds the middleware with preset.
func (b *build) session(preset func([]byte, ...sessionmw.Option) (*sessionmw.Middleware, error), opts []keyed, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	all := []sessionmw.Option{sessionmw.WithLogger(b.logger)}
	if len(b.o.SecretFallbacks) > 0 {
		all = append(all, sessionmw.WithSecretFallbacks(b.o.SecretFallbacks...))
	}
	for _, k := range opts {
		if _, err := sessionmw.New(validationSecret, sessionmw.WithStore(noStore{}), k.opt); err != nil {
			return nil, at(k.key, err)
		}
		all = append(all, k.opt)
	}
	all = append(all, b.o.Extra...)
	mw, err := preset(b.o.Secret, all...)
	if err != nil {
		// A combination of keys was refused: name the key behind the option.
		for opt, key := range optionKeys {
			if strings.Contains(err.Error(), opt+":") {
				return nil, at(key, err)
			}
		}
		return nil, err
	}
	b.out.sessions = append(b.out.sessions, mw)
	return mw.Handler, nil
}

// optionKeys maps the option an error names to the YAML key that sets it.
var optionKeys = map[string]string{
	"WithSameSite":      "cookieSameSite",
	"WithSessionCookie": "keyLookup",
	"WithPath":          "cookiePath",
	"WithDomain":        "cookieDomain",
}

func buildMapSessionToHeader(b *build, block any, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	c := block.(*MapSessionToHeaderConfig)
	opts := []gateway.MapOption{gateway.MapLogger(b.logger)}
	if c.SessionObject != "" {
		opts = append(opts, gateway.MapFromSessionObject(c.SessionObject))
	}
	h, err := gateway.MapSessionToHeader(c.Headers, opts...)
	if err != nil {
		return nil, at("headers", err)
	}
	return h, nil
}

// validationSecret only checks options one at a time; nothing is signed
// with it.
var validationSecret = []byte(strings.Repeat("v", sessionmw.MinSecretKeyLen))

// noStore keeps the per-option validation from creating a MemoryIO.
type noStore struct{ sessionmw.Store }

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want a Go duration such as \"2h\" or \"30m\")", s)
	}
	return d, nil
}

func parseSameSite(s string) (http.SameSite, error) {
	switch strings.ToLower(s) {
	case "lax":
		return http.SameSiteLaxMode, nil
	case "strict":
		return http.SameSiteStrictMode, nil
	case "none":
		return http.SameSiteNoneMode, nil
	}
	return 0, fmt.Errorf("%q is not Lax, Strict or None", s)
}

// Package config builds sessionmw middlewares from the gateway plugin's
// YAML (middlewares.yaml):
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
// ("2h", "30m"). Unknown keys, wrong types, bad durations and invalid
// values are errors that name the key and its line. storage names a store
// passed in Options.Storages (there is no global registry); left out, sessions live in memory (logged as not recommended for
// production). The secret key is never read from YAML: pass it in Options.
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

	"github.com/goccy/go-yaml"
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

type file struct {
	Middlewares map[string]struct {
		Use    string   `yaml:"use"`
		Config ast.Node `yaml:"config"`
	} `yaml:"middlewares"`
}

// Middlewares are the middlewares a YAML document defines, by name.
type Middlewares struct {
	byName   map[string]func(http.Handler) http.Handler
	sessions []*sessionmw.Middleware
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

// LoadFile reads and loads a YAML file.
func LoadFile(path string, o Options) (*Middlewares, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	m, err := Load(data, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

var memoryWarning sync.Once

// Load builds the middlewares of a YAML document.
func Load(data []byte, o Options) (*Middlewares, error) {
	var f file
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("config: %s", oneLine(err))
	}
	if len(f.Middlewares) == 0 {
		return nil, errors.New("config: no middlewares defined (want a top-level \"middlewares:\" mapping)")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	out := &Middlewares{byName: map[string]func(http.Handler) http.Handler{}}
	names := make([]string, 0, len(f.Middlewares))
	for n := range f.Middlewares {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		def := f.Middlewares[name]
		var (
			h   func(http.Handler) http.Handler
			err error
		)
		switch def.Use {
		case UseLoadSession, "LoadSessionMiddleware":
			var mw *sessionmw.Middleware
			mw, err = buildLoadSession(def.Config, o, logger)
			if mw != nil {
				out.sessions = append(out.sessions, mw)
				h = mw.Handler
			}
		case UseMapSessionToHeader, "MapSessionToHeaderMiddleware":
			h, err = buildMapSessionToHeader(def.Config, logger)
		case "":
			err = fmt.Errorf("missing \"use\"")
		default:
			err = fmt.Errorf("use: unknown middleware %q (want %s or %s)", def.Use, UseLoadSession, UseMapSessionToHeader)
		}
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("config: middleware %q: %w", name, err)
		}
		out.byName[name] = h
	}
	return out, nil
}

func buildLoadSession(node ast.Node, o Options, logger *slog.Logger) (*sessionmw.Middleware, error) {
	var c LoadSessionConfig
	if node != nil {
		if err := yaml.NodeToValue(node, &c, yaml.DisallowUnknownField()); err != nil {
			return nil, errors.New(oneLine(err))
		}
	}
	// Each option is applied on its own so that a rejection names its key.
	type keyed struct {
		key string
		opt sessionmw.Option
	}
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
			return nil, at(node, "cookieSameSite", err)
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
			return nil, at(node, "cookieExpiration", err)
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
			return nil, at(node, "autoRenewAfter", err)
		}
		add("autoRenewAfter", sessionmw.WithAutoRenew(d))
	}
	add("disableSessionForward", sessionmw.WithDisableSessionForward(c.DisableSessionForward))
	if c.SessionObject != "" {
		add("sessionObject", sessionmw.WithSessionObject(c.SessionObject))
	}
	if c.Storage != "" {
		store, ok := o.Storages[c.Storage]
		if !ok {
			return nil, at(node, "storage", fmt.Errorf("no storage named %q in Options.Storages (known: %s)", c.Storage, known(o.Storages)))
		}
		add("storage", sessionmw.WithStore(store))
	} else {
		memoryWarning.Do(func() {
			logger.Warn("session storage not set: sessions are kept in memory, which is not recommended for production")
		})
	}
	all := []sessionmw.Option{sessionmw.WithLogger(logger)}
	if len(o.SecretFallbacks) > 0 {
		all = append(all, sessionmw.WithSecretFallbacks(o.SecretFallbacks...))
	}
	for _, k := range opts {
		// Validate each option alone first, so the error names the key.
		if _, err := sessionmw.New(validationSecret, sessionmw.WithStore(noStore{}), k.opt); err != nil {
			return nil, at(node, k.key, err)
		}
		all = append(all, k.opt)
	}
	all = append(all, o.Extra...)
	mw, err := gateway.LoadSession(o.Secret, all...)
	if err != nil {
		// A combination of keys was refused: name the key behind the option.
		for opt, key := range optionKeys {
			if strings.Contains(err.Error(), opt+":") {
				return nil, at(node, key, err)
			}
		}
		return nil, err
	}
	return mw, nil
}

// optionKeys maps the option an error names to the YAML key that sets it.
var optionKeys = map[string]string{
	"WithSameSite":      "cookieSameSite",
	"WithSessionCookie": "keyLookup",
	"WithPath":          "cookiePath",
	"WithDomain":        "cookieDomain",
}

func buildMapSessionToHeader(node ast.Node, logger *slog.Logger) (func(http.Handler) http.Handler, error) {
	var c MapSessionToHeaderConfig
	if node != nil {
		if err := yaml.NodeToValue(node, &c, yaml.DisallowUnknownField()); err != nil {
			return nil, errors.New(oneLine(err))
		}
	}
	opts := []gateway.MapOption{gateway.MapLogger(logger)}
	if c.SessionObject != "" {
		opts = append(opts, gateway.MapFromSessionObject(c.SessionObject))
	}
	h, err := gateway.MapSessionToHeader(c.Headers, opts...)
	if err != nil {
		return nil, at(node, "headers", err)
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

// at prefixes err with the key and the line it is on.
func at(node ast.Node, key string, err error) error {
	if line := keyLine(node, key); line > 0 {
		return fmt.Errorf("line %d: %s: %w", line, key, err)
	}
	return fmt.Errorf("%s: %w", key, err)
}

func keyLine(node ast.Node, key string) int {
	mn, ok := node.(*ast.MappingNode)
	if !ok {
		if mv, ok := node.(*ast.MappingValueNode); ok {
			mn = &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}
		} else {
			return 0
		}
	}
	for _, v := range mn.Values {
		if v.Key != nil && v.Key.GetToken() != nil && v.Key.GetToken().Value == key {
			return v.Key.GetToken().Position.Line
		}
	}
	if tk := node.GetToken(); tk != nil {
		return tk.Position.Line
	}
	return 0
}

// oneLine keeps goccy/go-yaml's "[line:col] message" and drops the source
// excerpt it appends.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func known(m map[string]sessionmw.Store) string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

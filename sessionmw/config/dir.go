package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sessionmw/go/sessionmw/gateway"
)

// The files of a gateway directory. MiddlewaresFile, RoutesFile and
// ActionsFile are required; the others are optional.
const (
	MiddlewaresFile = "middlewares.yaml"
	RoutesFile      = "routes.yaml"
	ActionsFile     = "actions.yaml"
	StoragesFile    = "storages.yaml"
	ConsumersFile   = "consumers.yaml"
	PluginsFile     = "plugins.yaml"
)

// Storage types of storages.yaml.
const (
	StorageMemory = "memory"
	StorageValkey = "valkey"
	StorageRedis  = "redis"
)

// StorageSpec is one entry of storages.yaml. The loader checks it; the
// caller builds the store (the loader imports no store package) and
// passes it in Options.Storages under Name.
type StorageSpec struct {
	Name string `yaml:"-"`
	// Type is StorageMemory, StorageValkey or StorageRedis (the same
	// store: Valkey speaks Redis's protocol).
	Type string `yaml:"type"`
	// URL is the server's redis://, rediss://, valkey:// or valkeys:// URL
	// (valkey and redis only).
	URL string `yaml:"url"`
	// Prefix starts every key (valkey and redis; empty: the store's
	// default).
	Prefix string `yaml:"prefix"`
	// Timeout bounds each store operation (valkey and redis; 0: the
	// store's default).
	Timeout time.Duration `yaml:"-"`
	// ClientCache turns on client-side caching for at most this long
	// (valkey and redis; 0: off).
	ClientCache time.Duration `yaml:"-"`
	// The durations as written, parsed by ReadDir so that errors have a
	// line.
	TimeoutText     string `yaml:"timeout"`
	ClientCacheText string `yaml:"clientCache"`
	// MaxEntries caps a memory store (0: its default).
	MaxEntries int `yaml:"maxEntries"`

	line int
}

// Errorf locates err at the spec in storages.yaml, for errors found while
// building the store.
func (s StorageSpec) Errorf(format string, args ...any) error {
	return &Error{File: StoragesFile, Line: s.line, Key: "storages." + s.Name, Err: fmt.Errorf(format, args...)}
}

// Same reports whether s and t describe the same store, so that a reload
// can keep it (and its sessions).
func (s StorageSpec) Same(t StorageSpec) bool {
	s.line, t.line = 0, 0
	return s == t
}

// routeSpec is one entry of routes.yaml.
type routeSpec struct {
	// Path is an http.ServeMux path: "/dashboard" matches that path only,
	// "/api/" every path under it, "/users/{id}" one segment and
	// "/files/{rest...}" the rest of the path.
	Path string `yaml:"path"`
	// Method is one method; Methods several. Neither: every method. GET
	// also answers HEAD.
	Method  string   `yaml:"method"`
	Methods []string `yaml:"methods"`
	// Middlewares wrap the action, the first outermost.
	Middlewares []string `yaml:"middlewares"`
	// Action names an entry of actions.yaml.
	Action string `yaml:"action"`
}

// actionSpec is one entry of actions.yaml.
type actionSpec struct {
	// Type is "forward" (a reverse proxy to URL) or "static" (a fixed
	// response, Kong's request-termination).
	Type string `yaml:"type"`

	URL          string `yaml:"url"`
	Timeout      string `yaml:"timeout"`     // forward: wait for the response headers
	DialTimeout  string `yaml:"dialTimeout"` // forward: connect
	PreserveHost bool   `yaml:"preserveHost"`

	Status      int    `yaml:"status"`
	Message     string `yaml:"message"`
	Body        string `yaml:"body"`
	ContentType string `yaml:"contentType"`
}

// consumerSpec is one entry of consumers.yaml, in Kong's declarative
// format.
type consumerSpec struct {
	ID                 string `yaml:"id"`
	Username           string `yaml:"username"`
	CustomID           string `yaml:"custom_id"`
	KeyauthCredentials []struct {
		ID  string `yaml:"id"`
		Key string `yaml:"key"`
	} `yaml:"keyauth_credentials"`
	ACLs []struct {
		Group string `yaml:"group"`
	} `yaml:"acls"`
}

// PluginSpec is one entry of plugins.yaml. Plugins are built in, so
// entries are acknowledged and their .so paths ignored.
type PluginSpec struct {
	Path string `yaml:"path"`
	Name string `yaml:"name"`
}

// Dir is a gateway directory, read and checked by ReadDir.
type Dir struct {
	// Path is the directory.
	Path string
	// Storages are storages.yaml's entries, sorted by name.
	Storages []StorageSpec
	// Plugins are plugins.yaml's entries.
	Plugins []PluginSpec

	middlewares *source
	routes      []routeSpec
	routesSrc   *source
	actions     map[string]actionSpec
	actionsSrc  *source
	consumers   []gateway.Consumer
}

// ReadDir reads the YAML files of a gateway directory and checks
// everything that needs no secret and no store: syntax, unknown keys,
// types, paths, methods, durations and the names one file gives another.
// Build checks the rest. Errors are *Error values naming the file, line
// and key.
func ReadDir(dir string) (*Dir, error) {
	d := &Dir{Path: dir, actions: map[string]actionSpec{}}
	read := func(name string, required bool) (*source, error) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) && !required {
			return nil, nil
		}
		if err != nil {
			return nil, &Error{File: name, Err: err}
		}
		return parseSource(name, data)
	}
	var srcs [6]*source
	for i, f := range []struct {
		name     string
		required bool
	}{{MiddlewaresFile, true}, {RoutesFile, true}, {ActionsFile, true}, {StoragesFile, false}, {ConsumersFile, false}, {PluginsFile, false}} {
		src, err := read(f.name, f.required)
		if err != nil {
			return nil, err
		}
		srcs[i] = src
	}
	d.middlewares, d.routesSrc, d.actionsSrc = srcs[0], srcs[1], srcs[2]
	if err := d.readStorages(srcs[3]); err != nil {
		return nil, err
	}
	if err := d.readConsumers(srcs[4]); err != nil {
		return nil, err
	}
	if err := d.readPlugins(srcs[5]); err != nil {
		return nil, err
	}
	if err := d.readActions(); err != nil {
		return nil, err
	}
	if err := d.readRoutes(); err != nil {
		return nil, err
	}
	// Middleware names and storage names are checked by Build; check
	// what can be checked without a secret now.
	var mf file
	if err := d.middlewares.decode(d.middlewares.root, &mf); err != nil {
		return nil, err
	}
	for i, r := range d.routes {
		for j, name := range r.Middlewares {
			if _, ok := mf.Middlewares[name]; !ok {
				return nil, d.routesSrc.errAt(fmt.Errorf("no middleware named %q in %s (known: %s)", name, MiddlewaresFile, sortedKeys(mf.Middlewares)), "routes", i, "middlewares", j)
			}
		}
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) string {
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

func (d *Dir) readStorages(src *source) error {
	if src == nil {
		return nil
	}
	var f struct {
		Storages map[string]StorageSpec `yaml:"storages"`
	}
	if err := src.decode(src.root, &f); err != nil {
		return err
	}
	for name, s := range f.Storages {
		s.Name, s.line = name, lineAt(src.root, []any{"storages", name})
		at := func(key string, err error) error { return src.errAt(err, "storages", name, key) }
		var err error
		if s.Timeout, err = optDuration(s.TimeoutText); err != nil {
			return at("timeout", err)
		}
		if s.ClientCache, err = optDuration(s.ClientCacheText); err != nil {
			return at("clientCache", err)
		}
		switch s.Type {
		case StorageMemory:
			if s.URL != "" || s.Prefix != "" || s.Timeout != 0 || s.ClientCache != 0 {
				return at("type", errors.New("a memory storage takes only maxEntries"))
			}
			if s.MaxEntries < 0 {
				return at("maxEntries", fmt.Errorf("%d is negative", s.MaxEntries))
			}
		case StorageValkey, StorageRedis:
			u, err := url.Parse(s.URL)
			switch {
			case s.URL == "":
				return at("url", errors.New("missing (e.g. redis://127.0.0.1:6379/0)"))
			case err != nil:
				return at("url", errors.New("not a URL"))
			case !slices.Contains([]string{"redis", "rediss", "valkey", "valkeys", "unix"}, u.Scheme):
				return at("url", fmt.Errorf("scheme %q is not redis, rediss, valkey, valkeys or unix", u.Scheme))
			case s.Timeout < 0:
				return at("timeout", fmt.Errorf("%v is negative", s.Timeout))
			case s.ClientCache < 0:
				return at("clientCache", fmt.Errorf("%v is negative", s.ClientCache))
			case s.MaxEntries != 0:
				return at("maxEntries", errors.New("only for a memory storage"))
			}
		case "":
			return at("type", fmt.Errorf("missing (want %s, %s or %s)", StorageMemory, StorageValkey, StorageRedis))
		default:
			return at("type", fmt.Errorf("unknown storage type %q (want %s, %s or %s)", s.Type, StorageMemory, StorageValkey, StorageRedis))
		}
		d.Storages = append(d.Storages, s)
	}
	sort.Slice(d.Storages, func(i, j int) bool { return d.Storages[i].Name < d.Storages[j].Name })
	return nil
}

func (d *Dir) readConsumers(src *source) error {
	if src == nil {
		return nil
	}
	var f struct {
		Consumers []consumerSpec `yaml:"consumers"`
	}
	if err := src.decode(src.root, &f); err != nil {
		return err
	}
	for i, c := range f.Consumers {
		gc := gateway.Consumer{ID: c.ID, Username: c.Username, CustomID: c.CustomID}
		for _, k := range c.KeyauthCredentials {
			gc.Keys = append(gc.Keys, gateway.KeyCredential{ID: k.ID, Key: k.Key})
		}
		for _, a := range c.ACLs {
			gc.Groups = append(gc.Groups, a.Group)
		}
		d.consumers = append(d.consumers, gc)
		// Check each consumer as it is added, so that the error names it.
		if _, err := gateway.KeyAuth(d.consumers); err != nil {
			return src.errAt(err, "consumers", i)
		}
	}
	return nil
}

func (d *Dir) readPlugins(src *source) error {
	if src == nil {
		return nil
	}
	var f struct {
		Plugins []PluginSpec `yaml:"plugins"`
	}
	if err := src.decode(src.root, &f); err != nil {
		return err
	}
	for i, p := range f.Plugins {
		if p.Path == "" && p.Name == "" {
			return src.errAt(errors.New("neither path nor name"), "plugins", i)
		}
	}
	d.Plugins = f.Plugins
	return nil
}

func (d *Dir) readActions() error {
	src := d.actionsSrc
	var f struct {
		Actions map[string]actionSpec `yaml:"actions"`
	}
	if err := src.decode(src.root, &f); err != nil {
		return err
	}
	if len(f.Actions) == 0 {
		return &Error{File: ActionsFile, Err: errors.New("no actions defined (want a top-level \"actions:\" mapping)")}
	}
	for name, a := range f.Actions {
		at := func(key string, err error) error { return src.errAt(err, "actions", name, key) }
		switch a.Type {
		case "forward":
			if a.Status != 0 || a.Message != "" || a.Body != "" || a.ContentType != "" {
				return at("type", errors.New("status, message, body and contentType are for static actions"))
			}
			if _, err := optDuration(a.Timeout); err != nil {
				return at("timeout", err)
			}
			if _, err := optDuration(a.DialTimeout); err != nil {
				return at("dialTimeout", err)
			}
			if _, err := a.forward(""); err != nil {
				key := "url"
				if strings.Contains(err.Error(), "DialTimeout") {
					key = "dialTimeout"
				} else if strings.Contains(err.Error(), "Timeout") {
					key = "timeout"
				}
				return at(key, err)
			}
		case "static":
			if a.URL != "" || a.Timeout != "" || a.DialTimeout != "" || a.PreserveHost {
				return at("type", errors.New("url, timeout, dialTimeout and preserveHost are for forward actions"))
			}
			if _, err := a.static(); err != nil {
				// Kong's key names, as actions.yaml spells them.
				key := map[string]string{"status_code": "status", "content_type": "contentType", "message": "message"}[terminationKey(err)]
				return at(key, err)
			}
		case "":
			return at("type", errors.New("missing (want forward or static)"))
		default:
			return at("type", fmt.Errorf("unknown action type %q (want forward or static)", a.Type))
		}
		d.actions[name] = a
	}
	return nil
}

// forward builds a forward action, to upstream instead of URL when set.
func (a actionSpec) forward(upstream string, opts ...gateway.ForwardOption) (*gateway.Proxy, error) {
	target := a.URL
	if upstream != "" {
		target = upstream
	}
	if d, _ := optDuration(a.Timeout); d != 0 {
		opts = append(opts, gateway.ForwardTimeout(d))
	}
	if d, _ := optDuration(a.DialTimeout); d != 0 {
		opts = append(opts, gateway.ForwardDialTimeout(d))
	}
	opts = append(opts, gateway.ForwardPreserveHost(a.PreserveHost))
	return gateway.Forward(target, opts...)
}

func (a actionSpec) static() (http.Handler, error) {
	return gateway.Respond(gateway.StaticResponse{Status: a.Status, Message: a.Message, Body: a.Body, ContentType: a.ContentType})
}

var knownMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

func (d *Dir) readRoutes() error {
	src := d.routesSrc
	var f struct {
		Routes []routeSpec `yaml:"routes"`
	}
	if err := src.decode(src.root, &f); err != nil {
		return err
	}
	if len(f.Routes) == 0 {
		return &Error{File: RoutesFile, Err: errors.New("no routes defined (want a top-level \"routes:\" list)")}
	}
	mux := http.NewServeMux()
	for i, r := range f.Routes {
		at := func(key string, err error) error { return src.errAt(err, "routes", i, key) }
		if r.Method != "" && len(r.Methods) > 0 {
			return at("methods", errors.New("method and methods both set: use one"))
		}
		if r.Method != "" {
			r.Methods = []string{r.Method}
		}
		for j, m := range r.Methods {
			if !slices.Contains(knownMethods, m) {
				err := fmt.Errorf("%q is not one of %s (upper case)", m, strings.Join(knownMethods, ", "))
				if r.Method != "" {
					return at("method", err)
				}
				return src.errAt(err, "routes", i, "methods", j)
			}
		}
		if err := checkPath(r.Path); err != nil {
			return at("path", err)
		}
		if _, ok := d.actions[r.Action]; !ok {
			err := fmt.Errorf("no action named %q in %s (known: %s)", r.Action, ActionsFile, sortedKeys(d.actions))
			if r.Action == "" {
				err = errors.New("missing")
			}
			return at("action", err)
		}
		if err := register(mux, r, http.NotFoundHandler()); err != nil {
			return at("path", err)
		}
		d.routes = append(d.routes, r)
	}
	return nil
}

// HealthPath is answered by cmd/sessiongw itself; no route may use it.
const HealthPath = "/healthz"

// optDuration parses a Go duration; "" is 0.
func optDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := parseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("%v is negative", d)
	}
	return d, err
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("missing")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q does not start with /", p)
	case strings.ContainsAny(p, " \t?#"):
		return fmt.Errorf("%q contains a space, ? or #", p)
	case p == HealthPath || strings.HasPrefix(HealthPath, strings.TrimSuffix(p, "/")+"/") && strings.HasSuffix(p, "/") && p != "/":
		return fmt.Errorf("%s is answered by the gateway itself", HealthPath)
	}
	return nil
}

// register adds r's patterns to mux; http.ServeMux panics on an invalid
// or conflicting pattern, which becomes an error.
func register(mux *http.ServeMux, r routeSpec, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "parsing") {
				msg = msg[i+2:]
			}
			err = fmt.Errorf("%s", msg)
		}
	}()
	if len(r.Methods) == 0 {
		mux.Handle(r.Path, h)
		return nil
	}
	for _, m := range r.Methods {
		mux.Handle(m+" "+r.Path, h)
	}
	return nil
}

// Gateway is a built gateway directory: an http.Handler that routes each
// request through its route's middlewares to its action.
type Gateway struct {
	mux         *http.ServeMux
	middlewares *Middlewares
	proxies     []*gateway.Proxy
}

// ServeHTTP routes r.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Close releases what Build created (idle upstream connections, the
// middlewares' own stores); stores passed in Options stay open. Call it
// once no request uses the Gateway any more.
func (g *Gateway) Close() error {
	errs := []error{g.middlewares.Close()}
	for _, p := range g.proxies {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// BuildOptions are what Build needs beside Options.
type BuildOptions struct {
	// Upstream, when set, replaces the URL of every forward action (a demo
	// upstream).
	Upstream string
	// Observe, when set, is called with the request after each middleware
	// of its route and before its action (for access logs: the consumer,
	// the session). It must not keep r.
	Observe func(r *http.Request)
}

// Build builds the gateway with o (the secret, the stores named in
// storages.yaml, …); o.Consumers is set from consumers.yaml.
func (d *Dir) Build(o Options, bo BuildOptions) (*Gateway, error) {
	o.Consumers = d.consumers
	mws, err := loadMiddlewares(d.middlewares, o)
	if err != nil {
		return nil, err
	}
	g := &Gateway{mux: http.NewServeMux(), middlewares: mws}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(d.Plugins) > 0 {
		var paths []string
		for _, p := range d.Plugins {
			paths = append(paths, p.Path+p.Name)
		}
		logger.Info("plugins.yaml acknowledged: the session plugins are built in, so .so paths are ignored", slog.Any("plugins", paths))
	}
	actions := map[string]http.Handler{}
	for name, a := range d.actions {
		var h http.Handler
		if a.Type == "forward" {
			p, err := a.forward(bo.Upstream, gateway.ForwardLogger(logger))
			if err != nil {
				g.Close()
				return nil, d.actionsSrc.errAt(err, "actions", name, "url")
			}
			g.proxies = append(g.proxies, p)
			h = p
		} else if h, err = a.static(); err != nil {
			g.Close()
			return nil, d.actionsSrc.errAt(err, "actions", name)
		}
		actions[name] = h
	}
	for i, r := range d.routes {
		if err := checkOrder(mws, r); err != nil {
			g.Close()
			return nil, d.routesSrc.errAt(err, "routes", i, "middlewares")
		}
		h := actions[r.Action]
		if bo.Observe != nil {
			h = observe(h, bo.Observe)
		}
		for j := len(r.Middlewares) - 1; j >= 0; j-- {
			mw, _ := mws.Get(r.Middlewares[j])
			h = mw(h)
			if bo.Observe != nil && j > 0 {
				h = observe(h, bo.Observe)
			}
		}
		if err := register(g.mux, r, h); err != nil {
			g.Close()
			return nil, d.routesSrc.errAt(err, "routes", i, "path")
		}
	}
	return g, nil
}

func observe(next http.Handler, fn func(*http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(r)
		next.ServeHTTP(w, r)
	})
}

// checkOrder refuses a route whose middlewares cannot work in its order:
// key-auth after a session middleware (Kong runs the session first), a
// request-termination for a consumer after a key-auth.
func checkOrder(mws *Middlewares, r routeSpec) error {
	session, keyAuth := -1, -1
	for i, name := range r.Middlewares {
		switch mws.uses[name] {
		case useLoadSession, useKongSession:
			if session < 0 {
				session = i
			}
		case useKeyAuth:
			if session < 0 && slices.ContainsFunc(r.Middlewares[i:], func(n string) bool {
				return mws.uses[n] == useKongSession || mws.uses[n] == useLoadSession
			}) {
				return fmt.Errorf("%q (key-auth) must come after the session middleware, which it logs in", name)
			}
			keyAuth = i
		case useRequestTermination:
			if mws.consumerScoped[name] && keyAuth < 0 {
				return fmt.Errorf("%q (request-termination for a consumer) needs a key-auth before it", name)
			}
		case useMapSessionToHeader:
			if session < 0 {
				return fmt.Errorf("%q (MapSessionToHeader) needs a session middleware before it", name)
			}
		}
	}
	return nil
}

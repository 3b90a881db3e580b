package config

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// The middleware kinds; a "use" value names one.
const (
	useLoadSession        = "LoadSessionMiddleware"
	useMapSessionToHeader = "MapSessionToHeaderMiddleware"
	useKongSession        = "session"
	useKeyAuth            = "key-auth"
	useRequestTermination = "request-termination"
)

// The "use" values of Kong's plugins.
const (
	// UseKongSession is Kong's session plugin (gateway.Kong).
	UseKongSession = "session"
	// UseKeyAuth is Kong's key-auth plugin (gateway.KeyAuth).
	UseKeyAuth = "key-auth"
	// UseRequestTermination is Kong's request-termination plugin
	// (gateway.RequestTermination).
	UseRequestTermination = "request-termination"
)

var uses = map[string]string{
	UseLoadSession: useLoadSession, "LoadSessionMiddleware": useLoadSession,
	UseMapSessionToHeader: useMapSessionToHeader, "MapSessionToHeaderMiddleware": useMapSessionToHeader,
	UseKongSession: useKongSession, UseKeyAuth: useKeyAuth, UseRequestTermination: useRequestTermination,
}

func useNames() []string {
	return []string{UseLoadSession, UseMapSessionToHeader, UseKongSession, UseKeyAuth, UseRequestTermination}
}

var builders = map[string]builder{
	useLoadSession:        buildLoadSession,
	useMapSessionToHeader: buildMapSessionToHeader,
	useKongSession:        buildKongSession,
	useKeyAuth:            buildKeyAuth,
	useRequestTermination: buildRequestTermination,
}

// KongSessionConfig is the config block of Kong's session plugin (use:
// session), with Kong's field names; unset fields keep gateway.Kong's
// defaults. Timeouts are in seconds, as in Kong.
type KongSessionConfig struct {
	// Storage is "cookie" (the default: sessions in encrypted cookies) or
	// the name of a storage (Kong's storage=kong).
	Storage string `yaml:"storage"`
	// RevocationStorage names the storage that lists logged-out cookie
	// sessions; without it a logged-out cookie stays valid until it
	// expires, as in Kong.
	RevocationStorage       string   `yaml:"revocation_storage"`
	CookieName              string   `yaml:"cookie_name"`
	CookiePath              string   `yaml:"cookie_path"`
	CookieDomain            string   `yaml:"cookie_domain"`
	CookieSameSite          string   `yaml:"cookie_same_site"`
	CookieHTTPOnly          *bool    `yaml:"cookie_http_only"`
	CookieSecure            *bool    `yaml:"cookie_secure"`
	IdlingTimeout           *int     `yaml:"idling_timeout"`
	RollingTimeout          *int     `yaml:"rolling_timeout"`
	AbsoluteTimeout         *int     `yaml:"absolute_timeout"`
	StaleTTL                *int     `yaml:"stale_ttl"`
	LogoutMethods           []string `yaml:"logout_methods"`
	LogoutQueryArg          string   `yaml:"logout_query_arg"`
	LogoutPostArg           string   `yaml:"logout_post_arg"`
	Remember                bool     `yaml:"remember"`
	RememberCookieName      string   `yaml:"remember_cookie_name"`
	RememberRollingTimeout  *int     `yaml:"remember_rolling_timeout"`
	RememberAbsoluteTimeout *int     `yaml:"remember_absolute_timeout"`
	Audience                string   `yaml:"audience"`
	RequestHeaders          []string `yaml:"request_headers"`
	ResponseHeaders         []string `yaml:"response_headers"`
}

// KeyAuthConfig is the config block of Kong's key-auth plugin (use:
// key-auth). Consumers and their keys come from Options.Consumers
// (consumers.yaml).
type KeyAuthConfig struct {
	KeyNames    []string `yaml:"key_names"`
	KeyInHeader *bool    `yaml:"key_in_header"`
	KeyInQuery  *bool    `yaml:"key_in_query"`
	// KeyInBody is refused when true: keys are read from headers and the
	// query only.
	KeyInBody bool `yaml:"key_in_body"`
	// HideCredentials defaults to true (Kong: false): upstreams never see
	// the key.
	HideCredentials *bool `yaml:"hide_credentials"`
	// Anonymous is the ID or username of the consumer that requests
	// without a valid key continue as.
	Anonymous string `yaml:"anonymous"`
}

// RequestTerminationConfig is the config block of Kong's
// request-termination plugin (use: request-termination).
type RequestTerminationConfig struct {
	StatusCode  int    `yaml:"status_code"`
	Message     string `yaml:"message"`
	Body        string `yaml:"body"`
	ContentType string `yaml:"content_type"`
	// Consumer limits the plugin to one consumer's requests (Kong's
	// plugin on a consumer), by ID or username; a key-auth must run
	// before it in the route.
	Consumer string `yaml:"consumer"`
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

func buildKongSession(b *build, block any, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	c := block.(*KongSessionConfig)
	var opts []keyed
	add := func(key string, opt sessionmw.Option) { opts = append(opts, keyed{key, opt}) }
	switch c.Storage {
	case "", "cookie":
		add("storage", sessionmw.WithCookieStorage())
		if c.RevocationStorage != "" {
			store, err := b.storage(c.RevocationStorage)
			if err != nil {
				return nil, at("revocation_storage", err)
			}
			add("revocation_storage", sessionmw.WithRevocationStore(store))
		} else {
			b.logger.Warn("Kong session with cookie storage and no revocation_storage: a logged-out cookie stays valid until it expires")
		}
	default:
		if c.RevocationStorage != "" {
			return nil, at("revocation_storage", errors.New("only for storage: cookie (a server storage deletes logged-out sessions)"))
		}
		store, err := b.storage(c.Storage)
		if err != nil {
			return nil, at("storage", fmt.Errorf("%w, or \"cookie\"", err))
		}
		add("storage", sessionmw.WithStore(store))
	}
	if c.CookieName != "" {
		add("cookie_name", sessionmw.WithSessionCookie(c.CookieName))
	}
	if c.CookiePath != "" {
		add("cookie_path", sessionmw.WithPath(c.CookiePath))
	}
	if c.CookieDomain != "" {
		add("cookie_domain", sessionmw.WithDomain(c.CookieDomain))
	}
	if c.CookieSameSite != "" {
		ss, err := parseSameSite(c.CookieSameSite)
		if err != nil {
			return nil, at("cookie_same_site", err)
		}
		add("cookie_same_site", sessionmw.WithSameSite(ss))
	}
	if c.CookieHTTPOnly != nil {
		add("cookie_http_only", sessionmw.WithHTTPOnly(*c.CookieHTTPOnly))
	}
	if c.CookieSecure != nil {
		add("cookie_secure", sessionmw.WithSecure(*c.CookieSecure))
	}
	for _, t := range []struct {
		key string
		v   *int
		opt func(time.Duration) sessionmw.Option
	}{
		{"idling_timeout", c.IdlingTimeout, sessionmw.WithIdleTimeout},
		{"rolling_timeout", c.RollingTimeout, sessionmw.WithRollingTimeout},
		{"absolute_timeout", c.AbsoluteTimeout, sessionmw.WithAbsoluteTimeout},
		{"stale_ttl", c.StaleTTL, sessionmw.WithRenewGrace},
	} {
		if t.v == nil {
			continue
		}
		if *t.v < 0 {
			return nil, at(t.key, fmt.Errorf("%d is negative (seconds)", *t.v))
		}
		add(t.key, t.opt(seconds(*t.v)))
	}
	if len(c.LogoutMethods) > 0 {
		add("logout_methods", sessionmw.WithLogoutMethods(c.LogoutMethods...))
	}
	if c.LogoutQueryArg != "" {
		add("logout_query_arg", sessionmw.WithLogoutQueryArg(c.LogoutQueryArg))
	}
	if c.LogoutPostArg != "" {
		add("logout_post_arg", sessionmw.WithLogoutPostArg(c.LogoutPostArg))
	}
	if c.Remember {
		rolling, absolute := sessionmw.DefaultRememberRolling, sessionmw.DefaultRememberAbsolute
		if c.RememberRollingTimeout != nil {
			rolling = seconds(*c.RememberRollingTimeout)
		}
		if c.RememberAbsoluteTimeout != nil {
			absolute = seconds(*c.RememberAbsoluteTimeout)
		}
		add("remember", sessionmw.WithRemember(rolling, absolute))
		if c.RememberCookieName != "" {
			add("remember_cookie_name", sessionmw.WithRememberCookie(c.RememberCookieName))
		}
	} else if c.RememberCookieName != "" || c.RememberRollingTimeout != nil || c.RememberAbsoluteTimeout != nil {
		return nil, at("remember", errors.New("remember_* keys are set but remember is not true"))
	}
	if c.Audience != "" {
		add("audience", sessionmw.WithAudience(c.Audience))
	}
	if len(c.RequestHeaders) > 0 {
		add("request_headers", sessionmw.WithRequestHeaders(c.RequestHeaders...))
	}
	if len(c.ResponseHeaders) > 0 {
		add("response_headers", sessionmw.WithResponseHeaders(c.ResponseHeaders...))
	}
	if b.anon != "" {
		add("anonymous", sessionmw.WithAnonymousSubject(b.anon))
	}
	if len(b.o.Consumers) > 0 {
		ids := map[string]bool{}
		for _, cons := range b.o.Consumers {
			ids[consumerID(cons)] = true
		}
		add("consumers", sessionmw.WithIdentityCheck(func(_ context.Context, id sessionmw.Identity) (bool, error) {
			return ids[id.Subject] && id.Subject != b.anon, nil
		}))
	}
	return b.session(gateway.Kong, opts, func(key string, err error) error {
		if k, ok := kongOptionKeys[key]; ok {
			key = k
		}
		return at(key, err)
	})
}

// kongOptionKeys renames the seed's keys (from optionKeys) to Kong's.
var kongOptionKeys = map[string]string{
	"cookieSameSite": "cookie_same_site",
	"keyLookup":      "cookie_name",
	"cookiePath":     "cookie_path",
	"cookieDomain":   "cookie_domain",
}

func consumerID(c gateway.Consumer) string {
	if c.ID != "" {
		return c.ID
	}
	return c.Username
}

func buildKeyAuth(b *build, block any, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	c := block.(*KeyAuthConfig)
	if c.KeyInBody {
		return nil, at("key_in_body", errors.New("keys in the request body are not supported (headers and query only)"))
	}
	var opts []gateway.KeyAuthOption
	if len(c.KeyNames) > 0 {
		opts = append(opts, gateway.KeyNames(c.KeyNames...))
	}
	if c.KeyInHeader != nil {
		opts = append(opts, gateway.KeyInHeader(*c.KeyInHeader))
	}
	if c.KeyInQuery != nil {
		opts = append(opts, gateway.KeyInQuery(*c.KeyInQuery))
	}
	if c.HideCredentials != nil {
		opts = append(opts, gateway.KeyHideCredentials(*c.HideCredentials))
	}
	opts = append(opts, gateway.KeyLogger(b.logger))
	if c.Anonymous != "" {
		opts = append(opts, gateway.KeyAnonymous(c.Anonymous))
		id := ""
		for _, cons := range b.o.Consumers {
			if consumerID(cons) == c.Anonymous || cons.Username == c.Anonymous {
				id = consumerID(cons)
			}
		}
		if id == "" {
			return nil, at("anonymous", fmt.Errorf("no consumer with id or username %q (consumers: %s)", c.Anonymous, consumerNames(b.o.Consumers)))
		}
		if b.anon != "" && b.anon != id {
			return nil, at("anonymous", fmt.Errorf("another key-auth names %q: all key-auth middlewares must share one anonymous consumer", b.anon))
		}
		b.anon = id
	}
	h, err := gateway.KeyAuth(b.o.Consumers, opts...)
	if err != nil {
		key := "key_names"
		if c.Anonymous != "" {
			key = "anonymous"
		}
		return nil, at(key, err)
	}
	return h, nil
}

func consumerNames(cs []gateway.Consumer) string {
	var names []string
	for _, c := range cs {
		names = append(names, consumerID(c))
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

func buildRequestTermination(b *build, block any, at func(string, error) error) (func(http.Handler) http.Handler, error) {
	c := block.(*RequestTerminationConfig)
	if c.Consumer != "" {
		found := false
		for _, cons := range b.o.Consumers {
			found = found || consumerID(cons) == c.Consumer || cons.Username == c.Consumer
		}
		if !found {
			return nil, at("consumer", fmt.Errorf("no consumer with id or username %q (consumers: %s)", c.Consumer, consumerNames(b.o.Consumers)))
		}
	}
	h, err := gateway.RequestTermination(gateway.StaticResponse{
		Status: c.StatusCode, Message: c.Message, Body: c.Body, ContentType: c.ContentType,
	}, c.Consumer)
	if err != nil {
		return nil, at(terminationKey(err), err)
	}
	return h, nil
}

// terminationKey names the key behind a StaticResponse error.
func terminationKey(err error) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, "status"):
		return "status_code"
	case strings.Contains(msg, "content type"):
		return "content_type"
	}
	return "message"
}

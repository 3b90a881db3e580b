package sessionmw

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
)

// Bind names client attributes a session can be bound to (WithBind).
type Bind uint8

// The attributes WithBind can bind a session to.
const (
	// BindIP binds to the client's IP address, as http.Request.RemoteAddr
	// gives it. Behind a reverse proxy RemoteAddr is the proxy's: rewrite
	// it from X-Forwarded-For in a middleware that trusts only your
	// proxies before this one, or do not bind to the IP. Mobile clients
	// change IP often (cell towers, Wi-Fi): each change logs them out.
	BindIP Bind = 1 << iota
	// BindScheme binds to http or https (r.TLS): a session started over
	// HTTPS is refused over plain HTTP.
	BindScheme
	// BindUserAgent binds to the User-Agent header. Browsers change it
	// when they update, which then logs their users out.
	BindUserAgent
)

const bindInfo = "sessionmw v1 client binding"

// WithBind binds new and renewed sessions to the client attributes in b
// (Kong's bind: ip, scheme, user-agent): a keyed hash of them is kept in
// the session's metadata, and a request whose attributes do not match it
// is refused (Refused hook, reason RefusedBinding) and gets a fresh
// session, so a stolen cookie is worthless from another network or
// browser. A session is bound when it is created or its id renewed
// (login); sessions from before the option keep working unbound until
// then. See the constants for what each attribute costs honest users.
func WithBind(b Bind) Option {
	return func(c *config) error {
		if b&^(BindIP|BindScheme|BindUserAgent) != 0 {
			return fmt.Errorf("sessionmw: WithBind: unknown attributes %#x", uint8(b))
		}
		c.bind = b
		return nil
	}
}

// binder computes bindings with a key derived from the secret.
type binder struct {
	what Bind
	key  []byte
}

func newBinder(what Bind, secret []byte) (*binder, error) {
	if what == 0 {
		return nil, nil
	}
	k, err := hkdf.Key(sha256.New, secret, nil, bindInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: deriving the binding key: %w", err)
	}
	return &binder{what: what, key: k}, nil
}

// of returns the binding of r: a keyed hash of the bound attributes.
func (b *binder) of(r *http.Request) string {
	mac := hmac.New(sha256.New, b.key)
	if b.what&BindIP != 0 {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		mac.Write([]byte("ip\x00" + host + "\x00"))
	}
	if b.what&BindScheme != 0 {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		mac.Write([]byte("scheme\x00" + scheme + "\x00"))
	}
	if b.what&BindUserAgent != 0 {
		mac.Write([]byte("ua\x00" + r.Header.Get("User-Agent") + "\x00"))
	}
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// matches reports whether a session bound to stored may be used by r.
// An unbound session (stored "") matches any request.
func (b *binder) matches(stored string, r *http.Request) bool {
	return b == nil || stored == "" || hmac.Equal([]byte(stored), []byte(b.of(r)))
}

// bindMeta binds meta to r when binding is on.
func (mw *Middleware) bindMeta(meta *Meta, r *http.Request) {
	if mw.binder != nil && r != nil {
		meta.Bind = mw.binder.of(r)
	}
}

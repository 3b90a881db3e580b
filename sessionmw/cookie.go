package sessionmw

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// MaxClockSkew is how far in the future a cookie's signature time may lie
// (another node's clock running ahead): within it the cookie is accepted,
// beyond it refused.
const MaxClockSkew = 5 * time.Minute

// maxCookieValueLen bounds the session cookie value. A signed id is about
// 100 bytes; anything much longer is rejected before any base64 or HMAC
// work is done.
const maxCookieValueLen = 256

// signingInfo separates the signing key derived from the secret from any
// other key derived from it (HKDF "info"), so one secret never serves two
// purposes.
const signingInfo = "sessionmw v1 signed session id"

// idCodec signs and verifies session ids. The cookie value is
// securecookie's format (base64 of "timestamp|value|HMAC-SHA256", the MAC
// also covering the cookie name) around the id's 16 raw bytes.
type idCodec struct {
	codecs []*securecookie.SecureCookie // current key first, then fallbacks
}

// errBadID reports a verified value that is not a version-4 UUID.
var errBadID = errors.New("signed value is not a session id")

// errNotCanonical reports a value that is not canonical base64url.
var errNotCanonical = errors.New("cookie value is not canonical base64url")

func newIDCodec(maxAge time.Duration, keys ...[]byte) (*idCodec, error) {
	c := &idCodec{}
	secs := int((maxAge + time.Second - 1) / time.Second)
	for _, k := range keys {
		hk, err := hkdf.Key(sha256.New, k, nil, signingInfo, 32)
		if err != nil {
			return nil, fmt.Errorf("sessionmw: deriving the signing key: %w", err)
		}
		sc := securecookie.New(hk, nil)
		// securecookie's default gob serializer costs microseconds and
		// allocations per request; the id is already bytes.
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxLength(maxCookieValueLen)
		// The signature expires too: never 0, which would switch the
		// check off.
		sc.MaxAge(secs)
		// securecookie refuses timestamps newer than now-minAge; a
		// negative minimum age is therefore a window for clock skew, and
		// anything further in the future is refused.
		sc.MinAge(-int(MaxClockSkew / time.Second))
		c.codecs = append(c.codecs, sc)
	}
	return c, nil
}

// encode signs id under the current key for the cookie called name.
func (c *idCodec) encode(name, id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", fmt.Errorf("sessionmw: encoding session id: %w", err)
	}
	v, err := c.codecs[0].Encode(name, u[:])
	if err != nil {
		return "", fmt.Errorf("sessionmw: signing session id: %w", err)
	}
	return v, nil
}

// decode verifies value as the cookie called name and returns the id in
// it. fallback reports that a retired key verified it (the cookie should be
// re-issued under the current key).
func (c *idCodec) decode(name, value string) (id string, fallback bool, err error) {
	if len(value) > maxCookieValueLen {
		return "", false, fmt.Errorf("cookie value is %d bytes, over the %d-byte limit", len(value), maxCookieValueLen)
	}
	// securecookie's base64 decoding tolerates non-canonical spellings
	// (unused bits set in the last character); accept only the one
	// spelling the encoder produces, so a value maps to one id one way.
	var buf [maxCookieValueLen]byte
	if _, err := base64.URLEncoding.Strict().Decode(buf[:], []byte(value)); err != nil {
		return "", false, errNotCanonical
	}
	var b []byte
	for i, sc := range c.codecs {
		if err = sc.Decode(name, value, &b); err == nil {
			fallback = i > 0
			break
		}
	}
	if err != nil {
		return "", false, err
	}
	u, uerr := uuid.FromBytes(b)
	if uerr != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		return "", false, errBadID
	}
	return u.String(), fallback, nil
}

// newID returns a fresh random (version 4) session id.
func newID() string {
	return uuid.NewString()
}

// cookieString renders the Set-Cookie value for the session cookie. maxAge
// is in seconds: 0 for a browser-session cookie, -1 to delete it.
func (mw *Middleware) cookieString(name, value string, maxAge int) string {
	c := sessions.NewCookie(name, value, &sessions.Options{
		Path:        mw.cfg.path,
		Domain:      mw.cfg.domain,
		MaxAge:      maxAge,
		Secure:      mw.cfg.secure,
		HttpOnly:    mw.cfg.httpOnly,
		Partitioned: mw.cfg.partitioned,
		SameSite:    mw.cfg.sameSite,
	})
	return c.String()
}

// setCookie adds the session cookie to h, keeping any other Set-Cookie
// header, and forbids caching of the response unless the handler chose a
// Cache-Control of its own.
func (mw *Middleware) setCookie(h http.Header, value string, maxAge int) {
	mw.setNamedCookie(h, mw.cfg.cookieName, value, maxAge)
}

// setNamedCookie is setCookie for one of cookie storage's chunk cookies.
func (mw *Middleware) setNamedCookie(h http.Header, name, value string, maxAge int) {
	h.Add("Set-Cookie", mw.cookieString(name, value, maxAge))
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
}

package sessionmw

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
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

// idCodec signs and verifies session ids in gorilla/securecookie's format:
// base64url("timestamp|base64url(id)|HMAC-SHA256(name|timestamp|base64url(id))"),
// around the id's 16 raw bytes (securecookie with a pass-through
// serializer and no encryption), so that a cookie verifies the same way
// under securecookie.
//
// It implements that format itself rather than calling securecookie on the
// request path: securecookie builds a new HMAC (two SHA-256 states and
// their key schedule) and about ten buffers per call, which cost more than
// everything else a returning request does. Here the HMAC states are
// pooled and reset, and the buffers live on the stack; a differential fuzz
// test (FuzzIDCodecMatchesSecurecookie) checks that every value is
// accepted or refused exactly as securecookie would, with the same id.
type idCodec struct {
	keys   []*macPool // current key first, then fallbacks
	maxAge int64      // seconds; never 0 (which would switch expiry off)
	skew   int64      // seconds a timestamp may lie in the future
	now    func() int64
}

// macPool hands out HMAC-SHA256 states for one key.
type macPool struct{ sync.Pool }

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
	buf []byte // the MAC input, copied here so callers' stack buffers stay there
}

func newMacPool(key []byte) *macPool {
	p := &macPool{}
	p.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	return p
}

// mac writes HMAC(name + "|" + data) into dst (sha256.Size bytes).
func (p *macPool) mac(dst []byte, name string, data []byte) {
	st := p.Get().(*macState)
	st.buf = append(append(append(st.buf[:0], name...), '|'), data...)
	st.h.Reset()
	st.h.Write(st.buf)
	copy(dst, st.h.Sum(st.sum[:0]))
	p.Put(st)
}

// errBadID reports a verified value that is not a version-4 UUID.
var errBadID = errors.New("signed value is not a session id")

// errNotCanonical reports a value that is not canonical base64url.
var errNotCanonical = errors.New("cookie value is not canonical base64url")

// Errors of the signed-id format (as securecookie words them).
var (
	errMACInvalid       = errors.New("the value is not valid")
	errTimestampInvalid = errors.New("invalid timestamp")
	errTimestampExpired = errors.New("expired timestamp")
	errTimestampTooNew  = errors.New("timestamp is too new")
)

// signingKey derives the signing key from a secret.
func signingKey(secret []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, signingInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("sessionmw: deriving the signing key: %w", err)
	}
	return k, nil
}

func newIDCodec(maxAge time.Duration, keys ...[]byte) (*idCodec, error) {
	c := &idCodec{
		maxAge: int64((maxAge + time.Second - 1) / time.Second),
		skew:   int64(MaxClockSkew / time.Second),
		now:    func() int64 { return time.Now().Unix() },
	}
	for _, k := range keys {
		hk, err := signingKey(k)
		if err != nil {
			return nil, err
		}
		c.keys = append(c.keys, newMacPool(hk))
	}
	return c, nil
}

// encode signs id under the current key for the cookie called name.
func (c *idCodec) encode(name, id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", fmt.Errorf("sessionmw: encoding session id: %w", err)
	}
	return c.encodeAt(name, u, c.now()), nil
}

func (c *idCodec) encodeAt(name string, u uuid.UUID, ts int64) string {
	var buf [encodedIDLen]byte
	return string(c.appendEncoded(buf[:0], name, u, ts))
}

// encodedIDLen is the length of an encoded id with a timestamp of up to
// 20 characters: base64 of "ts|b64(id)|mac".
const encodedIDLen = (20 + 1 + 24 + 1 + sha256.Size + 2) / 3 * 4

// appendEncoded appends the cookie value for u signed at ts to dst.
func (c *idCodec) appendEncoded(dst []byte, name string, u uuid.UUID, ts int64) []byte {
	// inner: "ts|b64(id)|" + mac; the MAC covers "name|ts|b64(id)".
	var inner [20 + 1 + 24 + 1 + sha256.Size]byte
	b := strconv.AppendInt(inner[:0], ts, 10)
	b = append(b, '|')
	n := len(b)
	b = b[:n+24]
	base64.URLEncoding.Encode(b[n:], u[:])
	signed := len(b)
	b = append(b, '|')
	b = b[:len(b)+sha256.Size]
	c.keys[0].mac(b[signed+1:], name, b[:signed])
	return base64.URLEncoding.AppendEncode(dst, b)
}

// decode verifies value as the cookie called name and returns the id in
// it and the time it was signed (Unix seconds). fallback reports that a
// retired key verified it (the cookie should be re-issued under the
// current key).
func (c *idCodec) decode(name, value string) (id string, ts int64, fallback bool, err error) {
	return c.decodeAt(name, value, c.now())
}

// decodeAt is decode at time now (Unix seconds).
func (c *idCodec) decodeAt(name, value string, now int64) (id string, ts int64, fallback bool, err error) {
	if len(value) > maxCookieValueLen {
		return "", 0, false, errTooLarge
	}
	// securecookie's base64 decoding tolerates non-canonical spellings
	// (unused bits set in the last character); accept only the one
	// spelling the encoder produces, so a value maps to one id one way.
	var in, buf [maxCookieValueLen]byte
	copy(in[:], value) // a stack copy: converting value would allocate
	n, derr := base64.URLEncoding.Strict().Decode(buf[:], in[:len(value)])
	if derr != nil {
		return "", 0, false, errNotCanonical
	}
	b := buf[:n]
	i := bytes.IndexByte(b, '|')
	if i < 0 {
		return "", 0, false, errMACInvalid
	}
	j := bytes.IndexByte(b[i+1:], '|')
	if j < 0 {
		return "", 0, false, errMACInvalid
	}
	j += i + 1
	var sum [sha256.Size]byte
	verified := -1
	for k, p := range c.keys {
		p.mac(sum[:], name, b[:j])
		if hmac.Equal(b[j+1:], sum[:]) {
			verified = k
			break
		}
	}
	if verified < 0 {
		return "", 0, false, errMACInvalid
	}
	ts, ok := parseInt(b[:i])
	if !ok {
		return "", 0, false, errTimestampInvalid
	}
	if ts > now+c.skew {
		return "", 0, false, errTimestampTooNew
	}
	if ts < now-c.maxAge {
		return "", 0, false, errTimestampExpired
	}
	var raw [24]byte
	m, derr := base64.URLEncoding.Decode(raw[:], b[i+1:j])
	if derr != nil || m != 16 {
		return "", 0, false, errBadID
	}
	u := uuid.UUID(raw[:16])
	if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		return "", 0, false, errBadID
	}
	return u.String(), ts, verified > 0, nil
}

// parseInt parses a decimal int64 as strconv.ParseInt(s, 10, 64) does
// (optional sign, digits only, no overflow), without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(ch-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if !neg && n == 1<<63 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// newID returns a fresh random (version 4) session id.
func newID() string {
	// uuid.NewString, without its two allocations (the UUID escapes into
	// the io.Reader it reads from).
	var u uuid.UUID
	rand.Read(u[:])         // never fails (it crashes the program instead)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// cookieString renders the Set-Cookie value for the session cookie. maxAge
// is in seconds: 0 for a browser-session cookie, -1 to delete it.
func (mw *Middleware) cookieString(name, value string, maxAge int) string {
	if maxAge == 0 && mw.cookieSuffix != "" && name == mw.cfg.cookieName && validCookieValue(value) {
		// The common case, a browser-session cookie: the attributes do
		// not change from one response to the next, so they were rendered
		// once by NewCookie (newCookieSuffix) and are appended here.
		return name + "=" + value + mw.cookieSuffix
	}
	return mw.renderCookie(name, value, maxAge)
}

// renderCookie builds the cookie with gorilla/sessions' NewCookie.
func (mw *Middleware) renderCookie(name, value string, maxAge int) string {
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

// sessionCookieFast returns the Set-Cookie value carrying id u, signed now,
// rendered in one allocation; ok is false where cookieString would not
// take its fast path (a persistent cookie, or an id not in a cookie).
func (mw *Middleware) sessionCookieFast(u uuid.UUID) (v string, ok bool) {
	if mw.cfg.lookup.source != fromCookie || mw.cfg.cookieMaxAge() != 0 || mw.cookieSuffix == "" {
		return "", false
	}
	var buf [256]byte
	b := append(buf[:0], mw.cfg.cookieName...)
	b = append(b, '=')
	b = mw.ids.appendEncoded(b, mw.cfg.cookieName, u, mw.ids.now())
	b = append(b, mw.cookieSuffix...)
	return string(b), true
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
	noStore(h)
}

// Shared header values, assigned with a full slice expression (len ==
// cap) so that a handler appending to them gets its own copy: saves an
// allocation per response.
var (
	noStoreValue    = []string{"no-store"}
	varyCookieValue = []string{"Cookie"}
)

// noStore forbids caching unless the handler set a Cache-Control of its own.
func noStore(h http.Header) {
	if len(h["Cache-Control"]) == 0 {
		h["Cache-Control"] = noStoreValue[:1:1]
	}
}

// addVary adds v to the Vary header.
func addVary(h http.Header, v string) {
	if v == "Cookie" && len(h["Vary"]) == 0 {
		h["Vary"] = varyCookieValue[:1:1]
		return
	}
	h.Add("Vary", v)
}

// newCookieSuffix renders, with NewCookie, the attributes of a
// browser-session cookie: everything after "name=value".
func (mw *Middleware) newCookieSuffix() string {
	const probe = "v"
	full := mw.renderCookie(mw.cfg.cookieName, probe, 0)
	prefix := mw.cfg.cookieName + "=" + probe
	if len(full) < len(prefix) || full[:len(prefix)] != prefix {
		return "" // unexpected rendering: always use NewCookie
	}
	return full[len(prefix):]
}

// validCookieValue reports whether v needs no quoting or sanitising as a
// cookie value (true for every value this package produces).
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

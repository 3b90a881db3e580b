package sessionmw

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Cookie storage keeps the whole session in the client's cookies instead of
// a server store (Kong's storage=cookie).
//
// The cookie is AES-256-GCM: one authenticated encryption over the id,
// the timestamps and the values, with a random 96-bit nonce, the cookie
// name as associated data (a value moved to another cookie name does not
// open) and a key derived with HKDF-SHA256 from the secret (and from each
// fallback secret, for rotation). GCM was chosen over securecookie's
// AES-CTR + HMAC because it needs one base64 pass instead of two and 28
// bytes of overhead instead of ~100, leaving about 3 KB of payload per
// 4096-byte cookie instead of about 2.2 KB.
//
// Payloads larger than one cookie are split over chunk cookies NAME,
// NAME2, NAME3, … (up to WithCookieChunks, default DefaultCookieChunks);
// the first value starts with the chunk count. Beyond the cap, saving fails
// with ErrSessionTooLarge: a cookie is never silently truncated or dropped.
// Chunk cookies left over from a larger session are expired.

// DefaultCookieChunks is how many cookies one session may span in cookie
// storage (about 12 KB of encrypted payload).
const DefaultCookieChunks = 4

// cookieBudget is what browsers allow for one cookie's name plus value.
const cookieBudget = 4096

const cookieInfo = "sessionmw v1 cookie storage"

// ErrSessionTooLarge reports a session that does not fit in the configured
// number of cookies (cookie storage). The default error handler answers 500.
var ErrSessionTooLarge = errors.New("sessionmw: session too large for its cookies")

// WithCookieStorage keeps sessions in encrypted cookies instead of a store
// (Kong's storage=cookie): no server state, and so no server-side logout
// unless a revocation store is configured (WithRevocationStore); a
// logged-out cookie otherwise stays valid until one of its timeouts, as
// Kong's documentation warns. Concurrent requests that change a session
// each send a whole new cookie; the browser keeps the last one. Values are
// serialised with GobCodec (see Codec for the types it keeps).
//
// WithStore and WithCookieStorage choose where sessions live: the last one
// given wins.
func WithCookieStorage() Option {
	return func(c *config) error { c.cookieStorage, c.store = true, nil; return nil }
}

// WithCookieChunks sets how many cookies one session may span in cookie
// storage (default DefaultCookieChunks, at most 20).
func WithCookieChunks(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 20 {
			return fmt.Errorf("sessionmw: WithCookieChunks: %d is outside 1..20", n)
		}
		c.cookieChunks = n
		return nil
	}
}

// WithRevocationStore lists ended sessions in store (any Store; entries
// expire when every cookie they stand for would have) so that a replayed
// cookie-storage cookie is refused after logout: every cookie issued in
// the session's life, before and after renewals, and the remember-me
// token. It costs one store read per request that carries a session.
// Server storage needs no revocation list: its logout deletes the
// session.
func WithRevocationStore(store Store) Option {
	return func(c *config) error {
		if store == nil {
			return fmt.Errorf("sessionmw: WithRevocationStore: nil store")
		}
		c.revocations = store
		return nil
	}
}

type cookieCodec struct {
	aeads  []cipher.AEAD // current key first, then fallbacks
	chunks int
	codec  Codec
}

func newCookieCodec(chunks int, keys ...[]byte) (*cookieCodec, error) {
	return newCookieCodecInfo(cookieInfo, chunks, keys...)
}

// newCookieCodecInfo derives its keys with the given HKDF info, so that
// tokens of different purposes never open with each other's keys.
func newCookieCodecInfo(info string, chunks int, keys ...[]byte) (*cookieCodec, error) {
	cc := &cookieCodec{chunks: chunks, codec: GobCodec{}}
	for _, k := range keys {
		dk, err := hkdf.Key(sha256.New, k, nil, info, 32)
		if err != nil {
			return nil, fmt.Errorf("sessionmw: deriving the cookie key: %w", err)
		}
		block, err := aes.NewCipher(dk)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		cc.aeads = append(cc.aeads, aead)
	}
	return cc, nil
}

func chunkName(name string, i int) string {
	if i == 1 {
		return name
	}
	return name + strconv.Itoa(i)
}

// payloadVersion 2 added the lineage, the binding, the deadline and the
// persistence; version 1 payloads (none of them) are still read, with the
// id as their lineage.
const payloadVersion = 2

// seal encrypts id, its lineage, meta and values into cookie values, one
// per chunk.
func (cc *cookieCodec) seal(name, id, lineage string, meta Meta, values []Entry) ([]string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, err
	}
	l, err := uuid.Parse(lineage)
	if err != nil {
		return nil, err
	}
	p := make([]byte, 0, 80)
	p = append(p, payloadVersion)
	p = append(p, u[:]...)
	p = append(p, l[:]...)
	p = binary.BigEndian.AppendUint64(p, uint64(meta.Created))
	p = binary.BigEndian.AppendUint64(p, uint64(meta.Issued))
	p = binary.BigEndian.AppendUint64(p, uint64(meta.Saved))
	p = binary.BigEndian.AppendUint64(p, uint64(meta.Deadline))
	persist := byte(0)
	if meta.Persist {
		persist = 1
	}
	p = append(p, persist)
	for _, f := range []string{meta.Subject, meta.Credential, meta.Audience, meta.Remember, meta.Bind} {
		p = appendString(p, f)
	}
	p = binary.AppendUvarint(p, uint64(len(meta.Groups)))
	for _, g := range meta.Groups {
		p = appendString(p, g)
	}
	p = binary.AppendUvarint(p, uint64(len(values)))
	for _, e := range values {
		v, err := cc.codec.Encode(e.Value)
		if err != nil {
			return nil, fmt.Errorf("sessionmw: encoding session value %q: %w", e.Key, err)
		}
		p = binary.AppendUvarint(p, uint64(len(e.Key)))
		p = append(p, e.Key...)
		p = binary.AppendUvarint(p, uint64(len(v)))
		p = append(p, v...)
	}
	aead := cc.aeads[0]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(p)+aead.Overhead())
	rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, p, []byte(name))
	enc := base64.RawURLEncoding.EncodeToString(sealed)
	return cc.split(name, enc)
}

// split cuts enc into the fewest chunks whose name+value fit the budget.
func (cc *cookieCodec) split(name, enc string) ([]string, error) {
	for k := 1; k <= cc.chunks; k++ {
		prefix := strconv.Itoa(k) + "."
		capacity := -len(prefix)
		for i := 1; i <= k; i++ {
			capacity += cookieBudget - len(chunkName(name, i))
		}
		if len(enc) > capacity {
			continue
		}
		out := make([]string, 0, k)
		rest := prefix + enc
		for i := 1; i <= k; i++ {
			n := min(len(rest), cookieBudget-len(chunkName(name, i)))
			out = append(out, rest[:n])
			rest = rest[n:]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %d bytes of encrypted payload, over %d cookies of %d bytes", ErrSessionTooLarge, len(enc), cc.chunks, cookieBudget)
}

// errBadCookie is the reason logged for any cookie that does not open.
var errBadCookie = errors.New("cookie storage value does not open")

// opened is one session cookie (with its chunks), decrypted.
type opened struct {
	id, lineage string
	rec         *Record
	fallback    bool // a retired key opened it
}

// open reassembles and decrypts the session whose first cookie value is
// first; later chunks are the first cookies of r named NAME2, NAME3, …
func (cc *cookieCodec) open(name, first string, r *http.Request) (opened, error) {
	if first == "" {
		return opened{}, nil
	}
	countStr, part, ok := strings.Cut(first, ".")
	k, cerr := strconv.Atoi(countStr)
	if !ok || cerr != nil || k < 1 || k > cc.chunks || len(first) > cookieBudget {
		return opened{}, fmt.Errorf("%w: bad chunk header", errBadCookie)
	}
	var b strings.Builder
	b.Grow(k * cookieBudget)
	b.WriteString(part)
	for i := 2; i <= k; i++ {
		cs := r.CookiesNamed(chunkName(name, i))
		if len(cs) == 0 || cs[0].Quoted || len(cs[0].Value) > cookieBudget {
			return opened{}, fmt.Errorf("%w: chunk %d of %d missing", errBadCookie, i, k)
		}
		b.WriteString(cs[0].Value)
	}
	sealed, derr := base64.RawURLEncoding.DecodeString(b.String())
	if derr != nil {
		return opened{}, fmt.Errorf("%w: not base64", errBadCookie)
	}
	var (
		p        []byte
		err      error
		fallback bool
	)
	for i, aead := range cc.aeads {
		if len(sealed) < aead.NonceSize()+aead.Overhead() {
			return opened{}, fmt.Errorf("%w: too short", errBadCookie)
		}
		nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
		if p, err = aead.Open(nil, nonce, ct, []byte(name)); err == nil {
			fallback = i > 0
			break
		}
	}
	if err != nil {
		return opened{}, fmt.Errorf("%w: authentication failed", errBadCookie)
	}
	o, err := cc.parse(p)
	o.fallback = fallback
	return o, err
}

// parse decodes an authenticated payload.
func (cc *cookieCodec) parse(p []byte) (opened, error) {
	if len(p) < 1 || (p[0] != payloadVersion && p[0] != 1) {
		return opened{}, fmt.Errorf("%w: unknown payload version", errBadCookie)
	}
	version := p[0]
	idLen := 16
	if version == payloadVersion {
		idLen = 32
	}
	times := 24
	if version == payloadVersion {
		times = 33 // and the deadline and persistence
	}
	if len(p) < 1+idLen+times {
		return opened{}, fmt.Errorf("%w: truncated header", errBadCookie)
	}
	u, _ := uuid.FromBytes(p[1:17])
	l := u
	if p[0] == payloadVersion {
		l, _ = uuid.FromBytes(p[17:33])
	}
	p = p[1+idLen:]
	rec := &Record{Meta: Meta{
		Created: int64(binary.BigEndian.Uint64(p[0:])),
		Issued:  int64(binary.BigEndian.Uint64(p[8:])),
		Saved:   int64(binary.BigEndian.Uint64(p[16:])),
	}}
	if version == payloadVersion {
		rec.Meta.Deadline = int64(binary.BigEndian.Uint64(p[24:]))
		rec.Meta.Persist = p[32] == 1
	}
	p = p[times:]
	fields := []*string{&rec.Meta.Subject, &rec.Meta.Credential, &rec.Meta.Audience, &rec.Meta.Remember, &rec.Meta.Bind}
	if version == 1 {
		fields = fields[:4] // version 1 had no binding
	}
	for _, f := range fields {
		v, rest, ok := lengthPrefixed(p)
		if !ok {
			return opened{}, fmt.Errorf("%w: truncated identity", errBadCookie)
		}
		*f, p = string(v), rest
	}
	ng, w := binary.Uvarint(p)
	if w <= 0 || ng > uint64(len(p)) {
		return opened{}, fmt.Errorf("%w: bad group count", errBadCookie)
	}
	p = p[w:]
	for range ng {
		g, rest, ok := lengthPrefixed(p)
		if !ok {
			return opened{}, fmt.Errorf("%w: truncated group", errBadCookie)
		}
		rec.Meta.Groups = append(rec.Meta.Groups, string(g))
		p = rest
	}
	n, w := binary.Uvarint(p)
	if w <= 0 || n > uint64(len(p)) {
		return opened{}, fmt.Errorf("%w: bad entry count", errBadCookie)
	}
	p = p[w:]
	rec.Values = make([]Entry, 0, n)
	for range n {
		key, rest, ok := lengthPrefixed(p)
		if !ok {
			return opened{}, fmt.Errorf("%w: truncated key", errBadCookie)
		}
		val, rest, ok := lengthPrefixed(rest)
		if !ok {
			return opened{}, fmt.Errorf("%w: truncated value", errBadCookie)
		}
		v, err := cc.codec.Decode(val)
		if err != nil {
			return opened{}, fmt.Errorf("sessionmw: decoding session value %q: %w", key, err)
		}
		rec.Values = append(rec.Values, Entry{Key: string(key), Value: v})
		p = rest
	}
	return opened{id: u.String(), lineage: l.String(), rec: rec}, nil
}

func appendString(p []byte, s string) []byte {
	p = binary.AppendUvarint(p, uint64(len(s)))
	return append(p, s...)
}

func lengthPrefixed(p []byte) (field, rest []byte, ok bool) {
	n, w := binary.Uvarint(p)
	if w <= 0 || n > uint64(len(p)-w) {
		return nil, nil, false
	}
	return p[w : w+int(n)], p[w+int(n):], true
}

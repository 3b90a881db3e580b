package sessionmw

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/securecookie"
)

// signAt builds a signed id cookie value as securecookie does, but with a
// chosen timestamp: what a node whose clock is off would send.
func signAt(t *testing.T, secret []byte, name, id string, ts time.Time) string {
	t.Helper()
	key, err := hkdf.Key(sha256.New, secret, nil, signingInfo, 32)
	if err != nil {
		t.Fatal(err)
	}
	u := uuid.MustParse(id)
	b64 := base64.URLEncoding.EncodeToString(u[:])
	body := strconv.FormatInt(ts.Unix(), 10) + "|" + b64
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(name + "|" + body))
	return base64.URLEncoding.EncodeToString(append([]byte(body+"|"), mac.Sum(nil)...))
}

func TestIDCookieClockSkew(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	c, err := newIDCodec(2*time.Hour, secret)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	now := time.Now()
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"clock 1 min ahead", now.Add(time.Minute), true},
		{"clock 4 min ahead", now.Add(4 * time.Minute), true},
		{"clock 1 day ahead", now.Add(24 * time.Hour), false},
		{"1 h old", now.Add(-time.Hour), true},
		{"older than the signing max age", now.Add(-3 * time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _, err := c.decode("sid", signAt(t, secret, "sid", id, tc.at))
			if ok := err == nil && got == id; ok != tc.ok {
				t.Fatalf("accepted = %v (err %v), want %v", ok, err, tc.ok)
			}
		})
	}
	// The hand-made format matches the real one: same key, same name.
	real, err := c.encode("sid", id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _, err := c.decode("sid", real); err != nil || got != id {
		t.Fatalf("real cookie: %v %v", got, err)
	}
}

func TestCookieMetaFromTheFuture(t *testing.T) {
	mw := &Middleware{ttl: time.Hour}
	now := time.Now().UnixNano()
	if why := mw.expired(&Meta{Created: now, Issued: now, Saved: now + int64(time.Minute)}, now); why != "" {
		t.Fatalf("1 min ahead: %q", why)
	}
	if why := mw.expired(&Meta{Created: now + int64(24*time.Hour), Issued: now, Saved: now}, now); why == "" {
		t.Fatal("a creation time 1 day ahead was accepted")
	}
}

// referenceCodec is gorilla/securecookie configured as idCodec claims to
// behave: the same derived key, pass-through serializer, no encryption,
// the same maximum length, maximum age and future-skew window.
func referenceCodec(t testing.TB, secret []byte, maxAge time.Duration) *securecookie.SecureCookie {
	hk, err := signingKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	sc := securecookie.New(hk, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	sc.MaxLength(maxCookieValueLen)
	sc.MaxAge(int((maxAge + time.Second - 1) / time.Second))
	sc.MinAge(-int(MaxClockSkew / time.Second))
	return sc
}

// refDecode is what decode must answer, computed with securecookie plus
// the two rules idCodec adds: canonical base64 only, and a version-4 UUID.
func refDecode(sc *securecookie.SecureCookie, name, value string) (string, bool) {
	if len(value) > maxCookieValueLen {
		return "", false
	}
	if _, err := base64.URLEncoding.Strict().DecodeString(value); err != nil {
		return "", false
	}
	var b []byte
	if err := sc.Decode(name, value, &b); err != nil {
		return "", false
	}
	u, err := uuid.FromBytes(b)
	if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		return "", false
	}
	return u.String(), true
}

func TestIDCodecInteroperatesWithSecurecookie(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	c, err := newIDCodec(time.Hour, secret)
	if err != nil {
		t.Fatal(err)
	}
	sc := referenceCodec(t, secret, time.Hour)
	for range 100 {
		u := uuid.New()
		ours, err := c.encode("sid", u.String())
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := refDecode(sc, "sid", ours); !ok || id != u.String() {
			t.Fatalf("securecookie does not verify our cookie %q", ours)
		}
		theirs, err := sc.Encode("sid", u[:])
		if err != nil {
			t.Fatal(err)
		}
		if id, _, _, err := c.decode("sid", theirs); err != nil || id != u.String() {
			t.Fatalf("we do not verify securecookie's cookie %q: %v", theirs, err)
		}
		if ts := c.now(); ours != theirs && c.encodeAt("sid", u, ts) != theirs {
			// Same second, same bytes: the formats are identical.
			if c.now() == ts {
				t.Fatalf("encodings differ within one second:\n ours   %q\n theirs %q", ours, theirs)
			}
		}
	}
}

// FuzzIDCodecMatchesSecurecookie: for any value, idCodec accepts exactly
// what securecookie (plus the canonical-base64 and UUIDv4 rules) accepts,
// with the same id. Seeds include real values; "{{V}}" stands for a fresh
// one and "{{X:n}}" flips byte n of it.
func FuzzIDCodecMatchesSecurecookie(f *testing.F) {
	for _, s := range []string{"{{V}}", "{{V}}=", "{{V}}x", "", "AAAA", "{{X:3}}", "{{X:60}}", "{{X:100}}",
		"MTcwMDAwMDAwMHxBQUFBQUFBQUFBQUFBQUFBQUFBQUFBPT18", "fHw=", "LTF8fA=="} {
		f.Add(s, "sid")
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	c, err := newIDCodec(time.Hour, secret)
	if err != nil {
		f.Fatal(err)
	}
	sc := referenceCodec(f, secret, time.Hour)
	f.Fuzz(func(t *testing.T, tmpl, name string) {
		live, _ := c.encode("sid", uuid.NewString())
		value := strings.ReplaceAll(tmpl, "{{V}}", live)
		if i := strings.Index(value, "{{X:"); i >= 0 {
			if j := strings.Index(value[i:], "}}"); j > 0 {
				n, _ := strconv.Atoi(value[i+4 : i+j])
				b := []byte(live)
				if n >= 0 && n < len(b) {
					b[n] ^= 1
				}
				value = value[:i] + string(b) + value[i+j+2:]
			}
		}
		wantID, wantOK := refDecode(sc, name, value)
		gotID, _, _, err := c.decode(name, value)
		if (err == nil) != wantOK || gotID != wantID {
			t.Fatalf("decode(%q, %q) = %q, %v; securecookie says %q, %v", name, value, gotID, err, wantID, wantOK)
		}
	})
}

func TestParseIntMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "+5", "-5", "123456789", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "-9223372036854775809", "", "+", "-", "1_000", "12a", " 1", "007", "99999999999999999999"} {
		want, err := strconv.ParseInt(s, 10, 64)
		got, ok := parseInt([]byte(s))
		if ok != (err == nil) || (ok && got != want) {
			t.Errorf("parseInt(%q) = %d, %v; strconv says %d, %v", s, got, ok, want, err)
		}
	}
}

// TestCookieSuffixMatchesNewCookie: the pre-rendered attributes give the
// very string gorilla/sessions' NewCookie renders, for every setting.
func TestCookieSuffixMatchesNewCookie(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	configs := [][]Option{
		nil,
		{WithSecure(false), WithHTTPOnly(false)},
		{WithSameSite(http.SameSiteStrictMode), WithDomain("example.com"), WithPath("/app")},
		{WithSameSite(http.SameSiteNoneMode), WithPartitioned(true)},
		{WithSessionCookie("__Host-sid")},
	}
	for i, opts := range configs {
		mw, err := New(secret, append(opts, WithStore(NewMemoryIO(WithSweepInterval(0))))...)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := mw.ids.encode(mw.cfg.cookieName, uuid.NewString())
		if got, want := mw.cookieString(mw.cfg.cookieName, v, 0), mw.renderCookie(mw.cfg.cookieName, v, 0); got != want || mw.cookieSuffix == "" {
			t.Errorf("config %d: fast %q, NewCookie %q", i, got, want)
		}
		mw.store.(*MemoryIO).Close()
	}
}

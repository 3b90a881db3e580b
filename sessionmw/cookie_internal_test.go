package sessionmw

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
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
			got, _, err := c.decode("sid", signAt(t, secret, "sid", id, tc.at))
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
	if got, _, err := c.decode("sid", real); err != nil || got != id {
		t.Fatalf("real cookie: %v %v", got, err)
	}
}

func TestCookieMetaFromTheFuture(t *testing.T) {
	mw := &Middleware{ttl: time.Hour}
	now := time.Now().UnixNano()
	if why := mw.expired(Meta{Created: now, Issued: now, Saved: now + int64(time.Minute)}, now); why != "" {
		t.Fatalf("1 min ahead: %q", why)
	}
	if why := mw.expired(Meta{Created: now + int64(24*time.Hour), Issued: now, Saved: now}, now); why == "" {
		t.Fatal("a creation time 1 day ahead was accepted")
	}
}

package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

var fuzzSecret = []byte("0123456789abcdef0123456789abcdef")

// fuzzHasCTL reports a control character other than tab (CR, LF, NUL, …).
func fuzzHasCTL(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// FuzzMapSessionToHeader puts a session value behind MapSessionToHeader:
// the upstream never sees a header value with a control character (CR, LF,
// NUL, …), never sees the client's own X-User-Id, and sees exactly the
// value when it is clean.
func FuzzMapSessionToHeader(f *testing.F) {
	for _, v := range []string{
		"42", "", "alice", "a\r\nX-Admin: 1", "a\nb", "a\rb", "\x00", "spoofed-by-client",
		" padded ", "\x01\x7f", "\xff\xfe", "é", "Bearer abc.def.ghi", strings.Repeat("v", 8<<10),
	} {
		f.Add(v)
	}
	const spoof = "spoofed-by-client"
	f.Fuzz(func(t *testing.T, value string) {
		store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
		defer store.Close()
		mw, err := sessionmw.New(fuzzSecret, sessionmw.WithStore(store))
		if err != nil {
			t.Fatal(err)
		}
		defer mw.Close()
		mapper, err := gateway.MapSessionToHeader(map[string]string{"X-User-Id": "user_id"})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string // every X-User-Id value the upstream saw, under any spelling
		upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				sessionmw.FromRequest(r).GetSession().Set("user_id", value)
				return
			}
			seen = nil
			for k, vs := range r.Header {
				if strings.EqualFold(k, "X-User-Id") {
					seen = append(seen, vs...)
				}
			}
		})
		h := mw.Handler(mapper(upstream))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
		var cookie string
		for _, c := range rec.Result().Cookies() {
			if c.Name == "sid" {
				cookie = c.Value
			}
		}
		if rec.Code != http.StatusOK || cookie == "" {
			t.Fatalf("login: status %d, Set-Cookie %q", rec.Code, rec.Header().Values("Set-Cookie"))
		}

		req := httptest.NewRequest("GET", "/api", nil)
		req.Header.Set("Cookie", "sid="+cookie)
		req.Header.Add("X-User-Id", spoof)
		req.Header.Add("X-User-Id", spoof+"-2")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		for _, v := range seen {
			if fuzzHasCTL(v) {
				t.Fatalf("upstream saw X-User-Id %q, with a control character", v)
			}
			if (v == spoof || v == spoof+"-2") && v != value {
				t.Fatalf("upstream saw the client's own X-User-Id %q", v)
			}
		}
		if fuzzHasCTL(value) {
			if len(seen) != 0 {
				t.Fatalf("value %q refused, yet upstream saw X-User-Id %q", value, seen)
			}
			return
		}
		if len(seen) != 1 || seen[0] != value {
			t.Fatalf("upstream saw X-User-Id %q, want exactly [%q]", seen, value)
		}
	})
}

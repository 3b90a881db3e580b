package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
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

// FuzzKeyAuthRequest sends arbitrary query strings and apikey headers
// through KeyAuth: it never panics; it decides as url.ParseQuery reads the
// request (one key, header first; two values are refused); the upstream
// never sees the key, in the query or a header, and sees every other
// query parameter as url.ParseQuery reads it.
func FuzzKeyAuthRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"apikey=open_sesame", ""}, {"", "second"}, {"a=1&apikey=open_sesame&apikey=x", ""},
		{"apikey=%zz&apikey=open_sesame", ""}, {"api%6Bey=open%5Fsesame;x", ""}, {"apikey", ""},
		{"&&apikey=second&", "open_sesame"}, {"apikey=open_sesame&b=%2", "nope"}, {"x=1;apikey=open_sesame", ""},
	} {
		f.Add(s[0], s[1])
	}
	ka, err := gateway.KeyAuth(walkthroughConsumers, gateway.KeyAnonymous("anonymous_users"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawQuery, header string) {
		var got *http.Request
		h := ka(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
		req := httptest.NewRequest("GET", "/s", nil)
		req.URL.RawQuery = rawQuery
		if header != "" {
			req.Header.Set("Apikey", header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got == nil {
			t.Fatalf("status %d: KeyAuth with an anonymous consumer stopped the request", rec.Code)
		}
		orig, _ := url.ParseQuery(rawQuery)
		var want string
		switch {
		case header != "":
			want = header
		case len(orig["apikey"]) == 1:
			want = orig["apikey"][0]
		}
		wantConsumer := "anon-id"
		if want == "open_sesame" || want == "second" {
			wantConsumer = "fiona-id"
		}
		if c := got.Header.Get("X-Consumer-Id"); c != wantConsumer {
			t.Fatalf("consumer %q, want %q (query %q, header %q)", c, wantConsumer, rawQuery, header)
		}
		if got.Header.Get("Apikey") != "" {
			t.Fatal("upstream saw the Apikey header")
		}
		up, _ := url.ParseQuery(got.URL.RawQuery)
		if _, ok := up["apikey"]; ok {
			t.Fatalf("upstream query %q still holds apikey", got.URL.RawQuery)
		}
		delete(orig, "apikey")
		if !reflect.DeepEqual(up, orig) && !(len(up) == 0 && len(orig) == 0) {
			t.Fatalf("upstream query %q reads %v, want %v", got.URL.RawQuery, up, orig)
		}
	})
}

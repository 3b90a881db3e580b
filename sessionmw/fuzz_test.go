// Fuzz targets for the parsers of untrusted input (SECURITY-TESTS.md, "Fuzz
// targets"), all driven through the public API with httptest. Run one with
//
//	go test -run '^$' -fuzz '^FuzzDecodeSessionCookie$' -fuzztime 30s ./sessionmw
//
// or all of them, one after the other, with .ci/fuzz. Plain `go test` runs
// every target over its seeds (f.Add and testdata/fuzz/<FuzzName>/).
//
// A real signed cookie cannot be written into a committed seed (its id is
// random and lives in one test's store), so fuzzed cookie values may carry
// markers that each run replaces with its live values; see fuzzExpand.
package sessionmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// fuzzSecret signs the fuzz targets' sessions. The committed seeds that hold
// complete signed values were made under another key, so that no seed can
// ever verify here: the only values that verify are the live ones the
// markers expand to.
var fuzzSecret = []byte("fuzz-secret-0123456789abcdef-0123456789")

// Markers in fuzzed cookie values (see fuzzExpand).
const (
	fuzzMarkSigned = "{{SIGNED}}"       // the live signed value
	fuzzMarkStd    = "{{SIGNED_STD}}"   // the same, standard base64 alphabet (+/)
	fuzzMarkNoPad  = "{{SIGNED_NOPAD}}" // the same, without its '=' padding
	fuzzMarkXOR    = "{{XOR}}"          // prefix: the rest is XORed into the live value
)

// fuzzExpand replaces the markers in v with live signed values:
// "{{SIGNED}}" (or "{{A}}", "{{B}}", … for the keys of live) by the value
// itself, "{{SIGNED_STD}}" and "{{SIGNED_NOPAD}}" by re-encodings of it,
// and a leading "{{XOR}}" makes the rest of v a pad XORed into the live
// value byte by byte, so the fuzzer can flip any bit of a real cookie
// (pad bytes past its end are ignored).
func fuzzExpand(v string, live map[string]string) string {
	signed := live["SIGNED"]
	if rest, ok := strings.CutPrefix(v, fuzzMarkXOR); ok && signed != "" {
		b := []byte(signed)
		for i := 0; i < len(b) && i < len(rest); i++ {
			b[i] ^= rest[i]
		}
		return string(b)
	}
	if signed != "" {
		std := strings.NewReplacer("-", "+", "_", "/").Replace(signed)
		v = strings.ReplaceAll(v, fuzzMarkStd, std)
		v = strings.ReplaceAll(v, fuzzMarkNoPad, strings.TrimRight(signed, "="))
	}
	for k, s := range live {
		v = strings.ReplaceAll(v, "{{"+k+"}}", s)
	}
	return v
}

// fuzzSameSigned reports whether cookie c carries the live signed value in
// the one spelling the middleware accepts: byte-identical and unquoted
// (other base64 spellings and quoted values are refused; SECURITY-TESTS.md
// #5).
func fuzzSameSigned(c *http.Cookie, live string) bool {
	// Only the exact, unquoted spelling the encoder produced is accepted.
	return !c.Quoted && c.Value == live
}

// fuzzApp is the application behind the middleware. /login/OWNER starts a
// session owned by OWNER holding the key OWNER; /write increments n;
// anything else only reads. Each answers what the session holds.
var fuzzApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := sessionmw.FromRequest(r)
	s := m.GetSession()
	if owner, ok := strings.CutPrefix(r.URL.Path, "/login/"); ok {
		s.Set("owner", owner)
		s.Set(owner, true) // a key only this owner's session has
		s.Set("n", 1)
	}
	owner, _ := sessionmw.Get[string](s, "owner")
	n, _ := sessionmw.Get[int](s, "n")
	if r.URL.Path == "/write" {
		n++
		s.Set("n", n)
	}
	fmt.Fprintf(w, "owner=%s n=%d new=%t keys=%d", owner, n, m.IsNew(), s.Len())
})

// fuzzLogin starts a session owned by owner and returns its signed cookie
// value (cookie named name).
func fuzzLogin(t *testing.T, h http.Handler, name, owner string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/login/"+owner, nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("login for %q set no %q cookie (Set-Cookie %q)", owner, name, rec.Header().Values("Set-Cookie"))
	return ""
}

// fuzzSessionCookies returns the Set-Cookie headers of rec for cookie name.
func fuzzSessionCookies(rec *httptest.ResponseRecorder, name string) []string {
	var out []string
	for _, sc := range rec.Header().Values("Set-Cookie") {
		if n, _, _ := strings.Cut(sc, "="); n == name {
			out = append(out, sc)
		}
	}
	return out
}

// fuzzSignedSeeds are signed the way the middleware signs, but under a key
// the targets do not use (see fuzzSecret): the corpus keeps more like them.
var fuzzSignedSeeds = []string{
	"MTc5NTMwODY1OHx1QWVtQ3BMSlJSNmFxTzFVbVUyYjFnPT18kLoIQi5zzFRsUP_B6cN637lRGqyaRi5Gnjd_NOas5qU=",
}

// FuzzDecodeSessionCookie sends one cookie value under the configured
// cookie name to a store that holds one real session: the request must
// never panic or answer 500, must set at most one session cookie, of
// bounded size, and must resume the real session exactly when the value
// carries the real signed bytes; anything else is a fresh session with a
// new id that leaves the real one untouched.
func FuzzDecodeSessionCookie(f *testing.F) {
	for _, name := range []string{"sid", "__Host-sid", "session_id"} {
		f.Add(name, fuzzMarkSigned)
		f.Add(name, `"`+fuzzMarkSigned+`"`)
		f.Add(name, fuzzMarkSigned+"x")
		f.Add(name, fuzzMarkStd)
		f.Add(name, fuzzMarkNoPad)
	}
	f.Add("sid", fuzzMarkXOR+strings.Repeat("\x00", 90)+"\x01") // MAC part
	f.Add("sid", fuzzMarkXOR+"\x00\x00\x01")                    // timestamp part
	f.Add("sid", "")
	f.Add("sid", fuzzSignedSeeds[0])
	f.Add("sid", strings.Repeat("A", 5<<10))
	f.Add("sid", "0b6f1a9e-3b7c-4d2a-9f1e-5c6d7e8f9a0b") // unsigned, attacker-chosen
	f.Add("sid", "\x00\xff\x7f;\r\n")
	f.Add("s d", fuzzMarkSigned) // not a cookie name: New must refuse it
	// The longest name New accepts still leaves a Set-Cookie under 4096
	// bytes; a name that would not (CI found a 4107-byte header) is refused.
	f.Add(strings.Repeat("s", 256), fuzzMarkSigned)
	f.Add(strings.Repeat("s", 3990), fuzzMarkSigned)
	f.Fuzz(func(t *testing.T, name, value string) {
		store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
		defer store.Close()
		mw, err := sessionmw.New(fuzzSecret, sessionmw.WithStore(store), sessionmw.WithSessionCookie(name))
		if err != nil {
			if !strings.Contains(err.Error(), "WithSessionCookie") {
				t.Fatalf("New refused cookie name %q with an error that does not name the option: %v", name, err)
			}
			return
		}
		defer mw.Close()
		h := mw.Handler(fuzzApp)
		real := fuzzLogin(t, h, name, "real")

		sent := fuzzExpand(value, map[string]string{"SIGNED": real})
		req := httptest.NewRequest("GET", "/write", nil)
		req.Header.Set("Cookie", name+"="+sent)
		// The middleware sees the request's cookies called name as net/http
		// parses them (the fuzzed value may hold "; name=…" or quotes), and
		// the first one that verifies wins. Only the live signed bytes
		// verify under fuzzSecret, so the real session must be resumed
		// exactly when one of those cookies carries them.
		want := slices.ContainsFunc(req.CookiesNamed(name), func(c *http.Cookie) bool {
			return fuzzSameSigned(c, real)
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for cookie %q=%q; body %q", rec.Code, name, sent, rec.Body.String())
		}
		// A fresh session must send its cookie; a resumed one re-sends it
		// only when it was signed more than a touch interval ago.
		scs := fuzzSessionCookies(rec, name)
		if len(scs) > 1 || (!want && len(scs) != 1) {
			t.Fatalf("%d Set-Cookie headers for %q (resumed: %v): %q", len(scs), name, want, scs)
		}
		if len(scs) == 1 && len(scs[0]) >= 4096 {
			t.Fatalf("Set-Cookie is %d bytes, over the 4096-byte budget", len(scs[0]))
		}
		body := rec.Body.String()
		if want {
			if body != "owner=real n=2 new=false keys=3" || store.Len() != 1 {
				t.Fatalf("value %q carries the real signed cookie but did not resume it: %s, %d sessions stored", sent, body, store.Len())
			}
			return
		}
		if body != "owner= n=1 new=true keys=1" {
			t.Fatalf("value %q (real %q) resumed a session: %s", sent, real, body)
		}
		if store.Len() != 2 {
			t.Fatalf("a fresh session should be saved beside the real one under a new id; the store holds %d", store.Len())
		}
		// The real session is untouched, and still resumable.
		req = httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", name+"="+real)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Body.String(); got != "owner=real n=1 new=false keys=3" {
			t.Fatalf("after value %q the real session reads %s", sent, got)
		}
	})
}

// FuzzCookieHeader sends an arbitrary Cookie header (a "\n" in it starts a
// second Cookie header line) to a handler that only reads, with two real
// sessions A and B in the store: no panic, no 500, no Set-Cookie at all,
// no store write, and the session seen is A, B or a fresh one, never a mix,
// chosen as documented: the first value that verifies wins.
func FuzzCookieHeader(f *testing.F) {
	for _, raw := range []string{
		"",
		"sid={{A}}",
		"sid={{A}}; sid={{B}}",
		"sid=junk; sid={{B}}",
		"sid=; sid={{B}}",
		"sid={{A}}\nsid={{B}}",
		`sid="{{A}}"`,
		"sid={{A}}x; other=1",
		"SID={{A}}; Sid={{A}}; __host-sid={{A}}",
		"theme=dark; sid={{B}}; lang=en",
		"sid=" + fuzzSignedSeeds[0],
		"\x00sid={{A}}",
		"sid=\xff{{A}}",
		"sid={{A}}\x00",
		strings.Repeat("a=;", 3001) + " sid={{A}}",
		"sid=" + strings.Repeat("A", 64<<10),
	} {
		f.Add(raw)
	}
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer store.Close()
	// A touch interval longer than any fuzzing run: a read-only request may
	// then never set a cookie.
	mw, err := sessionmw.New(fuzzSecret, sessionmw.WithStore(store), sessionmw.WithTouchInterval(24*time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	defer mw.Close()
	h := mw.Handler(fuzzApp)
	live := map[string]string{}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(live) == 0 { // once per fuzzing process, inside a *testing.T
			live["A"] = fuzzLogin(t, h, "sid", "A")
			live["B"] = fuzzLogin(t, h, "sid", "B")
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Cookie"] = strings.Split(fuzzExpand(raw, live), "\n")
		// Of the first four session cookies (the candidates), those of a
		// live session count; exactly one distinct session is adopted,
		// and two (a tossed cookie beside the client's own) give neither.
		owners := map[string]bool{}
		for i, c := range req.CookiesNamed("sid") {
			if i == 4 {
				break
			}
			for owner, v := range live {
				if c.Value != "" && fuzzSameSigned(c, v) {
					owners[owner] = true
				}
			}
		}
		want := ""
		if len(owners) == 1 {
			for o := range owners {
				want = o
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for Cookie %q", rec.Code, req.Header["Cookie"])
		}
		if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
			t.Fatalf("a read-only request got Set-Cookie %q (Cookie %q)", sc, req.Header["Cookie"])
		}
		wantBody := "owner= n=0 new=true keys=0"
		if want != "" {
			wantBody = "owner=" + want + " n=1 new=false keys=3"
		}
		if got := rec.Body.String(); got != wantBody {
			t.Fatalf("Cookie %q: handler saw %s, want %s", req.Header["Cookie"], got, wantBody)
		}
		if store.Len() != 2 {
			t.Fatalf("a read-only request changed the store: %d sessions", store.Len())
		}
	})
}

// FuzzKeyLookupSpec configures WithKeyLookup(spec): New never panics and
// names the option when it refuses; when it accepts, a garbage or
// attacker-chosen id sent through that source gives a fresh session with
// a server-made id, which (for cookies and headers, the sources that
// deliver ids) resumes the session when sent back.
func FuzzKeyLookupSpec(f *testing.F) {
	for _, spec := range []string{
		"cookie:sid", "cookie:session_id", "cookie:__Host-sid", "header:X-Session-Id",
		"header:x-session-id", "query:sid", "query:a;b", "query:\xff", "header:Content-Length",
		"header:Cookie", "header:Set-Cookie", "cookies:x", "COOKIE:sid", "header:", ":", "",
		"cookie:s d", "cookie:sid:extra", "query:a=b", "header:X\r\nY",
	} {
		f.Add(spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
		defer store.Close()
		mw, err := sessionmw.New(fuzzSecret, sessionmw.WithStore(store), sessionmw.WithKeyLookup(spec))
		if err != nil {
			if !strings.Contains(err.Error(), "WithKeyLookup") {
				t.Fatalf("WithKeyLookup(%q) refused with an error that does not name the option: %v", spec, err)
			}
			return
		}
		defer mw.Close()
		src, name, _ := strings.Cut(spec, ":")
		h := mw.Handler(fuzzApp)
		send := func(req *http.Request, v string) {
			switch src {
			case "cookie":
				req.Header.Set("Cookie", name+"="+v)
			case "header":
				req.Header.Set(name, v)
			case "query":
				req.URL.RawQuery = url.Values{name: {v}}.Encode()
				req.RequestURI = req.URL.RequestURI()
			default:
				t.Fatalf("WithKeyLookup(%q) accepted unknown source %q", spec, src)
			}
		}
		for _, garbage := range []string{
			"not-a-signed-id",
			"0b6f1a9e-3b7c-4d2a-9f1e-5c6d7e8f9a0b", // a well-formed id, unsigned
			fuzzSignedSeeds[0],                     // signed under another key
		} {
			req := httptest.NewRequest("GET", "/write", nil)
			send(req, garbage)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.String() != "owner= n=1 new=true keys=1" {
				t.Fatalf("%s with id %q: status %d, %s; want 200 and a fresh session", spec, garbage, rec.Code, rec.Body.String())
			}
			for k, vs := range rec.Header() {
				for _, v := range vs {
					if strings.Contains(v, garbage) {
						t.Fatalf("%s: the client's id %q came back in %s: %q", spec, garbage, k, v)
					}
				}
			}
			if rec, _ := store.Load(req.Context(), garbage); rec != nil {
				t.Fatalf("%s: the client's id %q was adopted", spec, garbage)
			}
			var got string // the id delivered to the client
			switch src {
			case "cookie":
				scs := fuzzSessionCookies(rec, name)
				if len(scs) != 1 {
					t.Fatalf("%s: %d session Set-Cookie headers: %q", spec, len(scs), rec.Header().Values("Set-Cookie"))
				}
				for _, c := range rec.Result().Cookies() {
					if c.Name == name {
						got = c.Value
					}
				}
			case "header":
				vs := rec.Header().Values(name)
				if len(vs) != 1 {
					t.Fatalf("%s: response carries %d %s headers: %q", spec, len(vs), name, vs)
				}
				got = vs[0]
			case "query":
				if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
					t.Fatalf("%s: a query-borne session got Set-Cookie %q", spec, sc)
				}
				continue // query ids are never echoed: nothing to send back
			}
			if got == "" {
				t.Fatalf("%s: the new session's id was not delivered", spec)
			}
			req = httptest.NewRequest("GET", "/", nil)
			send(req, got)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if b := rec.Body.String(); b != "owner= n=1 new=false keys=1" {
				t.Fatalf("%s: the delivered id does not resume the session: %s", spec, b)
			}
		}
	})
}

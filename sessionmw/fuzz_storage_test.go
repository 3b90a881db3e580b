package sessionmw_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

var storageFuzzSecret = []byte("fuzz cookie storage secret, 32+ bytes!")

// storageFuzzApp: /big stores ~6 KB (two chunks); every request answers
// whether it found the session.
var storageFuzzApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s := sessionmw.FromRequest(r).GetSession()
	if r.URL.Path == "/big" {
		s.Set("big", strings.Repeat("x", 6000))
	}
	b, _ := io.ReadAll(r.Body)
	_, found := s.Get("big")
	fmt.Fprintf(w, "found=%t body=%d", found, len(b))
})

// FuzzCookieStorageOpen sends arbitrary chunk cookie sets ({{C1}} and {{C2}}
// stand for the two real chunk values): never a panic or a 500, and the
// session opens only when the first sid and sid2 cookies are exactly the
// real chunks.
func FuzzCookieStorageOpen(f *testing.F) {
	for _, seed := range []string{
		"sid={{C1}}; sid2={{C2}}",
		"sid={{C1}}",
		"sid2={{C2}}; sid={{C1}}",
		"sid={{C2}}; sid2={{C1}}",
		"sid=3.{{C1}}; sid2={{C2}}",
		"sid={{C1}}; sid2={{C2}}; sid3={{C2}}",
		"sid=1.AAAA",
		"sid=300.x; sid2=y",
		"sid={{C1}}x; sid2={{C2}}",
		"sid=garbage; sid={{C1}}; sid2={{C2}}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		mw, err := sessionmw.New(storageFuzzSecret, sessionmw.WithCookieStorage())
		if err != nil {
			t.Fatal(err)
		}
		h := mw.Handler(storageFuzzApp)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/big", nil))
		chunks := map[string]string{}
		for _, c := range rec.Result().Cookies() {
			chunks[c.Name] = c.Value
		}
		if chunks["sid"] == "" || chunks["sid2"] == "" {
			t.Fatalf("setup: want two chunks, got %v", rec.Result().Cookies())
		}
		header := strings.NewReplacer("{{C1}}", chunks["sid"], "{{C2}}", chunks["sid2"]).Replace(raw)
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", header)
		// The session is found when one of the first four session
		// cookies (the candidates) opens: its first chunk, unquoted, with
		// the first sid2 cookie as the second.
		want := false
		if cs := req.CookiesNamed("sid2"); len(cs) > 0 && !cs[0].Quoted && cs[0].Value == chunks["sid2"] {
			for i, c := range req.CookiesNamed("sid") {
				if i < 4 && !c.Quoted && c.Value == chunks["sid"] {
					want = true
				}
			}
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for %q", rec.Code, header)
		}
		if got := strings.HasPrefix(rec.Body.String(), "found=true"); got != want {
			t.Fatalf("found = %v, want %v, for %q", got, want, raw)
		}
	})
}

// FuzzLogoutBody posts arbitrary bodies with arbitrary content types to a
// logged-in session: a logout happens only for a form, multipart or JSON
// body (within MaxLogoutBody) carrying session_logout, as net/http's and
// encoding/json's own parsers see it, and otherwise the next handler reads
// the whole body, unconsumed.
func FuzzLogoutBody(f *testing.F) {
	f.Add("session_logout=1", "application/x-www-form-urlencoded")
	f.Add("a=1&session_logout", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("session_logout=1", "text/plain")
	f.Add("a=1&b=2", "application/x-www-form-urlencoded")
	f.Add("%zz&session_logout=1", "application/x-www-form-urlencoded")
	f.Add(strings.Repeat("x", 70000)+"&session_logout=1", "application/x-www-form-urlencoded")
	f.Add("", "")
	f.Add(`{"session_logout": true}`, "application/json")
	f.Add(`{"session_logout": false, "a": 1}`, "application/json")
	f.Add(`{"session_logout": null}`, "application/json; charset=utf-8")
	f.Add(`[{"session_logout": 1}]`, "application/json")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"session_logout\"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b")
	f.Add("--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		mw, err := sessionmw.New(storageFuzzSecret, sessionmw.WithCookieStorage(), sessionmw.WithLogout())
		if err != nil {
			t.Fatal(err)
		}
		h := mw.Handler(storageFuzzApp)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/big", nil))
		var cookie []string
		for _, c := range rec.Result().Cookies() {
			cookie = append(cookie, c.Name+"="+c.Value)
		}
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Cookie", strings.Join(cookie, "; "))
		req.Header.Set("Content-Type", contentType)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		wantLogout := refLogoutBody(body, contentType)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		if gotLogout := rec.Body.Len() == 0; gotLogout != wantLogout {
			t.Fatalf("logout = %v, want %v (body %q…, type %q)", gotLogout, wantLogout, body[:min(len(body), 40)], contentType)
		}
		if !wantLogout && rec.Body.String() != fmt.Sprintf("found=true body=%d", len(body)) {
			t.Fatalf("next handler saw %q, want the session and all %d body bytes", rec.Body.String(), len(body))
		}
	})
}

// refLogoutBody is what FuzzLogoutBody expects of a body: a logout asked
// for in a form, multipart or JSON body of at most MaxLogoutBody bytes, as
// the standard library's parsers read it.
func refLogoutBody(body, contentType string) bool {
	ct, params, err := mime.ParseMediaType(contentType)
	if err != nil || len(body) > sessionmw.MaxLogoutBody {
		return false
	}
	arg := sessionmw.DefaultLogoutArg
	switch ct {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(body)
		return err == nil && form.Has(arg)
	case "application/json":
		var obj map[string]any
		if json.Unmarshal([]byte(body), &obj) != nil {
			return false
		}
		v, ok := obj[arg]
		return ok && v != nil && v != false
	case "multipart/form-data":
		if params["boundary"] == "" {
			return false
		}
		mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return false
			}
			if p.FormName() == arg {
				return true
			}
		}
	}
	return false
}

package sessionmw

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

type scannedCookie struct {
	value  string
	quoted bool
}

// netHTTPCookies is what net/http makes of the Cookie lines for name.
func netHTTPCookies(lines []string, name string) []scannedCookie {
	r := &http.Request{Header: http.Header{"Cookie": lines}}
	var out []scannedCookie
	for _, c := range r.CookiesNamed(name) {
		out = append(out, scannedCookie{c.Value, c.Quoted})
	}
	return out
}

// scanned is what scanCookies makes of them; ok is its own answer.
func scanned(lines []string, name string) (out []scannedCookie, ok bool) {
	ok = scanCookies(http.Header{"Cookie": lines}, name, func(v string, quoted bool) bool {
		out = append(out, scannedCookie{v, quoted})
		return true
	})
	return out, ok
}

func TestScanCookies(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"none", nil},
		{"one", []string{"sid=abc"}},
		{"among others", []string{"a=1; sid=abc; b=2"}},
		{"twice", []string{"sid=one; sid=two"}},
		{"over two lines", []string{"sid=one", "x=y; sid=two"}},
		{"spaces and tabs", []string{" \t sid = abc \t;  sid=\tdef "}},
		{"quoted", []string{`sid="abc"`}},
		{"lone quote", []string{`sid="`}},
		{"invalid byte skipped", []string{"sid=a\\b; sid=ok"}},
		{"no equals", []string{"sid; sid=ok"}},
		{"empty value", []string{"sid=; a=b"}},
		{"other case", []string{"SID=abc; Sid=def"}},
		{"prefix of another name", []string{"sidx=1; xsid=2"}},
		{"empty parts", []string{";;; sid=abc ;;"}},
		{"control bytes", []string{"sid=a\x01b; sid=\x7f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := scanned(tc.lines, "sid")
			if !ok {
				t.Fatal("scanCookies deferred to net/http")
			}
			if want := netHTTPCookies(tc.lines, "sid"); !slices.Equal(got, want) {
				t.Errorf("scanCookies = %+v, net/http = %+v", got, want)
			}
		})
	}
}

func TestScanCookiesDefersOverItsLimit(t *testing.T) {
	line := strings.Repeat("a=b; ", scanCookieMax) + "sid=abc"
	if _, ok := scanned([]string{line}, "sid"); ok {
		t.Errorf("%d cookies read without net/http", scanCookieMax+1)
	}
	// Through the key lookup, the answer is net/http's.
	r := &http.Request{Header: http.Header{"Cookie": {line}}}
	var got []string
	keyLookup{fromCookie, "sid"}.each(r, func(v string) bool { got = append(got, v); return true })
	if len(got) != 1 || got[0] != "abc" {
		t.Errorf("each = %q, want [abc]", got)
	}
}

// scanCookies must answer exactly as net/http's CookiesNamed does, for any
// Cookie lines (separated by \n in the input).
func FuzzScanCookiesMatchesNetHTTP(f *testing.F) {
	for _, s := range []string{
		"sid=abc", "a=1; sid=abc; b=2", "sid=one\nsid=two", ` sid = "abc" `, `sid="`, "sid=a\\b", "sid;sid=", ";;sid=x;;",
		"SID=x", "sid=\x00", "sid=é", "s id=x; sid=y", "sid=a=b", "\tsid\t=\tv\t",
	} {
		f.Add(s, "sid")
	}
	f.Add("__Host-sid=x; __host-sid=y", "__Host-sid")
	f.Fuzz(func(t *testing.T, header, name string) {
		if validCookieName(name) != nil {
			return
		}
		lines := strings.Split(header, "\n")
		got, ok := scanned(lines, name)
		if !ok {
			return
		}
		if want := netHTTPCookies(lines, name); !slices.Equal(got, want) {
			t.Fatalf("lines %q, name %q: scanCookies = %+v, net/http = %+v", lines, name, got, want)
		}
	})
}

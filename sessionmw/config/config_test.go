package config_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// seedYAML is the seed's two example blocks (middlewares.yaml), as one
// document.
const seedYAML = `
middlewares:
  LoadSessionMiddleware:
    use: plugins.session.middlewares.LoadSessionMiddleware
    config:
      storage: "ValkeySessionStorage"
      keyLookup: "cookie:session_id"
      cookieHTTPOnly: true
      cookieSecure: false
      cookieSameSite: "Lax"
      cookieExpiration: 2h
      disableAutoRenew: false
      autoRenewAfter: 30m
      disableSessionForward: false
  MapSessionToHeaderMiddleware:
    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
    config:
      headers:
        Authorization: authorization
        X-User-Id: user_id
`

// seedRoutesYAML is the seed's "Using with Routes" middlewares block.
const seedRoutesYAML = `
middlewares:
  LoadSessionMiddleware:
    use: plugins.session.middlewares.LoadSessionMiddleware
    config:
      cookieHTTPOnly: true
      cookieSecure: false
      cookieSameSite: "Lax"
      cookieExpiration: 2h
      autoRenewAfter: 30m
      disableSessionForward: false
  MapSessionToHeaderMiddleware:
    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
    config:
      headers:
        Authorization: authorization
        X-User-Id: user_id
`

// dashboard echoes what the upstream would see.
var dashboard = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/login" {
		s := sessionmw.FromRequest(r).GetSession()
		s.Set("user_id", 42)
		s.Set("authorization", "Bearer abc")
		return
	}
	fmt.Fprintf(w, "user=%q auth=%q", r.Header.Get("X-User-Id"), r.Header.Get("Authorization"))
})

func TestSeedYAML(t *testing.T) {
	for name, doc := range map[string]string{"example": seedYAML, "routes": seedRoutesYAML} {
		t.Run(name, func(t *testing.T) {
			store := sessionmw.NewMemoryIO()
			defer store.Close()
			mws, err := config.Load([]byte(doc), config.Options{
				Secret:   secret,
				Storages: map[string]sessionmw.Store{"ValkeySessionStorage": store},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer mws.Close()
			if got := strings.Join(mws.Names(), ","); got != "LoadSessionMiddleware,MapSessionToHeaderMiddleware" {
				t.Fatalf("names %q", got)
			}
			// The seed's route: LoadSession, then MapSessionToHeader.
			h, err := mws.Chain(dashboard, "LoadSessionMiddleware", "MapSessionToHeaderMiddleware")
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
			sc := rec.Header().Get("Set-Cookie")
			for _, want := range []string{"session_id=", "HttpOnly", "SameSite=Lax", "Max-Age=7200", "Path=/"} {
				if !strings.Contains(sc, want) {
					t.Errorf("Set-Cookie %q lacks %q", sc, want)
				}
			}
			if strings.Contains(sc, "Secure") {
				t.Errorf("cookieSecure: false not applied: %q", sc)
			}
			cookie, _, _ := strings.Cut(sc, ";")
			req := httptest.NewRequest("GET", "/dashboard", nil)
			req.Header.Set("Cookie", cookie)
			req.Header.Set("X-User-Id", "admin") // spoofing attempt
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Body.String(); got != `user="42" auth="Bearer abc"` {
				t.Fatalf("upstream saw %s", got)
			}
			if name == "example" && store.Len() != 1 {
				t.Fatalf("named storage holds %d sessions, want 1", store.Len())
			}
		})
	}
}

func TestLoadErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      cookieSecur: true
`, []string{"cookieSecur", "6:"}},
		{"bad duration", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      cookieExpiration: 2 hours
`, []string{"line 6", "cookieExpiration", "invalid duration"}},
		{"wrong type", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      cookieHTTPOnly: "maybe"
`, []string{"6:"}},
		{"bad key lookup", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      keyLookup: "cookies:x"
`, []string{"line 6", "keyLookup", "unknown source"}},
		{"empty key lookup name", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      keyLookup: "header:"
`, []string{"line 6", "keyLookup"}},
		{"bad same site", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      cookieSameSite: "Sometimes"
`, []string{"line 6", "cookieSameSite"}},
		{"same site none without secure", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      cookieSecure: false
      cookieSameSite: None
`, []string{"line 7", "cookieSameSite", "Secure"}},
		{"unknown storage", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      storage: Nope
`, []string{"line 6", "storage", "Nope"}},
		{"negative renew", `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      autoRenewAfter: -5m
`, []string{"line 6", "autoRenewAfter"}},
		{"unknown use", `
middlewares:
  S:
    use: plugins.other.Thing
`, []string{"use", "plugins.other.Thing"}},
		{"map without headers", `
middlewares:
  M:
    use: MapSessionToHeaderMiddleware
    config:
      headers: {}
`, []string{"headers"}},
		{"bad header name", `
middlewares:
  M:
    use: MapSessionToHeaderMiddleware
    config:
      headers:
        "X User": user_id
`, []string{"headers", "X User"}},
		{"no middlewares", `routes: []`, []string{"routes"}},
		{"empty document", ``, []string{"no middlewares"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load([]byte(tc.doc), config.Options{Secret: secret})
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadDefaultsAndOverrides(t *testing.T) {
	doc := `
middlewares:
  S:
    use: LoadSessionMiddleware
    config:
      keyLookup: header:X-Session
      cookieSessionOnly: true
      disableAutoRenew: true
      disableSessionForward: true
`
	mws, err := config.Load([]byte(doc), config.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer mws.Close()
	mw, _ := mws.Get("S")
	var upstreamSaw string
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamSaw = r.Header.Get("X-Session")
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
		fmt.Fprint(w, n+1)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	id := rec.Header().Get("X-Session")
	if id == "" || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("header lookup: X-Session %q, Set-Cookie %q", id, rec.Header().Get("Set-Cookie"))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Session", id)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() != "2" || upstreamSaw != "" {
		t.Fatalf("second request: %q, upstream saw the id: %v", rec.Body.String(), upstreamSaw != "")
	}
}

func TestLoadWithoutSecretFails(t *testing.T) {
	_, err := config.Load([]byte(seedRoutesYAML), config.Options{})
	if err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("err = %v, want a missing-secret error", err)
	}
}

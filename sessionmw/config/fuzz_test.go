package config_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
)

// FuzzYAMLConfig loads arbitrary documents: Load never panics, every error
// it returns starts with "config:", and what it builds serves a request
// without panicking and closes cleanly. Run it with
//
//	go test -run '^$' -fuzz '^FuzzYAMLConfig$' -fuzztime 30s ./sessionmw/config
//
// Seeds: the f.Add calls below and testdata/fuzz/FuzzYAMLConfig/.
func FuzzYAMLConfig(f *testing.F) {
	f.Add(seedYAML)
	f.Add(seedRoutesYAML)
	f.Add("")
	f.Add("middlewares:\n  S:\n    use: LoadSessionMiddleware\n    config:\n      cookieSecur: true\n")
	f.Add("middlewares:\n  S:\n    use: LoadSessionMiddleware\n    config:\n      cookieExpiration: 2 hours\n")
	f.Add("middlewares:\n  M:\n    use: MapSessionToHeaderMiddleware\n    config:\n      headers: {}\n")
	f.Add(strings.Replace(seedYAML, "  ", "\t", 3)) // tabs: not YAML indentation
	f.Add(seedYAML[:len(seedYAML)/2])               // cut mid-document
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer store.Close()
	opts := config.Options{
		Secret:   []byte("fuzz-secret-0123456789abcdef-0123456789"),
		Storages: map[string]sessionmw.Store{"ValkeySessionStorage": store},
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionmw.FromRequest(r).GetSession().Get("user_id") // read only: no store write
	})
	f.Fuzz(func(t *testing.T, doc string) {
		mws, err := config.Load([]byte(doc), opts)
		if err != nil {
			if mws != nil {
				t.Errorf("Load returned middlewares and an error")
			}
			if !strings.HasPrefix(err.Error(), "config:") {
				t.Fatalf("error does not start with \"config:\": %q", err)
			}
			return
		}
		names := mws.Names()
		if len(names) == 0 {
			t.Fatal("Load succeeded with no middlewares")
		}
		h, err := mws.Chain(app, names...)
		if err != nil {
			t.Fatalf("Chain(%q): %v", names, err)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", "session_id=garbage; sid=garbage")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("a request through %q answered %d: %s", names, rec.Code, rec.Body.String())
		}
		if err := mws.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

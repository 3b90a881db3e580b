package config_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
)

// baseDir is a valid gateway directory: the Kong walkthrough plus the
// seed's route.
var baseDir = map[string]string{
	"middlewares.yaml": `middlewares:
  session:
    use: session
    config:
      storage: Mem
      cookie_secure: false
  key-auth:
    use: key-auth
    config:
      anonymous: anonymous_users
  deny:
    use: request-termination
    config:
      consumer: anonymous_users
      status_code: 403
      message: "So long and thanks for all the fish!"
  LoadSessionMiddleware:
    use: plugins.session.middlewares.LoadSessionMiddleware
    config:
      cookieSecure: false
  MapSessionToHeaderMiddleware:
    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
    config:
      headers:
        X-User-Id: user_id
`,
	"routes.yaml": `routes:
  - path: /sessions-test
    middlewares: [session, key-auth, deny]
    action: echo
  - path: "/dashboard"
    method: "GET"
    middlewares:
      - LoadSessionMiddleware
      - MapSessionToHeaderMiddleware
    action: echo
  - path: /users/{id}
    methods: [GET, POST]
    action: teapot
`,
	"actions.yaml": `actions:
  echo:
    type: forward
    url: http://127.0.0.1:9
    timeout: 2s
  teapot:
    type: static
    status: 418
    body: short and stout
    contentType: text/plain
`,
	"storages.yaml": `storages:
  Mem:
    type: memory
  Valkey:
    type: valkey
    url: redis://127.0.0.1:6379/0
    prefix: "gw:"
    timeout: 500ms
    clientCache: 1s
`,
	"consumers.yaml": `consumers:
  - username: anonymous_users
  - username: fiona
    id: fiona-id
    keyauth_credentials:
      - key: open_sesame
`,
	"plugins.yaml": `plugins:
  - path: /plugins/session.so
`,
}

// writeDir writes baseDir with changes (a file set to "" is left out).
func writeDir(t *testing.T, changes map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range baseDir {
		if c, ok := changes[name]; ok {
			body = c
		}
		if body == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// build reads and builds dir with a MemoryIO for every storage.
func build(t *testing.T, dir string) (*config.Gateway, error) {
	t.Helper()
	d, err := config.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	stores := map[string]sessionmw.Store{}
	for _, s := range d.Storages {
		m := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
		t.Cleanup(func() { m.Close() })
		stores[s.Name] = m
	}
	return d.Build(config.Options{Secret: secret, Storages: stores}, config.BuildOptions{})
}

func TestDirLoads(t *testing.T) {
	g, err := build(t, writeDir(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, tc := range []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/sessions-test", 403, "So long and thanks"},
		{"GET", "/users/7", 418, "short and stout"},
		{"POST", "/users/7", 418, "short and stout"},
		{"DELETE", "/users/7", 405, ""},
		{"GET", "/nowhere", 404, ""},
		{"GET", "/dashboard", 502, ""}, // nothing listens on port 9
	} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, rec.Code, rec.Body.String(), tc.status, tc.body)
		}
	}
}

func TestDirErrorsNameFileLineAndKey(t *testing.T) {
	routes := func(s string) map[string]string { return map[string]string{"routes.yaml": "routes:\n" + s} }
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // substrings of the error
	}{
		{"missing routes file", map[string]string{"routes.yaml": ""}, []string{"routes.yaml", "no such file"}},
		{"unknown key in a route", routes("  - path: /x\n    action: echo\n    verb: GET\n"), []string{"routes.yaml:4:", "verb"}},
		{"method of the wrong type", routes("  - path: /x\n    action: echo\n    methods: GET\n"), []string{"routes.yaml:4:"}},
		{"lower-case method", routes("  - path: /x\n    action: echo\n    method: get\n"), []string{"routes.yaml:4:", "routes[0].method", `"get"`}},
		{"unknown method", routes("  - path: /x\n    action: echo\n    methods: [GET, BREW]\n"), []string{"routes.yaml:4:", "routes[0].methods[1]", "BREW"}},
		{"method and methods", routes("  - path: /x\n    action: echo\n    method: GET\n    methods: [POST]\n"), []string{"routes.yaml:5:", "routes[0].methods"}},
		{"relative path", routes("  - path: dashboard\n    action: echo\n"), []string{"routes.yaml:2:", "routes[0].path", "start with /"}},
		{"query in path", routes("  - path: /x?y=1\n    action: echo\n"), []string{"routes.yaml:2:", "routes[0].path"}},
		{"bad wildcard", routes("  - path: /x/{id\n    action: echo\n"), []string{"routes.yaml:2:", "routes[0].path"}},
		{"duplicate route", routes("  - path: /x\n    action: echo\n  - path: /x\n    action: echo\n"), []string{"routes.yaml:4:", "routes[1].path", "conflicts"}},
		{"health path", routes("  - path: /healthz\n    action: echo\n"), []string{"routes.yaml:2:", "/healthz"}},
		{"missing path", routes("  - action: echo\n"), []string{"routes.yaml:2:", "routes[0].path", "missing"}},
		{"unknown action", routes("  - path: /x\n    action: HttpForwardToNowhere\n"), []string{"routes.yaml:3:", "routes[0].action", "HttpForwardToNowhere"}},
		{"unknown middleware", routes("  - path: /x\n    middlewares: [session, Nope]\n    action: echo\n"), []string{"routes.yaml:3:", "routes[0].middlewares[1]", "Nope"}},
		{"key-auth before session", routes("  - path: /x\n    middlewares: [key-auth, session]\n    action: echo\n"), []string{"routes.yaml:3:", "must come after"}},
		{"termination without key-auth", routes("  - path: /x\n    middlewares: [session, deny]\n    action: echo\n"), []string{"routes.yaml:3:", "needs a key-auth"}},
		{"no routes", map[string]string{"routes.yaml": "routes: []\n"}, []string{"routes.yaml", "no routes"}},
		{"tabs", map[string]string{"routes.yaml": "routes:\n\t- path: /x\n"}, []string{"routes.yaml:2:"}},
		{"two documents", map[string]string{"routes.yaml": baseDir["routes.yaml"] + "---\nroutes: []\n"}, []string{"routes.yaml", "documents"}},

		{"unknown action type", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: teleport\n  teapot:\n    type: static\n"}, []string{"actions.yaml:3:", "actions.echo.type", "teleport"}},
		{"bad upstream URL", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: forward\n    url: ftp://x\n  teapot:\n    type: static\n"}, []string{"actions.yaml:4:", "actions.echo.url"}},
		{"bad timeout", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: forward\n    url: http://x\n    timeout: soon\n  teapot:\n    type: static\n"}, []string{"actions.yaml:5:", "actions.echo.timeout", "invalid duration"}},
		{"negative timeout", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: forward\n    url: http://x\n    timeout: -1s\n  teapot:\n    type: static\n"}, []string{"actions.yaml:5:", "actions.echo.timeout"}},
		{"bad status", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: forward\n    url: http://x\n  teapot:\n    type: static\n    status: 999\n"}, []string{"actions.yaml:7:", "actions.teapot.status"}},
		{"forward with a body", map[string]string{"actions.yaml": "actions:\n  echo:\n    type: forward\n    url: http://x\n    body: hi\n  teapot:\n    type: static\n"}, []string{"actions.yaml:3:", "actions.echo.type"}},

		{"unknown storage type", map[string]string{"storages.yaml": "storages:\n  Mem:\n    type: mongo\n"}, []string{"storages.yaml:3:", "storages.Mem.type", "mongo"}},
		{"valkey without url", map[string]string{"storages.yaml": "storages:\n  Mem:\n    type: valkey\n"}, []string{"storages.yaml:2:", "storages.Mem.url", "missing"}},
		{"valkey with http url", map[string]string{"storages.yaml": "storages:\n  Mem:\n    type: redis\n    url: http://x\n"}, []string{"storages.yaml:4:", "storages.Mem.url", "scheme"}},
		{"storage unknown key", map[string]string{"storages.yaml": "storages:\n  Mem:\n    type: memory\n    size: 3\n"}, []string{"storages.yaml:4:", "size"}},
		{"unknown storage name", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "storage: Mem", "storage: ValkeySessionStorage", 1)}, []string{"middlewares.yaml:5:", "middlewares.session.config.storage", "ValkeySessionStorage"}},

		{"unknown use", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "use: key-auth", "use: basic-auth", 1)}, []string{"middlewares.yaml:8:", "middlewares.key-auth.use", "basic-auth"}},
		{"unknown Kong key", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "cookie_secure: false", "cookie_secure: false\n      cookie_lifetime: 3600", 1)}, []string{"middlewares.yaml:7:", "cookie_lifetime"}},
		{"Kong timeout as a string", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "cookie_secure: false", "cookie_secure: false\n      idling_timeout: 15m", 1)}, []string{"middlewares.yaml:7:"}},
		{"key in body", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "anonymous: anonymous_users", "anonymous: anonymous_users\n      key_in_body: true", 1)}, []string{"middlewares.yaml:11:", "key_in_body"}},
		{"unknown anonymous", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "anonymous: anonymous_users", "anonymous: nobody", 1)}, []string{"middlewares.yaml:10:", "middlewares.key-auth.config.anonymous", "nobody"}},
		{"termination for an unknown consumer", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "consumer: anonymous_users", "consumer: ghost", 1)}, []string{"middlewares.yaml:14:", "middlewares.deny.config.consumer", "ghost"}},
		{"message and body", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "status_code: 403", "status_code: 403\n      body: x", 1)}, []string{"middlewares.yaml:", "middlewares.deny.config.message"}},

		{"duplicate consumer", map[string]string{"consumers.yaml": "consumers:\n  - username: anonymous_users\n  - username: fiona\n  - username: fiona\n"}, []string{"consumers.yaml:4:", "consumers[2]", "two consumers"}},
		{"duplicate key", map[string]string{"consumers.yaml": "consumers:\n  - username: anonymous_users\n  - username: a\n    keyauth_credentials: [{key: k}]\n  - username: b\n    keyauth_credentials: [{key: k}]\n"}, []string{"consumers.yaml:5:", "consumers[2]"}},
		{"anonymous with a key", map[string]string{"consumers.yaml": "consumers:\n  - username: anonymous_users\n    keyauth_credentials: [{key: k}]\n  - username: fiona\n"}, []string{"middlewares.yaml:10:", "has keys"}},
		{"plugin without path", map[string]string{"plugins.yaml": "plugins:\n  - {}\n"}, []string{"plugins.yaml:2:", "plugins[0]"}},
		{"plugin unknown key", map[string]string{"plugins.yaml": "plugins:\n  - path: /x.so\n    enabled: true\n"}, []string{"plugins.yaml:3:", "enabled"}},

		{"secret in middlewares", map[string]string{"middlewares.yaml": strings.Replace(baseDir["middlewares.yaml"], "cookie_secure: false", "cookie_secure: false\n      secret: hunter2hunter2hunter2hunter2hunter2", 1)}, []string{"middlewares.yaml:7:", "middlewares.session.config.secret", "never read from YAML"}},
		{"secretKey in storages", map[string]string{"storages.yaml": "storages:\n  Mem:\n    type: memory\n    secretKey: x\n"}, []string{"storages.yaml:4:", "secretKey", "never read from YAML"}},
		{"secret_key at the top", map[string]string{"routes.yaml": baseDir["routes.yaml"] + "secret_key: x\n"}, []string{"routes.yaml:14:", "secret_key", "never read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := build(t, writeDir(t, tc.changes))
			if err == nil {
				g.Close()
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.File == "" {
				t.Errorf("error %q is not a *config.Error naming a file", err)
			}
			if strings.Contains(tc.name, "secret") && !errors.Is(err, config.ErrSecretInYAML) {
				t.Errorf("error %q is not ErrSecretInYAML", err)
			}
		})
	}
}

func TestDirObserve(t *testing.T) {
	d, err := config.ReadDir(writeDir(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	var seen []string
	g, err := d.Build(config.Options{Secret: secret, Storages: map[string]sessionmw.Store{"Mem": mem, "Valkey": mem}},
		config.BuildOptions{Observe: func(r *http.Request) { seen = append(seen, r.Pattern) }})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/sessions-test", nil))
	if strings.Join(seen, ",") != "/sessions-test,/sessions-test" { // after session and key-auth; deny answers
		t.Fatalf("observed %q", seen)
	}
}

func TestSeedYAMLAsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middlewares.yaml")
	os.WriteFile(path, []byte("middlewares:\n  S:\n    use: LoadSessionMiddleware\n    config:\n      cookieExpiration: 2 hours\n"), 0o600)
	_, err := config.LoadFile(path, config.Options{Secret: secret})
	if err == nil || !strings.Contains(err.Error(), "middlewares.yaml:5: middlewares.S.config.cookieExpiration: invalid duration") {
		t.Fatalf("err = %v", err)
	}
}

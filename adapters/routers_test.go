package adapters_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"
	"github.com/sessionmw/go/adapters/internal/flowtest"
	"github.com/sessionmw/go/sessionmw"
	"go.uber.org/goleak"
)

// The benchmarks run fiber servers.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, flowtest.FasthttpGoroutines...) }

// routers builds each router with mw's Handler as middleware, around the
// flow's handlers and flowtest's Seen.
var routers = map[string]func(mw *sessionmw.Middleware) http.Handler{
	"chi": func(mw *sessionmw.Middleware) http.Handler {
		r := chi.NewRouter()
		r.Use(mw.Handler)
		r.Mount("/", flowtest.NewMux())
		r.Get(flowtest.SeenPath, seen)
		return r
	},
	"gorilla/mux": func(mw *sessionmw.Middleware) http.Handler {
		r := mux.NewRouter()
		r.Use(mw.Handler)
		r.HandleFunc(flowtest.SeenPath, seen).Methods("GET")
		r.PathPrefix("/").Handler(flowtest.NewMux())
		return r
	},
}

// seen answers what the handler sees of the request (flowtest.Seen).
func seen(w http.ResponseWriter, r *http.Request) {
	cookie := func(name string) string {
		if c, err := r.Cookie(name); err == nil {
			return c.Value
		}
		return ""
	}
	q := r.URL.Query()
	_ = json.NewEncoder(w).Encode(flowtest.Seen{Sid: cookie("sid"), Other: cookie("other"),
		Subject: r.Header.Get("Session-Subject"), Token: q.Get("token"), Keep: q.Get("keep"),
		XSession: r.Header.Get("X-Session")})
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Login, profile, logout and a replayed cookie over real HTTP, with
// Middleware.Handler passed to each router's Use as it is.
func TestRouters(t *testing.T) {
	for name, build := range routers {
		t.Run(name, func(t *testing.T) {
			t.Run("flow", func(t *testing.T) {
				mw, log := flowtest.NewMiddleware(t)
				flowtest.Run(t, serve(t, build(mw)))
				if s := log.String(); s != "" {
					t.Errorf("unexpected warnings: %s", s)
				}
			})
			t.Run("request changes", func(t *testing.T) {
				flowtest.RunRequestChanges(t, func(t *testing.T, opts ...sessionmw.Option) string {
					mw, _ := flowtest.NewMiddleware(t, opts...)
					return serve(t, build(mw))
				})
			})
		})
	}
}

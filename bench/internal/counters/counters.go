// Package counters holds the counters the load and flood tests set beside
// example/counter: the same GET /session_test (increment test_counter,
// answer {"test_counter": N}) on alexedwards/scs, and without sessions.
package counters

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessionmw/go/internal/serve"
)

// SCS keeps the counter in an scs session on memstore (LoadAndSave).
// POST /login?user=NAME renews the session token and stores the user, as
// scs's documentation advises for a login.
func SCS() http.Handler {
	sm := scs.New()
	sm.Store = memstore.New()
	mux := health()
	mux.HandleFunc("GET /session_test", func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "test_counter") + 1
		sm.Put(r.Context(), "test_counter", n)
		write(w, int64(n))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", user)
		fmt.Fprintln(w, "logged in")
	})
	return sm.LoadAndSave(mux)
}

// Bare has no sessions: one global counter.
func Bare() http.Handler {
	var count atomic.Int64
	mux := health()
	mux.HandleFunc("GET /session_test", func(w http.ResponseWriter, r *http.Request) {
		write(w, count.Add(1))
	})
	return mux
}

func health() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	return mux
}

func write(w http.ResponseWriter, n int64) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"test_counter\": %d}\n", n)
}

// Serve serves h on addr until ctx is done, with example/counter's server
// settings.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	return serve.Run(ctx, addr, &http.Server{Handler: h, MaxHeaderBytes: 16 << 10}, nil)
}

// Command counter is authx_extra's session example in Go: GET /session_test
// increments test_counter in the visitor's session and answers
// {"test_counter": N}.
//
//	go run ./example/counter                      # http://127.0.0.1:8000/session_test
//	go run ./example/counter -store ristretto -addr 127.0.0.1:9000
//	go run ./example/counter -store redis -redis-url redis://127.0.0.1:6379/0
//	go run ./example/counter -store postgres -pg-url postgres://app@127.0.0.1/app
//	go run ./example/counter -store sqlite -sqlite-path sessions.db
//	go run ./example/counter -metrics 127.0.0.1:9090  # Prometheus metrics at http://127.0.0.1:9090/metrics
//
// GET /healthz answers "ok"; health checks send X-Skip-Session and get no
// session. POST /login?user=NAME logs the session in as NAME (no password:
// a demo, used by bench/flood's logged-in clients); POST /logout ends the
// session.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionmw/go/internal/serve"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/pgstore"
	"github.com/sessionmw/go/sessionmw/redisstore"
	"github.com/sessionmw/go/sessionmw/sqlitestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "counter:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, secret, store, redisURL string
	pgURL, sqlitePath             string
	metricsAddr                   string
	secure, verbose               bool
	redisCache, redisTimeout      time.Duration
	maxSessions                   int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("counter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "address to listen on")
	fs.StringVar(&o.secret, "secret", os.Getenv("SESSION_SECRET"), "secret key, at least 32 bytes (default: $SESSION_SECRET, else random)")
	fs.StringVar(&o.store, "store", "memory", "session store: memory, ristretto, redis, postgres or sqlite")
	fs.StringVar(&o.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis/Valkey URL for -store redis")
	fs.DurationVar(&o.redisCache, "redis-cache", 0, "client-side cache TTL for -store redis (0: off)")
	fs.DurationVar(&o.redisTimeout, "redis-timeout", redisstore.DefaultTimeout, "per-operation timeout for -store redis")
	fs.StringVar(&o.pgURL, "pg-url", "postgres://postgres@127.0.0.1:5432/postgres", "PostgreSQL connection string for -store postgres (the table is created if missing)")
	fs.StringVar(&o.sqlitePath, "sqlite-path", "sessions.db", "SQLite file for -store sqlite (created if missing)")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (default: off)")
	fs.IntVar(&o.maxSessions, "max-sessions", sessionmw.DefaultMemoryMaxEntries, "most sessions -store memory holds (half of them on probation)")
	fs.BoolVar(&o.secure, "secure", false, "mark the cookie Secure (serve over HTTPS)")
	fs.BoolVar(&o.verbose, "v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, nil
}

// run serves until ctx is done. ready, if not nil, receives the listener's
// address once it accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	secret := []byte(o.secret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
		logger.Warn("no -secret or SESSION_SECRET: using a random key; sessions end when the process restarts")
	}
	store, closeStore, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer closeStore()
	metrics, stopMetrics, err := startMetrics(o.metricsAddr, store, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()

	mw, err := sessionmw.New(secret, append([]sessionmw.Option{
		sessionmw.WithStore(store),
		sessionmw.WithSecure(o.secure),
		sessionmw.WithHTTPOnly(true),
		sessionmw.WithSameSite(http.SameSiteLaxMode),
		sessionmw.WithSkipHeader("X-Skip-Session", "*"),
		sessionmw.WithLogger(logger),
	}, metrics...)...)
	if err != nil {
		return err
	}
	defer mw.Close()

	srv := &http.Server{Handler: mw.Handler(newMux(logger)), MaxHeaderBytes: 16 << 10}
	return serve.Run(ctx, o.addr, srv, func(addr string) {
		logger.Info("counter listening", "url", "http://"+addr+"/session_test", "store", o.store)
		if ready != nil {
			ready <- addr
		}
	})
}

func openStore(ctx context.Context, o options) (sessionmw.Store, func(), error) {
	switch o.store {
	case "memory":
		s := sessionmw.NewMemoryIO(sessionmw.WithMaxEntries(o.maxSessions))
		return s, func() { s.Close() }, nil
	case "ristretto":
		s, err := sessionmw.NewRistrettoStore(256 << 20)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "redis":
		opts := []redisstore.Option{redisstore.WithTimeout(o.redisTimeout)}
		if o.redisCache > 0 {
			opts = append(opts, redisstore.WithClientCache(o.redisCache))
		}
		s, err := redisstore.New(ctx, o.redisURL, opts...)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "postgres":
		s, err := pgstore.New(ctx, o.pgURL)
		if err != nil {
			return nil, nil, err
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "sqlite":
		s, err := sqlitestore.New(o.sqlitePath)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("-store %q: want memory, ristretto, redis, postgres or sqlite", o.store)
}

func newMux(logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /session_test", func(w http.ResponseWriter, r *http.Request) {
		m := sessionmw.FromRequest(r)
		s := m.GetSession()
		n, _ := sessionmw.Get[int](s, "test_counter")
		s.Set("test_counter", n+1)
		// The seed prints the session id; an id is a credential, so only a
		// fingerprint of it is logged.
		if logger.Enabled(r.Context(), slog.LevelDebug) {
			logger.Debug("session_test", "session", sessionmw.Fingerprint(m.GetSessionID()), "test_counter", n+1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"test_counter\": %d}\n", n+1)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: r.URL.Query().Get("user")}); err != nil {
			http.Error(w, "login failed", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "logged in")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Destroy(); err != nil {
			logger.Error("logout", "error", err)
			http.Error(w, "logout failed", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "logged out")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}

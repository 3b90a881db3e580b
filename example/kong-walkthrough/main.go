// Command kong-walkthrough replays the seed's Kong session walkthrough in
// Go: a key-auth middleware with an anonymous consumer, the session
// middleware in Kong mode, a request terminator that answers 403 to
// anonymous requests, and an echo upstream.
//
//	go run ./example/kong-walkthrough
//	curl -i http://127.0.0.1:8001/sessions-test                   # 403
//	curl -i http://127.0.0.1:8001/sessions-test?apikey=open_sesame # 200 + Set-Cookie
//	curl -i http://127.0.0.1:8001/sessions-test -H "cookie:session=…"      # 200, no Set-Cookie
//	curl -i -X DELETE "http://127.0.0.1:8001/sessions-test?session_logout" -H "cookie:session=…" # 200
//	curl -i http://127.0.0.1:8001/sessions-test -H "cookie:session=…"      # 403
//
// As in the seed, the cookie is not Secure so that the demo works over
// plain HTTP. Sessions live in the encrypted cookie (Kong's default
// storage=cookie) with a revocation list, so a logged-out cookie is
// refused; -storage server keeps them in memory instead (storage=kong).
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/sessionmw/go/internal/serve"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// consumers are the walkthrough's Kong consumers, by API key.
var consumers = map[string]sessionmw.Identity{
	"open_sesame": {Subject: "fiona", Credential: "key-auth:fiona-1"},
}

const anonymous = "anonymous_users"

type ctxKey struct{}

// consumer is what the authentication step decided.
func consumer(r *http.Request) string {
	c, _ := r.Context().Value(ctxKey{}).(string)
	return c
}

// keyAuth is the key-auth plugin with config.anonymous set: it runs after
// the session middleware and skips its check when the session is already
// authenticated (Kong's logical OR).
func keyAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := anonymous
		if id, ok := sessionmw.Authenticated(r); ok {
			who = id.Subject
		} else {
			key := r.URL.Query().Get("apikey")
			if key == "" {
				key = r.Header.Get("apikey")
			}
			if id, ok := consumers[key]; ok {
				if err := sessionmw.FromRequest(r).Login(id); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				who = id.Subject
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, who)))
	})
}

// terminate is the request-termination plugin on the anonymous consumer.
func terminate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if consumer(r) == anonymous {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"message":"So long and thanks for all the fish!"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// echo is the upstream: it answers with what it received.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	headers := map[string]string{}
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		headers[k] = r.Header.Get(k)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.Path, "consumer": consumer(r), "headers": headers,
	})
})

func newHandler(secret []byte, storage string, logger *slog.Logger) (http.Handler, func(), error) {
	mem := sessionmw.NewMemoryIO()
	opts := []sessionmw.Option{
		sessionmw.WithSecure(false), // the seed's demo: config.cookie_secure=false
		sessionmw.WithAnonymousSubject(anonymous),
		sessionmw.WithRequestHeaders("subject", "timeout"),
		sessionmw.WithLogger(logger),
	}
	switch storage {
	case "cookie":
		opts = append(opts, sessionmw.WithRevocationStore(mem))
	case "server":
		opts = append(opts, sessionmw.WithStore(mem))
	default:
		mem.Close()
		return nil, nil, fmt.Errorf("-storage %q: want cookie or server", storage)
	}
	mw, err := gateway.Kong(secret, opts...)
	if err != nil {
		mem.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/sessions-test", keyAuth(terminate(echo)))
	return mw.Handler(mux), func() { mw.Close(); mem.Close() }, nil
}

func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("kong-walkthrough", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8001", "address to listen on")
	storage := fs.String("storage", "cookie", "cookie (Kong's default) or server")
	secretFlag := fs.String("secret", os.Getenv("SESSION_SECRET"), "secret key, at least 32 bytes (default: $SESSION_SECRET, else random)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	secret := []byte(*secretFlag)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	h, closeAll, err := newHandler(secret, *storage, logger)
	if err != nil {
		return err
	}
	defer closeAll()
	return serve.Run(ctx, *addr, &http.Server{Handler: h}, func(a string) {
		logger.Info("kong-walkthrough listening", "url", "http://"+a+"/sessions-test")
		if ready != nil {
			ready <- a
		}
	})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "kong-walkthrough:", err)
		os.Exit(1)
	}
}

// Command gateway-headers is the seed gateway's session setup in Go:
// LoadSessionMiddleware and MapSessionToHeaderMiddleware, configured from
// middlewares.yaml, in front of an httputil.ReverseProxy. Upstream services
// receive X-User-Id and Authorization from the session, never from the
// client, and never see the session cookie.
//
//	go run ./example/gateway-headers                                  # with a demo echo upstream
//	go run ./example/gateway-headers -upstream http://127.0.0.1:9000  # with your own
//
// Without -upstream it starts an echo server on 127.0.0.1 that answers
// with the headers it received. The same setup without Go code:
// go run ./cmd/sessiongw serve -demo-upstream ./example/sessiongw/seed-gateway.
//
// POST /login?user=NAME (a stand-in for a real login) stores the user in
// the session; every other path is proxied.
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionmw/go/internal/serve"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
)

//go:embed middlewares.yaml
var defaultYAML []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage was printed
		}
		fmt.Fprintln(os.Stderr, "gateway-headers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("gateway-headers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	upstream := fs.String("upstream", "", "upstream URL (default: start a demo echo upstream on 127.0.0.1)")
	secret := fs.String("secret", os.Getenv("SESSION_SECRET"), "secret key, at least 32 bytes (default: $SESSION_SECRET, else random)")
	cfgPath := fs.String("config", "", "middlewares.yaml (default: the embedded one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	key := []byte(*secret)
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
		logger.Warn("no -secret or SESSION_SECRET: using a random key")
	}
	data := defaultYAML
	if *cfgPath != "" {
		var err error
		if data, err = os.ReadFile(*cfgPath); err != nil {
			return err
		}
	}
	mws, err := config.Load(data, config.Options{Secret: key, Logger: logger})
	if err != nil {
		return err
	}
	defer mws.Close()
	if *upstream == "" {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Write(w) // the headers the upstream received
		}))
		defer echo.Close()
		*upstream = echo.URL
		logger.Info("no -upstream: demo echo upstream started", "url", echo.URL)
	}
	h, err := newHandler(mws, *upstream)
	if err != nil {
		return err
	}
	return serve.Run(ctx, *addr, &http.Server{Handler: h}, func(a string) {
		logger.Info("gateway-headers listening", "url", "http://"+a+"/dashboard", "login", "curl -X POST http://"+a+"/login?user=fiona")
		if ready != nil {
			ready <- a
		}
	})
}

// newHandler routes /login to the demo login and everything else through
// LoadSession + MapSessionToHeader to the proxy, as the seed's routes.yaml
// does for /dashboard.
func newHandler(mws *config.Middlewares, upstream string) (http.Handler, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-upstream %q is not an absolute URL", upstream)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			http.Error(w, "user required", http.StatusBadRequest)
			return
		}
		m := sessionmw.FromRequest(r)
		m.RenewID() // no fixation
		m.GetSession().Set("user_id", user)
		m.GetSession().Set("authorization", "Bearer demo-token-for-"+user)
		fmt.Fprintln(w, "logged in as", user)
	})
	routed, err := mws.Chain(proxy, "MapSessionToHeaderMiddleware")
	if err != nil {
		return nil, err
	}
	mux.Handle("/", routed)
	return mws.Chain(mux, "LoadSessionMiddleware")
}

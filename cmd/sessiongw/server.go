package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
	"github.com/sessionmw/go/sessionmw/gateway"
)

// server serves the current generation of the configuration.
type server struct {
	dir      string
	secret   []byte
	upstream string // the demo upstream, when started
	log      *slog.Logger

	mu           sync.Mutex // serializes load
	stores       *stores
	defaultStore sessionmw.Store
	cur          atomic.Pointer[generation]
}

// generation is one loaded configuration and the requests using it.
type generation struct {
	gw      *config.Gateway
	stores  []*ownedStore
	active  atomic.Int64
	retired atomic.Bool
	once    sync.Once
	drained chan struct{}
}

func (g *generation) release() {
	if g.active.Add(-1) == 0 && g.retired.Load() {
		g.once.Do(func() { close(g.drained) })
	}
}

// retire marks g as replaced; drained closes once its last request ends.
func (g *generation) retire() {
	g.retired.Store(true)
	if g.active.Load() == 0 {
		g.once.Do(func() { close(g.drained) })
	}
}

// acquire returns the current generation, counted as used by the caller
// until it calls release.
func (s *server) acquire() *generation {
	for {
		g := s.cur.Load()
		g.active.Add(1)
		if s.cur.Load() == g {
			return g
		}
		g.release() // replaced meanwhile: use the new one
	}
}

// load reads the directory and, if it is valid, makes it current; the
// previous generation is closed once its requests are done.
func (s *server) load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := config.ReadDir(s.dir)
	if err != nil {
		return err
	}
	used, err := s.stores.acquire(ctx, d.Storages)
	if err != nil {
		return err
	}
	named := map[string]sessionmw.Store{}
	for _, o := range used {
		named[o.spec.Name] = o.store
	}
	if s.defaultStore == nil {
		s.defaultStore = s.stores.placeholder() // outlives reloads, like a named store
	}
	gw, err := d.Build(config.Options{
		Secret: s.secret, Storages: named, DefaultStore: s.defaultStore, Logger: s.log,
	}, config.BuildOptions{Upstream: s.upstream, Observe: observe})
	if err != nil {
		s.stores.release(used)
		return err
	}
	g := &generation{gw: gw, stores: used, drained: make(chan struct{})}
	s.stores.adopt(used)
	old := s.cur.Swap(g)
	if old != nil {
		old.retire()
		go func() {
			<-old.drained
			s.closeGeneration(old)
		}()
	}
	return nil
}

func (s *server) closeGeneration(g *generation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := g.gw.Close(); err != nil {
		s.log.Warn("closing the previous configuration", slog.Any("error", err))
	}
	s.stores.release(g.stores)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == config.HealthPath {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	g := s.acquire()
	defer g.release()
	g.gw.ServeHTTP(w, r)
}

// run serves on addr until a SIGTERM or SIGINT, reloading on SIGHUP.
func (s *server) run(addr string, shutdownTimeout time.Duration, stdout io.Writer, sig <-chan os.Signal) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           accessLog(s.log, s),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "sessiongw: listening on %s (config %s)\n", url, s.dir)
	s.log.Info("listening", slog.String("url", url), slog.String("config", s.dir))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	for {
		select {
		case err := <-errc:
			return err
		case v := <-sig:
			if v == syscall.SIGHUP {
				if err := s.load(context.Background()); err != nil {
					s.log.Error("reload failed; the running configuration stays", slog.String("error", explain(err).Error()))
				} else {
					s.log.Info("reloaded", slog.String("config", s.dir))
				}
				continue
			}
			s.log.Info("shutting down: in-flight requests finish", slog.String("signal", v.String()))
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			err := srv.Shutdown(ctx)
			cancel()
			if g := s.cur.Load(); g != nil {
				g.retire()
				<-g.drained
				s.closeGeneration(g)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("shutdown: %w", err)
			}
			s.log.Info("stopped")
			return nil
		}
	}
}

// requestInfo is what the access log learns from inside a route.
type requestInfo struct {
	route, consumer string
	sessionID       string // logged only as its fingerprint
}

type infoKey struct{}

// observe records the route, the consumer and the session fingerprint as
// the request passes a route's middlewares.
func observe(r *http.Request) {
	info, ok := r.Context().Value(infoKey{}).(*requestInfo)
	if !ok {
		return
	}
	info.route = r.Pattern
	if a, ok := gateway.AuthFromRequest(r); ok {
		info.consumer = a.Consumer.ID
	}
	if m := sessionmw.FromRequest(r); m.Active() && !m.IsNew() {
		info.sessionID = m.GetSessionID()
	}
}

// accessLog logs one JSON line per request: never the query, a header, a
// cookie, a key or a session id.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		if info.route != "" {
			attrs = append(attrs, slog.String("route", info.route))
		}
		if info.consumer != "" {
			attrs = append(attrs, slog.String("consumer", info.consumer))
		}
		if info.sessionID != "" {
			attrs = append(attrs, slog.String("session", sessionmw.Fingerprint(info.sessionID)))
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// statusWriter records the status and size of a response; Unwrap lets
// http.ResponseController reach Flush and Hijack.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package otelsession_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/otelsession"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	// Middlewares without WithLogger warn on slog.Default (a tampered
	// cookie, a store outage): expected here, not worth printing.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

var secret = []byte("otelsession test secret, 32+ bytes long")

// telemetry is an OpenTelemetry SDK that keeps what it records in memory:
// metrics until collected, spans as they end.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.InMemoryExporter
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
	last   map[string]int64
}

func newTelemetry(t testing.TB) *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter()}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	t.Cleanup(func() {
		tel.mp.Shutdown(context.Background())
		tel.tp.Shutdown(context.Background())
	})
	return tel
}

// hooks returns otelsession's hooks on tel's providers.
func (tel *telemetry) hooks(t testing.TB) sessionmw.Hooks {
	t.Helper()
	h, err := otelsession.Hooks(otelsession.WithMeterProvider(tel.mp), otelsession.WithTracerProvider(tel.tp))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// series collects every metric point as "name{k=v,…}" → value (a
// histogram's count of measurements), attributes sorted by key.
func (tel *telemetry) series(t testing.TB) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsession.ScopeName {
			t.Fatalf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = int64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func key(name string, set attribute.Set) string {
	var kv []string
	for _, a := range set.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

// delta returns the series that changed since the last call (or since
// tel was created), each with its increase.
func (tel *telemetry) delta(t testing.TB) map[string]int64 {
	t.Helper()
	now := tel.series(t)
	d := map[string]int64{}
	for k, v := range now {
		if v != tel.last[k] {
			d[k] = v - tel.last[k]
		}
	}
	tel.last = now
	return d
}

// some, as a wanted increase, accepts any positive one: for store calls
// whose number is the core's business (a login's renewal takes several).
const some = -1

// checkDelta fails unless the series that changed are exactly those of
// want, each by its increase.
func checkDelta(t testing.TB, step string, got, want map[string]int64) {
	t.Helper()
	ok := len(got) == len(want)
	for k, w := range want {
		if g := got[k]; g == 0 || (w != some && g != w) {
			ok = false
		}
	}
	if !ok {
		t.Fatalf("%s: metrics moved by\n\t%s\nwant\n\t%s", step, show(got), show(want))
	}
}

func show(m map[string]int64) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := fmt.Sprint(m[k])
		if m[k] == some {
			v = "some"
		}
		lines = append(lines, k+" +"+v)
	}
	return strings.Join(lines, "\n\t")
}

// Series names, for the tables.
func created(reason string) string {
	return "sessionmw.sessions.created{sessionmw.reason=" + reason + "}"
}

const loaded = "sessionmw.sessions.loaded{}"

func renewed(reason string) string {
	return "sessionmw.sessions.renewed{sessionmw.reason=" + reason + "}"
}
func destroyed(reason string) string {
	return "sessionmw.sessions.destroyed{sessionmw.reason=" + reason + "}"
}
func refused(reason string) string {
	return "sessionmw.credentials.refused{sessionmw.reason=" + reason + ",sessionmw.source=cookie:sid}"
}
func store(op string) string {
	return "sessionmw.store.operation.duration{sessionmw.operation=" + op + "}"
}
func storeErr(op, errType string) string {
	return "sessionmw.store.operation.duration{error.type=" + errType + ",sessionmw.operation=" + op + "}"
}

// app is the handler behind the middleware: /set writes, /get reads,
// /id answers the session's id, /login?sub= logs in, /logout destroys.
func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "n")
		s.Set("n", n+1)
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		n, _ := sessionmw.Get[int](sessionmw.FromRequest(r).GetSession(), "n")
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, sessionmw.FromRequest(r).GetSessionID())
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Login(sessionmw.Identity{Subject: r.URL.Query().Get("sub")}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionmw.FromRequest(r).Destroy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	return mux
}

// browser keeps one client's session cookie across requests, each of
// which runs inside a span of its own ("request"), as under otelhttp.
type browser struct {
	t      testing.TB
	h      http.Handler
	tr     trace.Tracer
	name   string // the session cookie's name
	cookie string // "sid=…", or ""
}

func (tel *telemetry) browser(t testing.TB, h http.Handler) *browser {
	return &browser{t: t, h: h, tr: tel.tp.Tracer("test"), name: "sid"}
}

// do sends a request with the browser's cookie and keeps the one the
// response sets; it fails the test unless the response is a success.
func (b *browser) do(method, target string) {
	b.t.Helper()
	if code := b.send(method, target, b.cookie); code >= 300 {
		b.t.Fatalf("%s %s: status %d", method, target, code)
	}
}

// send sends a request carrying cookie, keeping the browser's.
func (b *browser) send(method, target, cookie string) int {
	b.t.Helper()
	ctx, span := b.tr.Start(context.Background(), "request")
	defer span.End()
	req := httptest.NewRequestWithContext(ctx, method, target, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == b.name {
			b.cookie = ""
			if c.MaxAge >= 0 {
				b.cookie = b.name + "=" + c.Value
			}
		}
	}
	return rec.Code
}

// id returns the id of the browser's session ("" when it has none).
func (b *browser) id() string {
	b.t.Helper()
	if b.cookie == "" {
		return ""
	}
	req := httptest.NewRequest("GET", "/id", nil)
	req.Header.Set("Cookie", b.cookie)
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	if rec.Result().Header.Get("Set-Cookie") != "" {
		return "" // no session: the id is a fresh one
	}
	return rec.Body.String()
}

// newMW returns a middleware on store with tel's hooks and opts.
func newMW(t testing.TB, tel *telemetry, store sessionmw.Store, opts ...sessionmw.Option) *sessionmw.Middleware {
	t.Helper()
	opts = append([]sessionmw.Option{sessionmw.WithStore(store), sessionmw.WithHooks(tel.hooks(t)), sessionmw.WithSecure(false)}, opts...)
	mw, err := sessionmw.New(secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	return mw
}

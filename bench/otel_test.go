package bench

import (
	"context"
	"net/http"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/otelsession"
)

// observedLibs measure what sessionmw/otelsession adds to a request, on
// the OpenTelemetry SDK as an application would run it: metrics into a
// MeterProvider (collected by nobody here: aggregation is the per-request
// cost, export happens at scrape time), spans through a batch processor to
// an exporter that drops them. The contenders differ only by the hooks:
//
//   - sessionmw: no hooks;
//   - sessionmw-hooks: hooks that do nothing, the core's own cost of
//     reporting (building each Event, fingerprints included);
//   - sessionmw-otel: otelsession's metrics, on untraced requests (store
//     spans need a recording parent, so none are made);
//   - sessionmw-traced against sessionmw-traced-otel: every request runs
//     in a sampled span of its own, as under otelhttp; the hooks add the
//     metrics, a span per store call and an event per lifecycle hook.
var observedLibs = []libMaker{
	{"sessionmw", func(tb testing.TB) *lib { return newObserved(tb, "sessionmw", none, false) }},
	{"sessionmw-hooks", func(tb testing.TB) *lib { return newObserved(tb, "sessionmw-hooks", empty, false) }},
	{"sessionmw-otel", func(tb testing.TB) *lib { return newObserved(tb, "sessionmw-otel", otel, false) }},
	{"sessionmw-traced", func(tb testing.TB) *lib { return newObserved(tb, "sessionmw-traced", none, true) }},
	{"sessionmw-traced-otel", func(tb testing.TB) *lib { return newObserved(tb, "sessionmw-traced-otel", otel, true) }},
}

// Which hooks an observed contender has.
const (
	none  = iota // no WithHooks
	empty        // every hook set, doing nothing
	otel         // otelsession's
)

// newObserved is sessionmw on a MemoryIO with the given hooks (on the
// SDK), each request in a sampled span of its own when traced.
func newObserved(tb testing.TB, name string, hooks int, traced bool) *lib {
	tb.Helper()
	ctx := context.Background()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	tb.Cleanup(func() {
		mp.Shutdown(ctx)
		tp.Shutdown(ctx)
	})
	store := sessionmw.NewMemoryIO()
	tb.Cleanup(func() { store.Close() })
	opts := []sessionmw.Option{sessionmw.WithStore(store)}
	switch hooks {
	case empty:
		nop := func(context.Context, sessionmw.Event) {}
		opts = append(opts, sessionmw.WithHooks(sessionmw.Hooks{
			Created: nop, Loaded: nop, Renewed: nop, Destroyed: nop, Refused: nop, StoreCall: nop,
		}))
	case otel:
		h, err := otelsession.Hooks(otelsession.WithMeterProvider(mp), otelsession.WithTracerProvider(tp))
		if err != nil {
			tb.Fatal(err)
		}
		opts = append(opts, sessionmw.WithHooks(h))
	}
	mw, err := sessionmw.New(secret, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mw.Close() })
	l := sessionmwLib(tb, name, store) // its get and set; the middleware is ours
	l.wrap = mw.Handler
	if traced {
		tr := tp.Tracer("bench")
		l.wrap = func(h http.Handler) http.Handler {
			inner := mw.Handler(h)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx, span := tr.Start(r.Context(), "GET /", trace.WithSpanKind(trace.SpanKindServer))
				inner.ServeHTTP(w, r.WithContext(ctx))
				span.End()
			})
		}
	}
	return l
}

func BenchmarkObservabilityRead(b *testing.B)  { benchReturning(b, observedLibs, false) }
func BenchmarkObservabilityWrite(b *testing.B) { benchReturning(b, observedLibs, true) }

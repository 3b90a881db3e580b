package otelsession_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionmw/go/sessionmw"
)

// BenchmarkHooks measures each hook alone on the SDK (metrics into a
// ManualReader, spans batched to an exporter that drops them), in an
// untraced request and in a sampled one. "sdk-span" is the SDK's own cost
// of one span of the same shape, for comparison with "StoreCall/traced".
func BenchmarkHooks(b *testing.B) {
	tel := newTelemetry(b)
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { tel.tp.Shutdown(context.Background()) })
	h := tel.hooks(b)
	load := sessionmw.Event{Op: "load", Session: "0123abcd", Duration: 150 * time.Nanosecond}
	read := sessionmw.Event{Session: "0123abcd"}
	created := sessionmw.Event{Session: "0123abcd"}
	traced, span := tel.tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	for _, c := range []struct {
		name string
		do   func(context.Context)
	}{
		{"Loaded", func(ctx context.Context) { h.Loaded(ctx, read) }},
		{"Created", func(ctx context.Context) { h.Created(ctx, created) }},
		{"StoreCall", func(ctx context.Context) { h.StoreCall(ctx, load) }},
		{"sdk-span", func(ctx context.Context) {
			_, s := tel.tp.Tracer("bench").Start(ctx, "sessionmw.store.load")
			s.End()
		}},
	} {
		for _, ctx := range []struct {
			name string
			ctx  context.Context
		}{{"untraced", context.Background()}, {"traced", traced}} {
			b.Run(c.name+"/"+ctx.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.do(ctx.ctx)
				}
			})
		}
	}
}

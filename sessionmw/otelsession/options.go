package otelsession

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every meter and tracer this
// package creates (the otel_scope_name label in Prometheus).
const ScopeName = "github.com/sessionmw/go/sessionmw/otelsession"

// Option configures Hooks and ObserveSessions.
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets where metrics go (default: otel.GetMeterProvider()
// at the time Hooks is called, which follows a later otel.SetMeterProvider).
// A nil provider means the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets where spans go (default:
// otel.GetTracerProvider() at the time Hooks is called, which follows a
// later otel.SetTracerProvider). A nil provider means the default. Pass
// noop.NewTracerProvider() (package go.opentelemetry.io/otel/trace/noop)
// for metrics without spans.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	return c
}

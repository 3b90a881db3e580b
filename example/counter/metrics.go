package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sessionmw/go/internal/serve"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/otelsession"
)

// startMetrics serves the middleware's metrics in Prometheus' text format
// at http://addr/metrics, through the OpenTelemetry SDK and its Prometheus
// exporter, and returns the option that wires the middleware's hooks to
// them. With addr empty it does nothing. stop shuts the server and the
// SDK down.
func startMetrics(addr string, store sessionmw.Store, logger *slog.Logger) (opts []sessionmw.Option, stop func(), err error) {
	if addr == "" {
		return nil, func() {}, nil
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("-metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	hooks, err := otelsession.Hooks(otelsession.WithMeterProvider(mp))
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, nil, fmt.Errorf("-metrics: %w", err)
	}
	unregister := func() error { return nil }
	if c, ok := store.(otelsession.Counter); ok {
		if unregister, err = otelsession.ObserveSessions(c, otelsession.WithMeterProvider(mp)); err != nil {
			mp.Shutdown(context.Background())
			return nil, nil, fmt.Errorf("-metrics: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		mp.Shutdown(context.Background())
		return nil, nil, fmt.Errorf("-metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	logger.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return []sessionmw.Option{sessionmw.WithHooks(hooks)}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), serve.ShutdownTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		unregister()
		mp.Shutdown(ctx)
	}, nil
}

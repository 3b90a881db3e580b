package otelsession

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/metric"
)

// Counter is a store that knows how many sessions it holds, such as
// sessionmw.MemoryIO.
type Counter interface {
	Len() int
}

// ObserveSessions reports s.Len() as the observable up-down counter
// sessionmw.sessions.active ({session}) each time metrics are collected,
// until the returned function unregisters it. A store shared by
// several processes (Redis, SQL) knows no such number cheaply and has no
// Len; sessions created minus destroyed is no substitute, since a store
// drops expired sessions without telling anyone.
//
// Observe one store per MeterProvider: two would report the same series.
func ObserveSessions(s Counter, opts ...Option) (unregister func() error, err error) {
	m := newConfig(opts).mp.Meter(ScopeName)
	active, err := m.Int64ObservableUpDownCounter("sessionmw.sessions.active",
		metric.WithUnit("{session}"),
		metric.WithDescription("Sessions the store holds, including expired ones it has not swept yet."))
	if err != nil {
		return nil, fmt.Errorf("otelsession: sessionmw.sessions.active: %w", err)
	}
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(active, int64(s.Len()))
		return nil
	}, active)
	if err != nil {
		return nil, fmt.Errorf("otelsession: sessionmw.sessions.active: %w", err)
	}
	return reg.Unregister, nil
}

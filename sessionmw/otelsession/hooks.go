package otelsession

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/sessionmw/go/sessionmw"
)

// Hooks returns sessionmw.Hooks that record a middleware's sessions as
// OpenTelemetry metrics and spans; pass them to sessionmw.WithHooks:
//
//	hooks, err := otelsession.Hooks() // the global MeterProvider and TracerProvider
//	if err != nil { … }
//	mw, err := sessionmw.New(secret, sessionmw.WithHooks(hooks))
//
// Every lifecycle event adds one to its counter, and a store call records
// its duration and opens a span (see the package documentation for the
// names). One Hooks value may serve several middlewares: their audiences
// tell their series apart. The error is the meter's, when it refuses to
// create an instrument.
func Hooks(opts ...Option) (sessionmw.Hooks, error) {
	c := newConfig(opts)
	in, err := newInstruments(c.mp.Meter(ScopeName))
	if err != nil {
		return sessionmw.Hooks{}, err
	}
	tr := c.tp.Tracer(ScopeName)
	// lifecycle counts an event in c by its reason (fallback when it has
	// none) and adds it to the request's span.
	lifecycle := func(c metric.Int64Counter, event, fallback string) func(context.Context, sessionmw.Event) {
		return func(ctx context.Context, e sessionmw.Event) {
			if e.Reason == "" {
				e.Reason = fallback
			}
			in.count(ctx, c, attrKey{reason: e.Reason, source: e.Source, audience: e.Audience})
			spanEvent(ctx, event, e)
		}
	}
	return sessionmw.Hooks{
		Created:   lifecycle(in.created, eventCreated, reasonNew),
		Loaded:    lifecycle(in.loaded, eventLoaded, ""),
		Renewed:   lifecycle(in.renewed, eventRenewed, ""),
		Destroyed: lifecycle(in.destroyed, eventDestroyed, ""),
		Refused:   lifecycle(in.refused, eventRefused, ""),
		StoreCall: func(ctx context.Context, e sessionmw.Event) {
			in.storeCall(ctx, e)
			storeSpan(ctx, tr, e)
		},
	}, nil
}

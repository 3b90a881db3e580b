package otelsession

import (
	"context"

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
	return sessionmw.Hooks{
		Created: func(ctx context.Context, e sessionmw.Event) {
			if e.Reason == "" {
				e.Reason = reasonNew
			}
			in.count(ctx, in.created, attrKey{reason: e.Reason, audience: e.Audience})
			spanEvent(ctx, eventCreated, e)
		},
		Loaded: func(ctx context.Context, e sessionmw.Event) {
			in.count(ctx, in.loaded, attrKey{reason: e.Reason, audience: e.Audience})
			spanEvent(ctx, eventLoaded, e)
		},
		Renewed: func(ctx context.Context, e sessionmw.Event) {
			in.count(ctx, in.renewed, attrKey{reason: e.Reason, audience: e.Audience})
			spanEvent(ctx, eventRenewed, e)
		},
		Destroyed: func(ctx context.Context, e sessionmw.Event) {
			in.count(ctx, in.destroyed, attrKey{reason: e.Reason, audience: e.Audience})
			spanEvent(ctx, eventDestroyed, e)
		},
		Refused: func(ctx context.Context, e sessionmw.Event) {
			in.count(ctx, in.refused, attrKey{reason: e.Reason, source: e.Source, audience: e.Audience})
			spanEvent(ctx, eventRefused, e)
		},
		StoreCall: func(ctx context.Context, e sessionmw.Event) {
			in.storeCall(ctx, e)
			storeSpan(ctx, tr, e)
		},
	}, nil
}

package otelsession

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionmw/go/sessionmw"
)

// storeSpanPrefix starts the name of a store call's span:
// "sessionmw.store.load", "sessionmw.store.save", …
const storeSpanPrefix = "sessionmw.store."

// Names of the events added to the request's span.
const (
	eventCreated   = "sessionmw.session.created"
	eventLoaded    = "sessionmw.session.loaded"
	eventRenewed   = "sessionmw.session.renewed"
	eventDestroyed = "sessionmw.session.destroyed"
	eventRefused   = "sessionmw.credential.refused"
)

// storeSpans are the span names of ops, built once.
var storeSpans = func() (names [len(ops)]string) {
	for i, op := range ops {
		names[i] = storeSpanPrefix + op
	}
	return names
}()

// internal is the kind of every store span, built once.
var internal = trace.WithSpanKind(trace.SpanKindInternal)

// storeSpan records a store call that has just returned as a span, a
// child of the recording span in ctx (the request's, when the server is
// traced). Without one it records nothing and costs a context lookup: a
// trace of its own for every store call would be noise.
//
// The StoreCall hook runs after the call, so the span is started with an
// explicit timestamp, Duration before now, rather than around the call.
// That needs no wrapper around the store, which would hide the optional
// capabilities the middleware finds on it by type assertion (SubjectIndex,
// EvictionNotifier and its own faster paths); the price is that spans the
// store's client opens during the call (valkeyotel's, say) are the store
// span's siblings under the request span, not its children.
func storeSpan(ctx context.Context, tr trace.Tracer, e sessionmw.Event) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	end := time.Now()
	name := storeSpanPrefix + e.Op
	if i := opIndex(e.Op); i >= 0 {
		name = storeSpans[i]
	}
	_, span := tr.Start(ctx, name, trace.WithTimestamp(end.Add(-e.Duration)), internal)
	if span.IsRecording() {
		var et string
		if e.Err != nil {
			et = errorType(e.Err)
			span.RecordError(e.Err, trace.WithTimestamp(end))
			span.SetStatus(codes.Error, et)
		}
		span.SetAttributes(nonEmpty(pair{keyOperation, e.Op}, pair{keySession, e.Session},
			pair{keyAudience, e.Audience}, pair{keyErrorType, et})...)
	}
	span.End(trace.WithTimestamp(end))
}

// spanEvent adds a lifecycle event to the span in ctx, when one is
// recording: a traced request shows what happened to its session.
func spanEvent(ctx context.Context, name string, e sessionmw.Event) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.AddEvent(name, trace.WithAttributes(nonEmpty(pair{keyReason, e.Reason}, pair{keySession, e.Session},
		pair{keyPrevious, e.Previous}, pair{keySource, e.Source}, pair{keyAudience, e.Audience})...))
}

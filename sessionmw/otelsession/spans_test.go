package otelsession_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionmw/go/sessionmw"
)

// TestSpans: each store call is a span under the request's span, inside
// it in time, with its operation and the session's fingerprint (never the
// id); the request's span gets one event per lifecycle hook.
func TestSpans(t *testing.T) {
	tel := newTelemetry(t)
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	mw := newMW(t, tel, mem)
	a := tel.browser(t, mw.Handler(app()))
	steps := []struct {
		name       string
		do         func()
		storeSpans []string // "name op" of each store span, in order
		events     []string // "name reason" of each event on the request span
	}{
		{"a new visitor writes", func() { a.do("GET", "/set") },
			[]string{"sessionmw.store.save save"}, []string{"sessionmw.session.created new"}},
		{"a read", func() { a.do("GET", "/get") },
			[]string{"sessionmw.store.load load"}, []string{"sessionmw.session.loaded "}},
		{"a tampered cookie", func() { a.send("GET", "/get", "sid="+strings.Repeat("A", 60)) },
			nil, []string{"sessionmw.credential.refused bad_signature"}},
		{"login", func() { a.do("POST", "/login?sub=carol") },
			[]string{"sessionmw.store.load load", "sessionmw.store.save save", "sessionmw.store.save save"},
			[]string{"sessionmw.session.loaded ", "sessionmw.session.renewed explicit"}},
		{"logout", func() { a.do("POST", "/logout") },
			[]string{"sessionmw.store.load load", "sessionmw.store.delete delete"},
			[]string{"sessionmw.session.loaded ", "sessionmw.session.destroyed logout"}},
	}
	for _, s := range steps {
		tel.spans.Reset()
		s.do()
		spans := tel.spans.GetSpans()
		req := spans[len(spans)-1] // the request's span ends last
		if req.Name != "request" {
			t.Fatalf("%s: last span %q", s.name, req.Name)
		}
		var got []string
		for _, sp := range spans[:len(spans)-1] {
			got = append(got, sp.Name+" "+attr(sp.Attributes, "sessionmw.operation"))
			switch {
			case sp.Parent.SpanID() != req.SpanContext.SpanID() || sp.SpanContext.TraceID() != req.SpanContext.TraceID():
				t.Fatalf("%s: %s is not a child of the request span", s.name, sp.Name)
			case sp.SpanKind != trace.SpanKindInternal:
				t.Fatalf("%s: %s: kind %v", s.name, sp.Name, sp.SpanKind)
			case sp.StartTime.Before(req.StartTime) || sp.EndTime.After(req.EndTime) || sp.EndTime.Before(sp.StartTime):
				t.Fatalf("%s: %s runs %v–%v, outside its request's %v–%v", s.name, sp.Name, sp.StartTime, sp.EndTime, req.StartTime, req.EndTime)
			case len(attr(sp.Attributes, "sessionmw.session.fingerprint")) != 8:
				t.Fatalf("%s: %s: fingerprint %q", s.name, sp.Name, attr(sp.Attributes, "sessionmw.session.fingerprint"))
			}
		}
		if !slices.Equal(got, s.storeSpans) {
			t.Fatalf("%s: store spans %q, want %q", s.name, got, s.storeSpans)
		}
		got = nil
		for _, e := range req.Events {
			got = append(got, e.Name+" "+attr(e.Attributes, "sessionmw.reason"))
		}
		if !slices.Equal(got, s.events) {
			t.Fatalf("%s: request span events %q, want %q", s.name, got, s.events)
		}
		if id := a.id(); id != "" {
			assertFingerprints(t, s.name, spans, id, len(s.storeSpans) > 0)
		}
	}
}

// assertFingerprints fails if any attribute of spans holds the session
// id, or, when want, if no span names the session by its fingerprint.
func assertFingerprints(t *testing.T, step string, spans tracetest.SpanStubs, id string, want bool) {
	t.Helper()
	named := false
	for _, sp := range spans {
		all := slices.Clone(sp.Attributes)
		for _, e := range sp.Events {
			all = append(all, e.Attributes...)
		}
		for _, kv := range all {
			if strings.Contains(kv.Value.Emit(), id) {
				t.Fatalf("%s: span %s carries the session id in %s", step, sp.Name, kv.Key)
			}
			if kv.Key == "sessionmw.session.fingerprint" && kv.Value.Emit() == sessionmw.Fingerprint(id) {
				named = true
			}
		}
	}
	if want && !named {
		t.Fatalf("%s: no span names the session %s", step, sessionmw.Fingerprint(id))
	}
}

func attr(kvs []attribute.KeyValue, k string) string {
	for _, kv := range kvs {
		if string(kv.Key) == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

// TestSpansOnlyWhenSampled: a request span that is not sampled gets no
// events, and its store calls make no recorded spans.
func TestSpansOnlyWhenSampled(t *testing.T) {
	tel := newTelemetry(t)
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans), sdktrace.WithSampler(sdktrace.NeverSample()))
	defer tel.tp.Shutdown(context.Background())
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	mw := newMW(t, tel, mem)
	a := tel.browser(t, mw.Handler(app()))
	a.do("GET", "/set")
	a.do("GET", "/get")
	if n := len(tel.spans.GetSpans()); n != 0 {
		t.Fatalf("%d spans recorded, want none", n)
	}
	checkDelta(t, "metrics do not depend on sampling", tel.delta(t),
		map[string]int64{created("new"): 1, loaded: 1, store("save"): 1, store("load"): 1})
}

package otelsession

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sessionmw/go/sessionmw"
)

// Attribute keys, on metrics, spans and span events.
const (
	keyReason    = attribute.Key("sessionmw.reason")
	keySource    = attribute.Key("sessionmw.source")
	keyAudience  = attribute.Key("sessionmw.audience")
	keyOperation = attribute.Key("sessionmw.operation")
	keyErrorType = attribute.Key("error.type")
	keySession   = attribute.Key("sessionmw.session.fingerprint")
	keyPrevious  = attribute.Key("sessionmw.session.previous_fingerprint")
)

// reasonNew is the sessionmw.reason of a session created from nothing (the
// Created hook's empty Reason).
const reasonNew = "new"

// durationBuckets are the store latency histogram's bucket boundaries, in
// seconds: OpenTelemetry's advice for HTTP durations (5 ms to 10 s) in
// its 1–2.5–5 steps, extended down to 100 µs, since a store call (an
// in-process map, one Redis round trip) usually takes well under 5 ms.
var durationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// instruments are the synchronous instruments the hooks record to.
type instruments struct {
	created, loaded, renewed, destroyed, refused metric.Int64Counter
	duration                                     metric.Float64Histogram
	attrs                                        attrCache

	// The attributes of the measurements every request makes (a load,
	// a Loaded event, a save), without an audience, so that those skip
	// the cache's lookup.
	plain   *measurementOpts           // no attributes
	storeOK [len(ops)]*measurementOpts // by op, no error
}

// ops are the store operations the StoreCall hook reports.
var ops = [...]string{"load", "save", "delete", "list"}

func opIndex(op string) int {
	for i, o := range ops {
		if o == op {
			return i
		}
	}
	return -1
}

func newInstruments(m metric.Meter) (*instruments, error) {
	in := &instruments{}
	counters := []struct {
		dst        *metric.Int64Counter
		name, unit string
		desc       string
	}{
		{&in.created, "sessionmw.sessions.created", "{session}", "Sessions saved for the first time, by sessionmw.reason (new, remember)."},
		{&in.loaded, "sessionmw.sessions.loaded", "{session}", "Requests whose credential led to a live session."},
		{&in.renewed, "sessionmw.sessions.renewed", "{session}", "Sessions moved to a new id, by sessionmw.reason (auto, explicit)."},
		{&in.destroyed, "sessionmw.sessions.destroyed", "{session}", "Sessions ended, by sessionmw.reason (logout, revoke, expired, limit, identity, evicted)."},
		{&in.refused, "sessionmw.credentials.refused", "{credential}", "Credentials not accepted, by sessionmw.reason and sessionmw.source."},
	}
	for _, c := range counters {
		var err error
		if *c.dst, err = m.Int64Counter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc)); err != nil {
			return nil, fmt.Errorf("otelsession: %s: %w", c.name, err)
		}
	}
	var err error
	in.duration, err = m.Float64Histogram("sessionmw.store.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the middleware's store calls, by sessionmw.operation (load, save, delete, list) and, for failed ones, error.type."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, fmt.Errorf("otelsession: sessionmw.store.operation.duration: %w", err)
	}
	in.plain = in.attrs.get(attrKey{})
	for i, op := range ops {
		in.storeOK[i] = in.attrs.get(attrKey{op: op})
	}
	return in, nil
}

// count adds one to c with the attributes of k.
func (in *instruments) count(ctx context.Context, c metric.Int64Counter, k attrKey) {
	o := in.plain
	if k != (attrKey{}) {
		o = in.attrs.get(k)
	}
	c.Add(ctx, 1, o.add...)
}

// storeCall records a StoreCall event in the duration histogram.
func (in *instruments) storeCall(ctx context.Context, e sessionmw.Event) {
	var o *measurementOpts
	if i := opIndex(e.Op); i >= 0 && e.Err == nil && e.Audience == "" {
		o = in.storeOK[i]
	} else {
		k := attrKey{op: e.Op, audience: e.Audience}
		if e.Err != nil {
			k.errType = errorType(e.Err)
		}
		o = in.attrs.get(k)
	}
	in.duration.Record(ctx, e.Duration.Seconds(), o.record...)
}

// attrKey is one combination of metric attributes. Every field has few
// values: reasons, operations and error types are the fixed ones sessionmw
// and this package define, sources and audiences come from the
// middleware's configuration. No field ever holds a session id or a
// subject.
type attrKey struct {
	reason, source, audience, op, errType string
}

// measurementOpts are the options that attach one attribute set to a
// measurement, built once per set so that recording allocates nothing.
type measurementOpts struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// attrCache maps attribute combinations to their options.
type attrCache struct{ m sync.Map } // attrKey → *measurementOpts

func (c *attrCache) get(k attrKey) *measurementOpts {
	if v, ok := c.m.Load(k); ok {
		return v.(*measurementOpts)
	}
	kv := nonEmpty(pair{keyReason, k.reason}, pair{keySource, k.source}, pair{keyAudience, k.audience},
		pair{keyOperation, k.op}, pair{keyErrorType, k.errType})
	opt := metric.WithAttributeSet(attribute.NewSet(kv...))
	v, _ := c.m.LoadOrStore(k, &measurementOpts{add: []metric.AddOption{opt}, record: []metric.RecordOption{opt}})
	return v.(*measurementOpts)
}

// pair is a string attribute that is left out when its value is empty.
type pair struct {
	key attribute.Key
	val string
}

// nonEmpty returns the attributes of the pairs that have a value.
func nonEmpty(pairs ...pair) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, len(pairs))
	for _, p := range pairs {
		if p.val != "" {
			kv = append(kv, p.key.String(p.val))
		}
	}
	return kv
}

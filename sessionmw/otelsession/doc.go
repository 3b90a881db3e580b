// Package otelsession records sessionmw's sessions as OpenTelemetry
// metrics and traces, through the hooks of [sessionmw.Hooks].
//
//	hooks, err := otelsession.Hooks() // otel.GetMeterProvider(), otel.GetTracerProvider()
//	if err != nil {
//		return err
//	}
//	store := sessionmw.NewMemoryIO()
//	unregister, err := otelsession.ObserveSessions(store) // optional: stores with Len
//	if err != nil {
//		return err
//	}
//	defer unregister()
//	mw, err := sessionmw.New(secret, sessionmw.WithStore(store), sessionmw.WithHooks(hooks))
//
// [WithMeterProvider] and [WithTracerProvider] choose other providers. The
// core package sessionmw does not import OpenTelemetry: a middleware
// without hooks pays nothing, and one with these hooks pays for its
// measurements only (BENCHMARKS.md has the figures).
//
// # Metrics
//
// Counters of lifecycle events, one per hook:
//
//	sessionmw.sessions.created     {session}     sessionmw.reason: new, remember
//	sessionmw.sessions.loaded      {session}     (no reason)
//	sessionmw.sessions.renewed     {session}     sessionmw.reason: auto, explicit
//	sessionmw.sessions.destroyed   {session}     sessionmw.reason: logout, revoke, expired, limit, identity, evicted
//	sessionmw.credentials.refused  {credential}  sessionmw.reason: bad_signature, expired_signature, malformed,
//	                                             too_large, unknown_id, ended, renewed, revoked, audience,
//	                                             ambiguous, binding; sessionmw.source: cookie:sid, header:…, query:…
//
// The reasons are sessionmw's Reason* and Refused* constants. Every
// series also carries sessionmw.audience when the middleware has one
// ([sessionmw.WithAudience]). A session that expires is counted as
// destroyed (expired) when the middleware meets it ended, or when a store
// that implements [sessionmw.EvictionNotifier] sweeps it; an in-process
// store that drops it at its deadline makes a request that still carries
// it count as refused (unknown_id) instead.
//
// The histogram sessionmw.store.operation.duration (s) holds the duration
// of every store call the middleware makes, by sessionmw.operation (load,
// save, delete, list). A failed call also has error.type: one of the
// Error* constants, a class of error and never its message. Its bucket
// boundaries run from 100 µs to 10 s in 1–2.5–5 steps.
//
// [ObserveSessions] adds sessionmw.sessions.active ({session}), an
// observable up-down counter of the sessions a store holds, for stores
// that know it ([Counter]).
//
// Through the Prometheus exporter (go.opentelemetry.io/otel/exporters/prometheus)
// the names become sessionmw_sessions_created_total,
// sessionmw_credentials_refused_total,
// sessionmw_store_operation_duration_seconds_bucket, …, and the attributes
// the labels sessionmw_reason, sessionmw_operation, error_type, ….
//
// # Traces
//
// Each store call made within a recording span (a traced request, under
// otelhttp say) is a span named sessionmw.store.load (or .save, .delete,
// .list), a child of that span, with sessionmw.operation,
// sessionmw.session.fingerprint (a short hash of the id, never the id)
// and, when it failed, error.type, the error recorded and status Error. A
// store call outside any trace is measured but not traced: a trace of its
// own for each would be noise, and the check costs one context lookup.
// The StoreCall hook learns of a call once it returned, so the span is
// created then with its start time set back by the call's duration: no
// wrapper around the store is needed, and none hides the store's optional
// capabilities (SubjectIndex, EvictionNotifier, the in-process stores'
// faster paths) from the middleware.
//
// A recording request span also gets an event per lifecycle hook:
// sessionmw.session.created, .loaded, .renewed, .destroyed and
// sessionmw.credential.refused, with the reason, the fingerprints and the
// source.
//
// # Redis
//
// valkey-go's own integration, package
// github.com/valkey-io/valkey-go/valkeyotel, traces each Redis command
// (spans named after the command, with db.system "valkey") and measures
// command durations and dials. Build the client with it and hand it to
// [github.com/sessionmw/go/sessionmw/redisstore.NewFromClient]:
//
//	client, err := valkeyotel.NewClient(valkey.ClientOption{
//		InitAddress:  []string{"127.0.0.1:6379"},
//		DisableCache: true, // false with redisstore.WithClientCache
//	}, valkeyotel.WithTracerProvider(tp), valkeyotel.WithMeterProvider(mp))
//	if err != nil { … }
//	defer client.Close() // the caller owns a client given to NewFromClient
//	store := redisstore.NewFromClient(client, redisstore.WithTimeout(500*time.Millisecond))
//
// Its spans are children of the request's span, beside this package's
// sessionmw.store.* spans. sessionmw does not depend on valkeyotel: the
// store works with any valkey.Client.
package otelsession

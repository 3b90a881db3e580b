package otelsession_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/otelsession"
)

// A middleware whose sessions are counted by an OpenTelemetry SDK (here
// one read by hand; in production, a Prometheus or OTLP exporter).
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	hooks, err := otelsession.Hooks(otelsession.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	store := sessionmw.NewMemoryIO()
	defer store.Close()
	unregister, err := otelsession.ObserveSessions(store, otelsession.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	defer unregister()
	mw, err := sessionmw.New([]byte("an example secret of at least 32 bytes!!"),
		sessionmw.WithStore(store), sessionmw.WithHooks(hooks))
	if err != nil {
		log.Fatal(err)
	}
	defer mw.Close()
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		n, _ := sessionmw.Get[int](s, "visits")
		s.Set("visits", n+1)
	}))

	// A new visitor, who comes back once.
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest("GET", "/", nil))
	again := httptest.NewRequest("GET", "/", nil)
	again.AddCookie(first.Result().Cookies()[0])
	h.ServeHTTP(httptest.NewRecorder(), again)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				lines = append(lines, fmt.Sprintf("%s%s %d", m.Name, labels(p.Attributes.ToSlice()), p.Value))
			}
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				lines = append(lines, fmt.Sprintf("%s%s count %d", m.Name, labels(p.Attributes.ToSlice()), p.Count))
			}
		}
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
	// Output:
	// sessionmw.sessions.active 1
	// sessionmw.sessions.created{sessionmw.reason=new} 1
	// sessionmw.sessions.loaded 1
	// sessionmw.store.operation.duration{sessionmw.operation=load} count 1
	// sessionmw.store.operation.duration{sessionmw.operation=save} count 2
}

// labels formats attributes as {k=v,…}, or "" when there are none.
func labels(kvs []attribute.KeyValue) string {
	if len(kvs) == 0 {
		return ""
	}
	var s []string
	for _, kv := range kvs {
		s = append(s, string(kv.Key)+"="+kv.Value.Emit())
	}
	return "{" + strings.Join(s, ",") + "}"
}

package otelsession_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/otelsession"
)

// failing is a Store whose every call fails with err.
type failing struct{ err error }

func (f failing) Load(context.Context, string) (*sessionmw.Record, error) { return nil, f.err }
func (f failing) Save(context.Context, string, sessionmw.Update, time.Duration) error {
	return f.err
}
func (f failing) Delete(context.Context, string) error { return f.err }

// TestErrorTypes: a failed store call is counted under the class of its
// error, found through wrapping, never under its message.
func TestErrorTypes(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"store down", fmt.Errorf("redis 10.0.0.1:6379: %w: connection refused", sessionmw.ErrStoreUnavailable), otelsession.ErrorUnavailable},
		{"a store timeout is the store's unavailability", fmt.Errorf("%w: %w", sessionmw.ErrStoreUnavailable, context.DeadlineExceeded), otelsession.ErrorUnavailable},
		{"store full", fmt.Errorf("oom: %w", sessionmw.ErrStoreFull), otelsession.ErrorFull},
		{"store closed", sessionmw.ErrStoreClosed, otelsession.ErrorClosed},
		{"a renewal won the race", fmt.Errorf("save: %w", sessionmw.ErrSuperseded), otelsession.ErrorSuperseded},
		{"a delta on an ended session", fmt.Errorf("save: %w", sessionmw.ErrNotFound), otelsession.ErrorNotFound},
		{"the client went away", fmt.Errorf("load: %w", context.Canceled), otelsession.ErrorCanceled},
		{"a deadline of the caller's", context.DeadlineExceeded, otelsession.ErrorTimeout},
		{"anything else, whatever its message", errors.New("undecodable value 0xdeadbeef for session 1234"), otelsession.ErrorOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tel := newTelemetry(t)
			mw := newMW(t, tel, failing{c.err})
			tel.browser(t, mw.Handler(app())).send("GET", "/set", "")
			checkDelta(t, c.name, tel.delta(t), map[string]int64{storeErr("save", c.want): 1})
		})
	}
}

// TestAudienceLabelsEverySeries: with WithAudience, every series carries
// sessionmw.audience, so that two middlewares sharing one Hooks value (or
// one MeterProvider) keep their series apart.
func TestAudienceLabelsEverySeries(t *testing.T) {
	tel := newTelemetry(t)
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	mw := newMW(t, tel, mem, sessionmw.WithAudience("admin"))
	a := tel.browser(t, mw.Handler(app()))
	a.name = "sid-admin"
	a.do("GET", "/set")
	a.do("GET", "/get")
	a.send("GET", "/get", "sid-admin=forged")
	checkDelta(t, "traffic", tel.delta(t), map[string]int64{
		"sessionmw.sessions.created{sessionmw.audience=admin,sessionmw.reason=new}":                                            1,
		"sessionmw.sessions.loaded{sessionmw.audience=admin}":                                                                  1,
		"sessionmw.credentials.refused{sessionmw.audience=admin,sessionmw.reason=malformed,sessionmw.source=cookie:sid-admin}": 1,
		"sessionmw.store.operation.duration{sessionmw.audience=admin,sessionmw.operation=save}":                                1,
		"sessionmw.store.operation.duration{sessionmw.audience=admin,sessionmw.operation=load}":                                1,
	})
}

// TestObserveSessions: sessionmw.sessions.active follows the store's Len
// at each collection, until unregistered.
func TestObserveSessions(t *testing.T) {
	tel := newTelemetry(t)
	mem := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer mem.Close()
	unregister, err := otelsession.ObserveSessions(mem, otelsession.WithMeterProvider(tel.mp))
	if err != nil {
		t.Fatal(err)
	}
	mw := newMW(t, tel, mem)
	h := mw.Handler(app())
	const active = "sessionmw.sessions.active{}"
	for i := range 3 {
		tel.browser(t, h).do("GET", "/set")
		if got := tel.series(t)[active]; got != int64(i+1) {
			t.Fatalf("after %d new sessions: %s = %d", i+1, active, got)
		}
	}
	if err := unregister(); err != nil {
		t.Fatal(err)
	}
	if got, ok := tel.series(t)[active]; ok {
		t.Fatalf("after unregister: %s = %d, want no point", active, got)
	}
}

// TestRecordingAllocatesNothing: with the SDK's metrics and tracing, the
// hooks of an untraced read request (a load, a Loaded event) allocate
// nothing once their attribute sets exist.
func TestRecordingAllocatesNothing(t *testing.T) {
	tel := newTelemetry(t)
	h := tel.hooks(t)
	ctx := context.Background()
	load := sessionmw.Event{Op: "load", Session: "0123abcd", Duration: 150 * time.Nanosecond}
	read := sessionmw.Event{Session: "0123abcd"}
	if n := testing.AllocsPerRun(100, func() {
		h.StoreCall(ctx, load)
		h.Loaded(ctx, read)
	}); n != 0 {
		t.Fatalf("%v allocations per read request", n)
	}
}

package sessionmw_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// hookLog records every hook call as "Kind:reason" (and keeps the events).
type hookLog struct {
	mu     sync.Mutex
	calls  []string
	events []sessionmw.Event
}

func (l *hookLog) add(kind string) func(context.Context, sessionmw.Event) {
	return func(_ context.Context, e sessionmw.Event) {
		l.mu.Lock()
		defer l.mu.Unlock()
		s := kind
		switch {
		case kind == "StoreCall":
			s += ":" + e.Op
			if e.Err != nil {
				s += ":error"
			}
		case e.Reason != "":
			s += ":" + e.Reason
		}
		l.calls = append(l.calls, s)
		l.events = append(l.events, e)
	}
}

func (l *hookLog) hooks() sessionmw.Hooks {
	return sessionmw.Hooks{
		Created: l.add("Created"), Loaded: l.add("Loaded"), Renewed: l.add("Renewed"),
		Destroyed: l.add("Destroyed"), Refused: l.add("Refused"), StoreCall: l.add("StoreCall"),
	}
}

// take returns the calls since the last take, store calls left out
// unless stores is set.
func (l *hookLog) take(stores bool) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.calls {
		if stores || !strings.HasPrefix(c, "StoreCall") {
			out = append(out, c)
		}
	}
	l.calls, l.events = nil, nil
	return out
}

// TestHooksReportTheLifecycle drives scripted traffic and checks each
// hook's calls, on every server store.
func TestHooksReportTheLifecycle(t *testing.T) {
	for _, kind := range serverStores(t) {
		t.Run(kind.name, func(t *testing.T) {
			log := &hookLog{}
			clock := &testClock{}
			mw := newMW(t, clock, sessionmw.WithStore(kind.make(t)), sessionmw.WithHooks(log.hooks()),
				sessionmw.WithAutoRenew(30*time.Minute), sessionmw.WithMaxSessionsPerSubject(1),
				sessionmw.WithIdleTimeout(time.Hour))
			h := mw.Handler(lcApp(nil))
			b := newBrowser(t, h)
			step := func(name string, want []string, stores bool, do func()) {
				t.Helper()
				log.take(true)
				do()
				if got := log.take(stores); !slices.Equal(got, want) {
					t.Fatalf("%s: hooks %q, want %q", name, got, want)
				}
			}
			step("new visitor writes", []string{"StoreCall:save", "Created"}, true, func() { b.do("GET", setTarget("a", "1")) })
			step("a read", []string{"StoreCall:load", "Loaded"}, true, func() { b.do("GET", "/get") })
			step("login", []string{"Loaded", "Renewed:explicit"}, false, func() { b.do("POST", "/login?sub=alice") })
			if e := log.events; e != nil {
				t.Fatal("take did not reset")
			}
			clock.advance(31 * time.Minute)
			step("auto-renewal", []string{"Renewed:auto", "Loaded"}, false, func() { b.do("GET", "/get") })
			step("tampered cookie", []string{"Refused:bad_signature"}, false, func() {
				b.send("GET", "/get", "sid="+strings.Repeat("A", 60), false)
			})
			other := newBrowser(t, h)
			step("a second login beyond the cap", []string{"Loaded", "Renewed:explicit", "Destroyed:limit"}, false, func() {
				other.do("GET", setTarget("x", "1"))
				log.take(true)
				other.do("POST", "/login?sub=alice")
			})
			step("the capped session's cookie", []string{"Refused:unknown_id"}, false, func() { b.do("GET", "/get") })
			step("logout", []string{"Loaded", "Destroyed:logout"}, false, func() { other.do("POST", "/logout") })
			third := newBrowser(t, h)
			third.do("GET", setTarget("y", "1"))
			// Past the idle timeout, within the signature's life (TTL + one
			// touch interval). An in-process store has dropped the record at
			// its TTL (its own sweep reports the expiry); Redis, whose TTLs
			// run on the real clock, still holds it, so the middleware finds
			// it ended and reports that.
			clock.advance(time.Hour + 30*time.Second)
			expiry := "Refused:unknown_id"
			if strings.HasPrefix(kind.name, "Redis") {
				expiry = "Destroyed:expired"
			}
			step("expiry", []string{expiry}, false, func() { third.do("GET", "/get") })

			// Every event names the session by its fingerprint, never its id.
			rec := b.do("GET", setTarget("z", "1"))
			id := sessionmw.IDOf(mw, b.cookie("sid"))
			log.mu.Lock()
			defer log.mu.Unlock()
			for _, e := range log.events {
				if e.Session == id || (e.Session != "" && len(e.Session) != 8) {
					t.Fatalf("event carries %q, want a fingerprint (response %d)", e.Session, rec.Code)
				}
			}
		})
	}
}

// TestHooksRevokeAndStoreErrors: RevokeSubject reports each session it
// ends; a failing store reports its calls with their errors.
func TestHooksRevokeAndStoreErrors(t *testing.T) {
	log := &hookLog{}
	store := sessionmw.NewMemoryIO(sessionmw.WithSweepInterval(0))
	defer store.Close()
	mw := newMW(t, nil, sessionmw.WithStore(store), sessionmw.WithHooks(log.hooks()))
	h := mw.Handler(lcApp(nil))
	for range 2 {
		newBrowser(t, h).do("POST", "/login?sub=bob")
	}
	log.take(true)
	if n, err := mw.RevokeSubject(context.Background(), "bob"); n != 2 || err != nil {
		t.Fatalf("RevokeSubject = %d, %v", n, err)
	}
	if got := log.take(false); !slices.Equal(got, []string{"Destroyed:revoke", "Destroyed:revoke"}) {
		t.Fatalf("revoke: hooks %q", got)
	}

	down := &failing{err: fmt.Errorf("boom: %w", sessionmw.ErrStoreUnavailable)}
	mw2 := newMW(t, nil, sessionmw.WithStore(down), sessionmw.WithHooks(log.hooks()))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	mw2.Handler(lcApp(nil)).ServeHTTP(rec, httptest.NewRequest("GET", setTarget("a", "1"), nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	_ = req
	got := log.take(true)
	if !slices.Contains(got, "StoreCall:save:error") {
		t.Fatalf("store failure: hooks %q, want a failed save", got)
	}
}

// failing is a Store whose every call fails with err.
type failing struct{ err error }

func (f *failing) Load(context.Context, string) (*sessionmw.Record, error) { return nil, f.err }
func (f *failing) Save(context.Context, string, sessionmw.Update, time.Duration) error {
	return f.err
}
func (f *failing) Delete(context.Context, string) error { return f.err }

// TestDefaultLoggingSpeaks: without WithLogger, store errors and tampering
// reach slog.Default at Warn and above, and routine events do not.
func TestDefaultLoggingSpeaks(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)

	down := &failing{err: errors.New("boom")}
	mw, err := sessionmw.New(lcSecret, sessionmw.WithStore(down))
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	h := mw.Handler(lcApp(nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", setTarget("a", "1"), nil))
	req := httptest.NewRequest("GET", "/get", nil)
	req.Header.Set("Cookie", "sid=tampered")
	h.ServeHTTP(httptest.NewRecorder(), req)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"level=ERROR msg=\"session store error\"", "level=WARN msg=\"session credential refused\""} {
		if !strings.Contains(out, want) {
			t.Errorf("default log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "level=DEBUG") || strings.Contains(out, "level=INFO") {
		t.Errorf("default log has routine lines:\n%s", out)
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestLogsStayReadableUnderAttack: a thousand tampered cookies make one
// warning line per kind, not a thousand.
func TestLogsStayReadableUnderAttack(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, nil))
	mw := newMW(t, nil, sessionmw.WithLogger(logger), sessionmw.WithLogRateLimit(time.Hour))
	h := mw.Handler(lcApp(nil))
	for i := range 1000 {
		req := httptest.NewRequest("GET", "/get", nil)
		req.Header.Set("Cookie", fmt.Sprintf("sid=forged%d", i))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	mu.Lock()
	lines := strings.Count(buf.String(), "\n")
	mu.Unlock()
	// Two kinds: values that are not base64 (malformed), and values that
	// are but do not verify (bad_signature).
	if lines != 2 {
		t.Fatalf("%d log lines for 1000 forged cookies, want 2 (one per kind)", lines)
	}
}

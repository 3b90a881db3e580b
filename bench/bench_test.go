package bench

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// discardWriter is the response writer of every request: headers are
// kept (the middlewares add Set-Cookie, Vary, Cache-Control), the body is
// dropped. Each request gets a fresh one, for every contender alike.
type discardWriter struct{ h http.Header }

func newWriter() *discardWriter { return &discardWriter{h: http.Header{}} }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// sessionCookie returns the "name=value" of the response's first
// Set-Cookie, or "".
func (w *discardWriter) sessionCookie() string {
	sc := w.h.Values("Set-Cookie")
	if len(sc) == 0 {
		return ""
	}
	nv, _, _ := strings.Cut(sc[0], ";")
	return nv
}

func get(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// newSession creates a session through l (a new visitor who sets
// counter=1) and returns its cookie.
func newSession(tb testing.TB, h http.Handler) string {
	tb.Helper()
	w := newWriter()
	h.ServeHTTP(w, get(""))
	c := w.sessionCookie()
	if c == "" {
		tb.Fatal("a new visitor who set the counter got no Set-Cookie")
	}
	return c
}

// check sends r (a copy) through l and fails unless the handler sees
// want and the response sets a cookie exactly when wantCookie (-1: either).
// It returns the cookie the response set, if any.
func check(tb testing.TB, l *lib, r *http.Request, write bool, want, wantCookie int) string {
	tb.Helper()
	if l.get == nil {
		return ""
	}
	got := -1
	w := newWriter()
	rc := *r
	l.handler(write, func(n int) { got = n }).ServeHTTP(w, &rc)
	if got != want {
		tb.Fatalf("%s: handler saw counter %d, want %d", l.name, got, want)
	}
	if has := w.sessionCookie() != ""; wantCookie >= 0 && has != (wantCookie == 1) {
		tb.Fatalf("%s: Set-Cookie present %v, want %v (headers %v)", l.name, has, wantCookie == 1, w.h)
	}
	return w.sessionCookie()
}

// loop is the sequential benchmark loop. Each iteration restores a private
// copy of its request template (gorilla/sessions stores its registry in
// the request it is given) and uses a fresh writer: the same harness cost
// for every contender, cancelled out by the bare baseline.
func loop(b *testing.B, h http.Handler, tmpls []*http.Request) {
	r := new(http.Request)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		*r = *tmpls[i]
		h.ServeHTTP(newWriter(), r)
		if i++; i == len(tmpls) {
			i = 0
		}
	}
}

// loopParallel is loop under b.RunParallel: every goroutine goes
// round-robin over all of tmpls, starting at its own offset. (A shared
// atomic counter would bounce its cache line between the CPUs on every
// request, a cost of the harness rather than of the contenders.)
func loopParallel(b *testing.B, h http.Handler, tmpls []*http.Request) {
	var goroutines atomic.Uint64
	b.ReportAllocs()
	// b.RunParallel neither resets the timer nor keeps setup out of the
	// measurement: without this, the setup of every b.N round (creating
	// and warming the sessions) would count as benchmark time.
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]http.Request, len(tmpls))
		i := int(goroutines.Add(1)-1) * 7919 % len(tmpls) // spread the starts
		for pb.Next() {
			r := &local[i]
			*r = *tmpls[i]
			h.ServeHTTP(newWriter(), r)
			if i++; i == len(tmpls) {
				i = 0
			}
		}
	})
}

// returningRequests creates n sessions through l and returns one request
// template per session, carrying its cookie.
func returningRequests(tb testing.TB, l *lib, n int) []*http.Request {
	tb.Helper()
	reqs := make([]*http.Request, n)
	seed := l.seedHandler()
	for i := range reqs {
		c := ""
		if l.get != nil {
			c = newSession(tb, seed)
		}
		reqs[i] = get(c)
	}
	return reqs
}

// visitorsPerStore is how many new visitors BenchmarkNewVisitor sends to
// one store before it replaces the contender by a fresh instance (with
// the timer stopped). Without it the store would hold b.N sessions at the
// end, and b.N grows with speed: a faster library would be measured on a
// larger store (more cache misses, more heap to mark). With it, every
// contender works on a store of 0 to visitorsPerStore sessions.
const visitorsPerStore = 100_000

func BenchmarkNewVisitor(b *testing.B) {
	for _, mk := range memLibs {
		b.Run("lib="+mk.name, func(b *testing.B) {
			tb := &scopedTB{TB: b}
			defer tb.release()
			l := mk.new(tb)
			req := get("")
			check(b, l, req, true, 1, 1)
			h := l.handler(true, nil)
			r := new(http.Request)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				if n++; n > visitorsPerStore {
					b.StopTimer()
					tb.release()
					l = mk.new(tb)
					h, n = l.handler(true, nil), 1
					b.StartTimer()
				}
				*r = *req
				h.ServeHTTP(newWriter(), r)
			}
		})
	}
}

// scopedTB is a testing.TB whose cleanups run when release is called
// rather than at the end of the benchmark, so that a replaced contender
// (and its store) can be garbage-collected.
type scopedTB struct {
	testing.TB
	cleanups []func()
}

func (t *scopedTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// release runs the cleanups registered so far, last first.
func (t *scopedTB) release() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

func benchReturning(b *testing.B, libs []libMaker, write bool) {
	for _, mk := range libs {
		b.Run("lib="+mk.name, func(b *testing.B) {
			l := mk.new(b)
			reqs := returningRequests(b, l, 1)
			if write {
				check(b, l, reqs[0], true, 2, -1)
			} else {
				check(b, l, reqs[0], false, 1, 0)
			}
			loop(b, l.handler(write, nil), reqs)
		})
	}
}

func BenchmarkReturningRead(b *testing.B)  { benchReturning(b, memLibs, false) }
func BenchmarkReturningWrite(b *testing.B) { benchReturning(b, memLibs, true) }

// parallelSessions is how many sessions the parallel benchmarks cycle
// through.
const parallelSessions = 1000

func benchParallel(b *testing.B, write bool) {
	for _, mk := range memLibs {
		b.Run("lib="+mk.name, func(b *testing.B) {
			l := mk.new(b)
			reqs := returningRequests(b, l, parallelSessions)
			check(b, l, reqs[0], false, 1, 0)
			h := l.handler(write, nil)
			// b.RunParallel times a first run of one iteration and sizes
			// the next from it: warm every session up first, so that a
			// cold first request cannot make the final run a tiny one.
			for _, r := range reqs {
				rc := *r
				h.ServeHTTP(newWriter(), &rc)
			}
			loopParallel(b, h, reqs)
		})
	}
}

func BenchmarkParallelRead(b *testing.B)  { benchParallel(b, false) }
func BenchmarkParallelWrite(b *testing.B) { benchParallel(b, true) }

// scalingHot is how many of a ScalingRead store's sessions the benchmark
// reads, round-robin. They are created by real requests spread evenly
// through the creation of the others, so they are scattered through the
// store and through memory like any other session.
const scalingHot = 1000

// BenchmarkScalingRead reads sessions from a store holding n of them, and
// reports the heap each session costs (HeapAlloc after a GC, before and
// after creating them, over n). Sessions other than the hot ones are
// created directly through the library's store API in the form its
// middleware stores.
func BenchmarkScalingRead(b *testing.B) {
	sizes := []struct {
		label string
		n     int
	}{{"1k", 1_000}, {"100k", 100_000}, {"1M", 1_000_000}}
	for _, size := range sizes {
		for _, mk := range memLibs[1:] { // no bare: it has no sessions
			b.Run("n="+size.label+"/lib="+mk.name, func(b *testing.B) {
				l := mk.new(b)
				reqs, perSession := populate(b, l, size.n)
				check(b, l, reqs[0], false, 1, 0)
				check(b, l, reqs[len(reqs)-1], false, 1, 0)
				loop(b, l.handler(false, nil), reqs)
				// After the loop: b.Loop's start deletes reported metrics.
				b.ReportMetric(perSession, "heapB/session")
			})
		}
	}
}

// populate fills l's store with n sessions, scalingHot of them through
// real requests, and returns request templates for those and the heap
// bytes per session.
func populate(tb testing.TB, l *lib, n int) ([]*http.Request, float64) {
	tb.Helper()
	hot := min(n, scalingHot)
	stride := n / hot
	seed := l.seedHandler()
	// The hot cookies are kept in memory allocated before the first
	// measurement, so the heap delta is the store's alone.
	arena := make([]byte, 0, hot*256)
	ends := make([]int, 0, hot)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapAlloc
	for i := range n {
		switch {
		case i%stride == 0 && len(ends) < hot:
			c := newSession(tb, seed)
			if len(arena)+len(c) > cap(arena) {
				tb.Fatalf("%s: cookie of %d bytes does not fit the arena", l.name, len(c))
			}
			arena = append(arena, c...)
			ends = append(ends, len(arena))
		case l.add != nil:
			l.add()
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	perSession := (float64(ms.HeapAlloc) - float64(before)) / float64(n)
	if len(ends) != hot {
		tb.Fatalf("created %d hot sessions, want %d", len(ends), hot)
	}
	reqs := make([]*http.Request, hot)
	start := 0
	for i, end := range ends {
		reqs[i] = get(string(arena[start:end]))
		start = end
	}
	return reqs, perSession
}

func TestFloorRejectsTampering(t *testing.T) {
	l := newFloor(t)
	c := newSession(t, l.handler(true, nil))
	check(t, l, get(c), false, 1, 0)
	flip := "A"
	if c[len(c)-1] == 'A' {
		flip = "B"
	}
	for _, bad := range []string{
		c[:len(c)-1] + flip,                    // MAC changed
		strings.Replace(c, "fid=", "fid=x", 1), // id changed
		"fid=" + strings.Repeat("A", 100),
	} {
		check(t, l, get(bad), false, 0, 0)
	}
}

func TestEveryLibCounts(t *testing.T) {
	for _, mk := range memLibs[1:] {
		t.Run(mk.name, func(t *testing.T) {
			l := mk.new(t)
			c := newSession(t, l.handler(true, nil))
			if c2 := check(t, l, get(c), true, 2, -1); l.name == "gorilla" {
				c = c2 // the session is in the cookie
			}
			check(t, l, get(c), false, 2, 0)
			if l.add != nil {
				l.add()
			}
		})
	}
}

package main

import (
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
)

// loadStats are the outcomes of one load phase.
type loadStats struct {
	ok, unavailable, other atomic.Int64
	restartedAt, firstOK   atomic.Int64 // unix ns

	mu       sync.Mutex
	waits503 []time.Duration // how long each 503 took
}

// TestRedisOutageUnderLoad stops redis-server while 16 clients hammer the
// counter, then restarts it, twice: no panic, only 200 or 503, successful
// requests resume, no acknowledged count is ever lost (Redis runs with an
// fsync'ed append-only file, so what it acknowledged survives the kill),
// the idle goroutine count does not grow from one outage to the next, and
// a request that meets the outage gets its 503 fast: with the server gone
// (connections refused) the store fails at once instead of retrying until
// its 300 ms timeout.
func TestRedisOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	base, _ := startCounter(t, "-store", "redis", "-redis-url", srv.URL(), "-redis-timeout", "300ms")
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer tr.CloseIdleConnections()

	// Each client keeps its session (and last acknowledged count) across
	// both phases.
	type session struct {
		cookie            string
		last, failedSince int
	}
	sessions := make([]session, 16)

	idle := func() int {
		tr.CloseIdleConnections()
		deadline := time.Now().Add(3 * time.Second)
		n := runtime.NumGoroutine()
		for time.Now().Before(deadline) { // settle: take the lowest reading
			time.Sleep(50 * time.Millisecond)
			n = min(n, runtime.NumGoroutine())
		}
		return n
	}
	phase := func(t *testing.T) *loadStats {
		st := &loadStats{}
		var stop atomic.Bool
		var wg sync.WaitGroup
		violations := make(chan string, 100)
		for c := range sessions {
			s := &sessions[c]
			wg.Go(func() {
				for !stop.Load() {
					req, _ := http.NewRequest("GET", base+"/session_test", nil)
					if s.cookie != "" {
						req.Header.Set("Cookie", s.cookie)
					}
					start := time.Now()
					resp, err := client.Do(req)
					took := time.Since(start)
					if err != nil {
						violations <- fmt.Sprintf("client %d: %v", c, err)
						return
					}
					var n int
					fmt.Fscanf(resp.Body, "{\"test_counter\": %d}", &n)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						st.ok.Add(1)
						if sc := resp.Header.Get("Set-Cookie"); sc != "" {
							s.cookie, _, _ = strings.Cut(sc, ";")
						}
						// N must follow the last acknowledged count; it may
						// skip only as many as the failed requests in between
						// (a save Redis applied but could not acknowledge).
						if s.last > 0 && (n < s.last+1 || n > s.last+1+s.failedSince) {
							violations <- fmt.Sprintf("client %d: count %d after acknowledged %d (%d failures between)", c, n, s.last, s.failedSince)
						}
						s.last, s.failedSince = n, 0
						if st.restartedAt.Load() != 0 {
							st.firstOK.CompareAndSwap(0, time.Now().UnixNano())
						}
					case http.StatusServiceUnavailable:
						st.unavailable.Add(1)
						s.failedSince++
						st.mu.Lock()
						st.waits503 = append(st.waits503, took)
						st.mu.Unlock()
					default:
						st.other.Add(1)
						violations <- fmt.Sprintf("client %d: status %d", c, resp.StatusCode)
					}
				}
			})
		}
		time.Sleep(500 * time.Millisecond)
		srv.Stop()
		time.Sleep(700 * time.Millisecond)
		srv.Restart()
		st.restartedAt.Store(time.Now().UnixNano())
		time.Sleep(700 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		close(violations)
		for v := range violations {
			t.Error(v)
		}
		if st.unavailable.Load() == 0 {
			t.Error("no request saw the outage (503)")
		}
		if st.firstOK.Load() == 0 {
			t.Fatal("no request succeeded after Redis came back")
		}
		t.Logf("requests: %d ok, %d 503, %d other; first success %v after the restart",
			st.ok.Load(), st.unavailable.Load(), st.other.Load(), time.Duration(st.firstOK.Load()-st.restartedAt.Load()))
		slices.Sort(st.waits503)
		if n := len(st.waits503); n > 0 {
			p50, p99 := st.waits503[n/2], st.waits503[n*99/100]
			t.Logf("503s answered in %v (median), %v (p99), %v (max)", p50, p99, st.waits503[n-1])
			// 16 clients share 2 CPUs with the server: the median, not
			// the tail, tells whether the store waited for its timeout.
			if p50 > 50*time.Millisecond {
				t.Errorf("the median 503 took %v with Redis down: the store waits instead of failing fast", p50)
			}
		}
		return st
	}

	baseline := idle()
	phase(t)
	afterOne := idle()
	phase(t)
	afterTwo := idle()
	t.Logf("idle goroutines: %d before, %d after one outage, %d after two", baseline, afterOne, afterTwo)
	// The Redis client may keep a reconnected pipe or two (two goroutines
	// each); a pile-up grows with every outage and every request.
	if afterTwo > afterOne+2 || afterOne > baseline+8 {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines grow: %d, %d, %d\n%s", baseline, afterOne, afterTwo, buf[:runtime.Stack(buf, true)])
	}
}

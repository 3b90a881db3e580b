package main

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
)

// TestRedisOutageUnderLoad stops redis-server while 16 clients hammer the
// counter, then restarts it: no panic, only 200 or 503, successful
// requests resume, no acknowledged count is ever lost (Redis runs with an
// fsync'ed append-only file, so what it acknowledged survives the kill),
// and the goroutine count returns to where it was.
func TestRedisOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	base, _ := startCounter(t, "-store", "redis", "-redis-url", srv.URL(), "-redis-timeout", "300ms")
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer tr.CloseIdleConnections()

	// Warm up through Redis (so the client's connections exist), then
	// take the baseline with no client connection open.
	for range 5 {
		resp, err := client.Get(base + "/session_test")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	var (
		stop                   atomic.Bool
		ok, unavailable, other atomic.Int64
		restartedAt            atomic.Int64
		firstOK                atomic.Int64 // first success after the restart, unix ns
		wg                     sync.WaitGroup
		violations             = make(chan string, 100)
	)
	for c := range 16 {
		wg.Go(func() {
			var cookie string
			last, failedSince := 0, 0
			for !stop.Load() {
				req, _ := http.NewRequest("GET", base+"/session_test", nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				resp, err := client.Do(req)
				if err != nil {
					violations <- fmt.Sprintf("client %d: %v", c, err)
					return
				}
				var n int
				fmt.Fscanf(resp.Body, "{\"test_counter\": %d}", &n)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					ok.Add(1)
					if sc := resp.Header.Get("Set-Cookie"); sc != "" {
						cookie, _, _ = strings.Cut(sc, ";")
					}
					// N must follow the last acknowledged count; it may skip
					// only as many as the failed requests in between (a save
					// that Redis applied but could not acknowledge).
					if last > 0 && (n < last+1 || n > last+1+failedSince) {
						violations <- fmt.Sprintf("client %d: count %d after acknowledged %d (%d failures between)", c, n, last, failedSince)
					}
					last, failedSince = n, 0
					if r := restartedAt.Load(); r != 0 {
						firstOK.CompareAndSwap(0, time.Now().UnixNano())
					}
				case http.StatusServiceUnavailable:
					unavailable.Add(1)
					failedSince++
				default:
					other.Add(1)
					violations <- fmt.Sprintf("client %d: status %d", c, resp.StatusCode)
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	srv.Stop()
	time.Sleep(time.Second)
	okDuringOutage := ok.Load()
	srv.Restart()
	restartedAt.Store(time.Now().UnixNano())
	time.Sleep(time.Second)
	afterFirst := runtime.NumGoroutine()
	// A second outage: whatever the first left behind must not grow.
	srv.Stop()
	time.Sleep(500 * time.Millisecond)
	srv.Restart()
	time.Sleep(time.Second)
	afterSecond := runtime.NumGoroutine()
	stop.Store(true)
	wg.Wait()
	close(violations)
	for v := range violations {
		t.Error(v)
	}
	if unavailable.Load() == 0 {
		t.Error("no request saw the outage (503)")
	}
	if firstOK.Load() == 0 || ok.Load() == okDuringOutage {
		t.Fatal("no request succeeded after Redis came back")
	}
	recovery := time.Duration(firstOK.Load() - restartedAt.Load())
	t.Logf("requests: %d ok, %d 503, %d other; recovery %v after restart", ok.Load(), unavailable.Load(), other.Load(), recovery)
	if afterSecond > afterFirst+4 {
		t.Errorf("goroutines under load: %d after one outage, %d after two: they pile up", afterFirst, afterSecond)
	}

	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	// A little slack: the Redis client may keep a reconnected pipe or two
	// (two goroutines each); a pile-up would be hundreds.
	const slack = 6
	for runtime.NumGoroutine() > baseline+slack && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines: %d before the load, %d after recovery", baseline, runtime.NumGoroutine())
	if n := runtime.NumGoroutine(); n > baseline+slack {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before the load, %d after recovery\n%s", baseline, n, buf[:runtime.Stack(buf, true)])
	}
}

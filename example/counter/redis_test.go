package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionmw/go/internal/redistest"
)

// TestTwoInstancesShareRedis: two counter servers with the same secret on
// one Redis; a client alternating between them counts 1..20 without a gap.
func TestTwoInstancesShareRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, _ := startCounter(t, "-store", "redis", "-redis-url", srv.URL())
	b, _ := startCounter(t, "-store", "redis", "-redis-url", srv.URL(), "-redis-cache", "1m")
	c := &http.Client{}
	var cookie string
	for i := 1; i <= 20; i++ {
		base := a
		if i%2 == 0 {
			base = b
		}
		req, _ := http.NewRequest("GET", base+"/session_test", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		fmt.Fscanf(resp.Body, "{\"test_counter\": %d}", &got)
		resp.Body.Close()
		if got != i {
			t.Fatalf("request %d (instance %s): counter %d", i, base, got)
		}
		if sc := resp.Header.Get("Set-Cookie"); sc != "" {
			cookie, _, _ = strings.Cut(sc, ";")
		}
	}
	// A freshly started instance (as after a restart) accepts the cookie.
	fresh, _ := startCounter(t, "-store", "redis", "-redis-url", srv.URL())
	req, _ := http.NewRequest("GET", fresh+"/session_test", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	fmt.Fscanf(resp.Body, "{\"test_counter\": %d}", &got)
	resp.Body.Close()
	if got != 21 {
		t.Fatalf("restarted instance: counter %d, want 21", got)
	}
}

// TestRedisOutage: with Redis stopped, requests get 503 (no panic, no
// hang); once it is back, requests succeed without restarting the app.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	base, logs := startCounter(t, "-store", "redis", "-redis-url", srv.URL())
	c := &http.Client{}
	get := func(cookie string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+"/session_test", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fscan(resp.Body, &b)
		resp.Body.Close()
		return resp, b.String()
	}
	resp, _ := get("")
	cookie, _, _ := strings.Cut(resp.Header.Get("Set-Cookie"), ";")
	srv.Stop()
	for _, ck := range []string{cookie, ""} { // load fails / save fails
		resp, _ = get(ck)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("with Redis down (cookie %v): status %d, want 503", ck != "", resp.StatusCode)
		}
	}
	if l := logs.String(); !strings.Contains(l, srv.Addr()) || strings.Contains(l, cookie[4:]) {
		t.Fatal("the error log does not name the Redis address, or it contains the cookie")
	}
	srv.Restart()
	resp, _ = get(cookie)
	if resp.StatusCode != 200 {
		t.Fatalf("after Redis came back: status %d", resp.StatusCode)
	}
}

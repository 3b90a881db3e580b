package main

import (
	"context"
	"github.com/sessionmw/go/internal/syncbuf"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// startCounter runs the example on a free port and returns its base URL.
type syncBuffer = syncbuf.Buffer

func startCounter(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	logs := &syncBuffer{}
	args = append([]string{"-addr", "127.0.0.1:0", "-secret", "an example secret of at least 32 bytes!!", "-v"}, args...)
	go func() { errc <- run(ctx, args, logs, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("counter did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("counter: %v", err)
		}
	})
	return "http://" + addr, logs
}

func get(t *testing.T, c *http.Client, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, strings.TrimSpace(string(b))
}

func TestCounterExample(t *testing.T) {
	for _, store := range []string{"memory", "ristretto"} {
		t.Run(store, func(t *testing.T) {
			base, logs := startCounter(t, "-store", store)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			for _, want := range []string{`{"test_counter": 1}`, `{"test_counter": 2}`, `{"test_counter": 3}`} {
				resp, body := get(t, c, "GET", base+"/session_test")
				if body != want || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("body %q, want %q", body, want)
				}
			}
			if _, body := get(t, c, "POST", base+"/login?user=alice"); body != "logged in" {
				t.Fatalf("login: %q", body)
			}
			if _, body := get(t, c, "GET", base+"/session_test"); body != `{"test_counter": 4}` {
				t.Fatalf("after login: %q, want the count to go on", body)
			}
			if resp, _ := get(t, c, "POST", base+"/login"); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("login without a user: %d, want 400", resp.StatusCode)
			}
			resp, body := get(t, c, "GET", base+"/healthz", "X-Skip-Session", "1")
			if body != "ok" || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("healthz: %q, cookies %q", body, resp.Header.Values("Set-Cookie"))
			}
			if _, body = get(t, c, "POST", base+"/logout"); body != "logged out" {
				t.Fatalf("logout: %q", body)
			}
			if _, body = get(t, c, "GET", base+"/session_test"); body != `{"test_counter": 1}` {
				t.Fatalf("after logout: %q, want the counter to restart", body)
			}
			// Cookie attributes of the example: HttpOnly, SameSite=Lax, not Secure over http.
			resp, _ = get(t, &http.Client{}, "GET", base+"/session_test")
			sc := resp.Header.Get("Set-Cookie")
			if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
				t.Fatalf("Set-Cookie %q", sc)
			}
			if v := strings.TrimPrefix(strings.Split(sc, ";")[0], "sid="); !strings.Contains(logs.String(), "session_test") || strings.Contains(logs.String(), v) {
				t.Fatal("debug log missing, or it contains the cookie")
			}
		})
	}
}

func TestCounterRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "nosuch"},
		{"-secret", "short"},
	} {
		err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, nil)
		if err == nil {
			t.Fatalf("run %v succeeded", args)
		}
	}
}

// TestOversizedCookieHeader: a Cookie header over the server's
// MaxHeaderBytes is answered 431 by net/http before the middleware runs.
func TestOversizedCookieHeader(t *testing.T) {
	base, _ := startCounter(t)
	req, _ := http.NewRequest("GET", base+"/session_test", nil)
	req.Header.Set("Cookie", "sid="+strings.Repeat("A", 20<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("status %d, Set-Cookie %q; want 431 and no session", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
}

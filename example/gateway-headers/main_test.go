package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGatewayForwardsSessionHeaders(t *testing.T) {
	// The upstream echoes the identity headers and cookies it received.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%q auth=%q cookie=%q", r.Header.Get("X-User-Id"), r.Header.Get("Authorization"), r.Header.Get("Cookie"))
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	ready, errc := make(chan string, 1), make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", upstream.URL, "-secret", strings.Repeat("s", 32)}, io.Discard, ready)
	}()
	var base string
	select {
	case a := <-ready:
		base = "http://" + a
	case err := <-errc:
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()

	do := func(c *http.Client, method, path string, hdr ...string) string {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	anon := &http.Client{}
	if got := do(anon, "GET", "/dashboard"); got != `user="" auth="" cookie=""` {
		t.Fatalf("anonymous: %s", got)
	}
	if got := do(anon, "GET", "/dashboard", "X-User-Id", "admin", "Authorization", "Bearer forged"); got != `user="" auth="" cookie=""` {
		t.Fatalf("spoofing: %s", got)
	}
	jar, _ := cookiejar.New(nil)
	user := &http.Client{Jar: jar}
	if got := do(user, "POST", "/login?user=fiona"); !strings.Contains(got, "fiona") {
		t.Fatalf("login: %s", got)
	}
	got := do(user, "GET", "/dashboard", "X-User-Id", "admin", "Cookie", "theme=dark")
	if got != `user="fiona" auth="Bearer demo-token-for-fiona" cookie="theme=dark"` {
		t.Fatalf("logged in (and spoofing): %s", got)
	}
}

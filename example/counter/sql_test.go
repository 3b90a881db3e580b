package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/pgtest"
)

// counterClient sends GET /session_test with the session cookie it was
// given last, and returns the status and the counter.
type counterClient struct {
	t      *testing.T
	cookie string
}

func (c *counterClient) get(base string) (int, int) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", base+"/session_test", nil)
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var n int
	fmt.Fscanf(resp.Body, "{\"test_counter\": %d}", &n)
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		c.cookie, _, _ = strings.Cut(sc, ";")
	}
	return resp.StatusCode, n
}

// TestPostgres: two counter instances on one PostgreSQL count 1..20 for a
// client alternating between them; with the server killed (SIGKILL),
// requests get 503 at once; once it is back, the same instances go on
// from the last count, which the kill did not lose.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	a, logs := startCounter(t, "-store", "postgres", "-pg-url", srv.ConnString())
	b, _ := startCounter(t, "-store", "postgres", "-pg-url", srv.ConnString())
	c := &counterClient{t: t}
	for i := 1; i <= 20; i++ {
		base := []string{a, b}[i%2]
		if status, n := c.get(base); status != 200 || n != i {
			t.Fatalf("request %d (instance %s): status %d, counter %d", i, base, status, n)
		}
	}
	srv.Kill()
	start := time.Now()
	for _, base := range []string{a, b} {
		if status, _ := c.get(base); status != http.StatusServiceUnavailable {
			t.Fatalf("with PostgreSQL killed: status %d, want 503", status)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("two requests took %v to fail: not fast", d)
	}
	if l := logs.String(); !strings.Contains(l, srv.Addr()) || strings.Contains(l, c.cookie[strings.Index(c.cookie, "=")+1:]) {
		t.Fatal("the error log does not name the server, or it contains the cookie")
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, n := c.get(a)
		if status == 200 {
			if n != 21 {
				t.Fatalf("after the restart: counter %d, want 21 (20 were acknowledged)", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery within 10s of the restart: status %d", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status, n := c.get(b); status != 200 || n != 22 {
		t.Fatalf("the other instance after the restart: status %d, counter %d; want 200, 22", status, n)
	}
}

// TestSQLite: the counter keeps counting across a restart of the app on
// the same file (the first instance stops before the second starts).
func TestSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	c := &counterClient{t: t}
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		ready, errc := make(chan string, 1), make(chan error, 1)
		args := []string{"-addr", "127.0.0.1:0", "-secret", "an example secret of at least 32 bytes!!", "-store", "sqlite", "-sqlite-path", path}
		go func() { errc <- run(ctx, args, &syncBuffer{}, ready) }()
		var base string
		select {
		case addr := <-ready:
			base = "http://" + addr
		case err := <-errc:
			cancel()
			t.Fatalf("counter did not start: %v", err)
		}
		for i := 1; i <= 5; i++ {
			want := round*5 + i
			if status, n := c.get(base); status != 200 || n != want {
				cancel()
				t.Fatalf("round %d, request %d: status %d, counter %d; want %d", round, i, status, n, want)
			}
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("counter round %d: %v", round, err)
		}
	}
}

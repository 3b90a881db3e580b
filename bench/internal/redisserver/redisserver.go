// Package redisserver starts a throw-away redis-server for the Redis
// benchmarks: one process on a free 127.0.0.1 port, without persistence,
// killed when the benchmark ends (and by the kernel if the test binary dies
// first). It is a small copy of what the library's internal/redistest does,
// which this separate module cannot import.
package redisserver

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Start starts redis-server and returns its host:port. It skips the
// benchmark when redis-server is not installed.
func Start(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not found; install it with: apt-get install -y redis-server")
	}
	var lastErr error
	for range 5 { // the free port may be taken before the server binds it
		port, err := FreePort()
		if err != nil {
			tb.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cmd := exec.Command(bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", tb.TempDir(),
			"--daemonize", "no", "--loglevel", "warning")
		setProcAttr(cmd)
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start redis-server: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		if lastErr = waitPing(addr, done); lastErr == nil {
			tb.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
			})
			return addr
		}
		_ = cmd.Process.Kill()
		<-done
	}
	tb.Fatalf("redis-server did not start: %v", lastErr)
	return ""
}

func waitPing(addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited during start-up", addr)
		default:
		}
		err := ping(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Package redistest starts real redis-server processes for tests: a single
// server on a free loopback port, or a small local cluster. Every process
// runs in its own temporary directory without persistence
// (--save "" --appendonly no) and is killed by t.Cleanup.
//
// When redis-server is not on PATH, Start and StartCluster skip the test with
// a message saying how to install it, except under CI (CI=true in the
// environment), where they fail it: a CI run must not pass by skipping.
//
// The package speaks just enough RESP to check that a server is up; tests
// talk to the servers through the client library they exercise, or through
// [Server.CLI].
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint is the message of the skip (or, under CI, the failure) when
// redis-server is missing.
const InstallHint = "redis-server not found; install it with: apt-get install -y redis-server"

// startTimeout bounds how long a server may take to answer PING, and
// clusterTimeout how long a cluster may take to report cluster_state:ok.
const (
	startTimeout   = 10 * time.Second
	clusterTimeout = 30 * time.Second
	startAttempts  = 5
)

// Server is one redis-server process owned by a test.
type Server struct {
	tb      testing.TB
	bin     string
	dir     string
	port    int
	busPort int // cluster bus port, 0 outside a cluster
	extra   []string
	pass    string // from --requirepass in extra

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server on a free 127.0.0.1 port in a temporary
// directory and waits until it answers PING. extraArgs are appended to the
// command line (for example "--maxmemory", "1mb"). The server is killed when
// the test ends.
func Start(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	bin := lookPath(tb, "redis-server")
	return start(tb, bin, false, extraArgs)
}

func start(tb testing.TB, bin string, cluster bool, extra []string) *Server {
	tb.Helper()
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), extra: extra}
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--requirepass" {
			s.pass = extra[i+1]
		}
	}
	tb.Cleanup(s.Stop) // registered after TempDir: runs before its removal
	var err error
	for range startAttempts {
		// Another process may take the port between our probe and the
		// server's bind: pick again if the server exited.
		s.port = freePort(tb)
		if cluster {
			s.busPort = freePort(tb)
		}
		var exited bool
		if exited, err = s.launch(); err == nil {
			return s
		} else if !exited {
			break
		}
	}
	tb.Fatalf("redistest: %v", err)
	return nil
}

// Addr returns the server's host:port, for example "127.0.0.1:40123".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns a redis:// URL for the server (database 0, no password).
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Port returns the server's TCP port.
func (s *Server) Port() int { return s.port }

// Stop kills the server and waits for it to exit, so that its port is free
// and clients see their connections fail. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) signal(sig os.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.tb.Fatalf("redistest: signal %v: server on port %d is not running", sig, s.port)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd, s.done = nil, nil
}

// Restart stops the server if it runs and starts it again on the same port
// and directory (its data is gone: it has no persistence, but a cluster
// node keeps its nodes.conf). It fails the test if the server does not come
// back.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	s.stopLocked()
	s.mu.Unlock()
	if _, err := s.launch(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// CLI runs redis-cli against the server with args (for example "PTTL", "k")
// and returns its trimmed output, authenticating with the server's
// --requirepass if it has one. It fails the test if redis-cli fails.
func (s *Server) CLI(args ...string) string {
	s.tb.Helper()
	cli := lookPath(s.tb, "redis-cli")
	full := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.port)}
	if s.pass != "" {
		full = append(full, "--no-auth-warning", "-a", s.pass)
	}
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, full...).CombinedOutput()
	if err != nil {
		s.tb.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// launch starts the process on s.port and waits until this very process
// (not another one on the same port) answers. exited reports a failure
// because the process ended (typically: the port was taken).
func (s *Server) launch() (exited bool, err error) {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--logfile", "redis.log",
		"--daemonize", "no",
	}
	if s.busPort != 0 {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(s.busPort),
			"--cluster-node-timeout", "5000",
		)
	}
	args = append(args, s.extra...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			s.mu.Lock()
			s.cmd, s.done = nil, nil
			s.mu.Unlock()
			return true, fmt.Errorf("redis-server on port %d exited during start-up: %s", s.port, s.logTail())
		default:
		}
		info, err := do(s.Addr(), s.pass, "INFO", "server")
		if err == nil && infoField(info, "process_id") == strconv.Itoa(cmd.Process.Pid) {
			return false, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return false, fmt.Errorf("redis-server on port %d did not answer within %v (last error: %v): %s",
				s.port, startTimeout, err, s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Cluster is a local Redis Cluster of primaries without replicas.
type Cluster struct {
	// Nodes are the cluster's servers, each owning a share of the slots.
	Nodes []*Server
}

// StartCluster starts n (at least 3) cluster-enabled servers, joins them
// with redis-cli --cluster create (no replicas), and waits until every node
// reports cluster_state:ok. Everything is killed when the test ends.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if n < 3 {
		tb.Fatalf("redistest: StartCluster: need at least 3 nodes, got %d", n)
	}
	bin := lookPath(tb, "redis-server")
	cli := lookPath(tb, "redis-cli")
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, start(tb, bin, true, nil))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	deadline := time.Now().Add(clusterTimeout)
	for _, node := range c.Nodes {
		for {
			info, err := Do(node.Addr(), "CLUSTER", "INFO")
			if err == nil && infoField(info, "cluster_state") == "ok" &&
				infoField(info, "cluster_known_nodes") == strconv.Itoa(n) {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("redistest: cluster node %s not ok after %v: %v\n%s", node.Addr(), clusterTimeout, err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// Addrs returns the host:port of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Do sends one command to the server at addr over a fresh connection and
// returns its reply as text: a status or bulk string, or an integer in
// decimal. An error reply, a nil reply or an array is returned as an error.
// It is meant for readiness checks, not as a client.
func Do(addr string, args ...string) (string, error) {
	return do(addr, "", args...)
}

// do is Do, after AUTH with pass unless pass is empty.
func do(addr, pass string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b bytes.Buffer
	cmds := [][]string{args}
	if pass != "" {
		cmds = [][]string{{"AUTH", pass}, args}
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "*%d\r\n", len(c))
		for _, a := range c {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	if pass != "" {
		if _, err := readReply(r); err != nil {
			return "", fmt.Errorf("AUTH: %w", err)
		}
	}
	return readReply(r)
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("redistest: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redistest: nil or bad bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("redistest: unsupported reply %q", line)
	}
}

// infoField returns the value of "name:value" in an INFO-style reply.
func infoField(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}

func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := strings.Replace(InstallHint, "redis-server", name, 1)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

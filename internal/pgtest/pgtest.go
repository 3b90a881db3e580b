// Package pgtest starts real PostgreSQL servers for tests: each one a
// fresh cluster (initdb) in its own temporary directory, listening on a
// free 127.0.0.1 port with trust authentication for the user "postgres",
// no Unix socket and fsync off, killed by t.Cleanup.
//
// PostgreSQL refuses to run as root. When the test runs as root (as CI
// does), initdb and postgres run as the "postgres" system user (or, if
// there is none, "nobody"), in a directory that user owns; otherwise they
// run as the test's own user.
//
// The binaries are looked up on PATH (initdb) and then in Debian's
// /usr/lib/postgresql/VERSION/bin, newest version first. When they are
// missing, Start skips the test with a message saying how to install them,
// except under CI (CI=true in the environment), where it fails it: a CI
// run must not pass by skipping.
//
// [Server.Kill] sends SIGKILL to the postmaster and every backend at
// once, as a crash would (the backends call setsid, so they are found as
// the postmaster's children, not as its process group), and
// [Server.Restart] brings the same data directory back through crash
// recovery. The package works on Linux (it reads /proc); elsewhere Kill
// and Pause reach the postmaster only.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint is the message of the skip (or, under CI, the failure) when
// the PostgreSQL server binaries are missing.
const InstallHint = "PostgreSQL server binaries (initdb, postgres) not found; install them with: apt-get install -y postgresql"

const (
	startTimeout  = 20 * time.Second // initdb, or a start with crash recovery
	startAttempts = 5                // another process may take the free port first
)

// Server is one PostgreSQL cluster owned by a test.
type Server struct {
	tb   testing.TB
	bin  string // directory of initdb and postgres
	dir  string // owned by the server's user; data/ and server.log inside
	port int
	cred *syscall.Credential // nil: run as the test's user

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	paused []int         // the backends Pause stopped
}

// Start initialises a cluster in a temporary directory, starts postgres on
// a free 127.0.0.1 port and waits until it accepts connections. Extra
// settings (name, value pairs such as "max_connections", "20") are passed
// as -c options. The server is killed and its directory removed when the
// test ends.
func Start(tb testing.TB, settings ...string) *Server {
	tb.Helper()
	if len(settings)%2 != 0 {
		tb.Fatalf("pgtest: Start: settings come in name, value pairs, got %q", settings)
	}
	s := &Server{tb: tb, bin: binDir(tb)}
	cred, err := serverCredential()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	s.cred = cred
	if s.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		s.Kill()
		_ = os.RemoveAll(s.dir)
	})
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			tb.Fatalf("pgtest: give %s to the server's user: %v", s.dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	initdb := s.command(ctx, "initdb", "-D", s.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	conf := "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\nfsync = off\n" +
		"logging_collector = off\nlog_min_messages = warning\n"
	for i := 0; i < len(settings); i += 2 {
		conf += settings[i] + " = '" + strings.ReplaceAll(settings[i+1], "'", "''") + "'\n"
	}
	if err := appendFile(filepath.Join(s.dataDir(), "postgresql.conf"), conf); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	for range startAttempts {
		s.port = freePort(tb)
		exited, err := s.launch()
		if err == nil {
			return s
		}
		if !exited {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	tb.Fatalf("pgtest: postgres did not start on a free port in %d attempts: %s", startAttempts, s.logTail())
	return nil
}

// Addr returns the server's host:port, for example "127.0.0.1:40123".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// ConnString returns a URL for database "postgres" as user "postgres"
// (no password: trust authentication), without TLS.
func (s *Server) ConnString() string {
	return "postgres://postgres@" + s.Addr() + "/postgres?sslmode=disable"
}

// Exec runs sql on a fresh connection as the superuser, failing the test
// on error. It is meant for setup and inspection.
func (s *Server) Exec(sql string, args ...any) {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.ConnString())
	if err != nil {
		s.tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		s.tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Kill sends SIGKILL to the server's every process (postmaster and
// backends) and waits until they are gone, so that clients see their
// connections fail at once and the port and shared memory are free.
// Nothing is shut down cleanly: committed transactions survive through
// the write-ahead log, as after a crash. Killing a stopped server does
// nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pm := s.cmd.Process.Pid
	// Stopped, the postmaster forks no backend while its children are
	// listed; SIGKILL ends a stopped process too.
	_ = syscall.Kill(pm, syscall.SIGSTOP)
	kids := children(pm)
	_ = syscall.Kill(pm, syscall.SIGKILL)
	for _, pid := range kids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.done
	// The backends are the postmaster's children, not ours: wait until
	// they are gone too.
	deadline := time.Now().Add(startTimeout)
	for _, pid := range kids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.cmd, s.done, s.paused = nil, nil, nil
}

// Restart starts a killed server again on the same port and data
// directory (crash recovery replays the write-ahead log), killing it
// first if it runs. It fails the test if the server does not come back.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	deadline := time.Now().Add(startTimeout)
	for {
		exited, err := s.launch()
		if err == nil {
			return
		}
		// Right after a kill the old shared memory or the port may still
		// be held for a moment.
		if !exited || time.Now().After(deadline) {
			s.tb.Fatalf("pgtest: restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause freezes every process of the server with SIGSTOP: its port stays
// open and the kernel still accepts connections, but nothing is answered,
// as with a hung server, until Resume. Kill kills a paused server too.
func (s *Server) Pause() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pm := s.running()
	_ = syscall.Kill(pm, syscall.SIGSTOP) // first: it forks no more backends
	s.paused = children(pm)
	for _, pid := range s.paused {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
}

// Resume lets a paused server run again.
func (s *Server) Resume() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pm := s.running()
	for _, pid := range s.paused {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	s.paused = nil
	_ = syscall.Kill(pm, syscall.SIGCONT)
}

// running returns the postmaster's pid, failing the test if it is not
// running. s.mu must be held.
func (s *Server) running() int {
	s.tb.Helper()
	if s.cmd == nil {
		s.tb.Fatalf("pgtest: server on port %d is not running", s.port)
	}
	return s.cmd.Process.Pid
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// command is exec.Command for one of the server's binaries, run as the
// server's user.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

// launch starts postgres on s.port and waits until this very server (not
// another one on the same port) answers. exited reports a failure because
// the process ended (typically: the port was taken).
func (s *Server) launch() (exited bool, err error) {
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(), "-p", strconv.Itoa(s.port))
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer log.Close() // the child keeps its own descriptor
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procAttr(s.cred)
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start postgres: %w", err)
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
			return true, fmt.Errorf("postgres on port %d exited during start-up: %s", s.port, s.logTail())
		default:
		}
		dir, err := s.dataDirection()
		if err == nil && dir == s.dataDir() {
			return false, nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return false, fmt.Errorf("postgres on port %d did not answer within %v (last error: %v): %s",
				s.port, startTimeout, err, s.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dataDirection asks the server on s.port which data directory it serves.
func (s *Server) dataDirection() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.ConnString()+"&connect_timeout=1")
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var dir string
	err = conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir)
	return dir, err
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}

// serverCredential is the user the server runs as: nil (the test's own)
// unless the test runs as root, which PostgreSQL refuses.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var u *user.User
	var err error
	for _, name := range []string{"postgres", "nobody"} {
		if u, err = user.Lookup(name); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and found neither a postgres nor a nobody user to run the server as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// debianBinGlob is where Debian's postgresql packages put the server
// binaries, which are not on PATH.
var debianBinGlob = "/usr/lib/postgresql/*/bin/initdb"

// binDir returns the directory holding initdb and postgres, or skips (or
// under CI fails) the test.
func binDir(tb testing.TB) string {
	tb.Helper()
	if dir, ok := findBinDir(); ok {
		return dir
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(InstallHint)
	}
	tb.Skip(InstallHint)
	return ""
}

func findBinDir() (string, bool) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), true
		}
	}
	found, _ := filepath.Glob(debianBinGlob)
	// Newest major version first: "9.6" < "15" numerically, not as text.
	slices.SortFunc(found, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, p := range found {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), true
		}
	}
	return "", false
}

// versionOf returns the major version in a path .../postgresql/VERSION/bin/initdb.
func versionOf(initdb string) int {
	v := filepath.Base(filepath.Dir(filepath.Dir(initdb)))
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("pgtest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

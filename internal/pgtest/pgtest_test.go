package pgtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// query runs sql on a fresh connection and returns the first column of
// its one row as text.
func query(s *Server, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.ConnString())
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, sql).Scan(&v)
	return v, err
}

func TestStartKillRestart(t *testing.T) {
	s := Start(t, "max_connections", "20")
	if got, err := query(s, "SHOW max_connections"); err != nil || got != "20" {
		t.Fatalf("max_connections = %q, %v; want the setting passed to Start", got, err)
	}
	if got, err := query(s, "SHOW fsync"); err != nil || got != "off" {
		t.Fatalf("fsync = %q, %v; want off", got, err)
	}
	s.Exec("CREATE TABLE t (v int)")
	s.Exec("INSERT INTO t VALUES (42)") // committed: must survive the kill

	s.Kill()
	if _, err := query(s, "SELECT 1"); err == nil {
		t.Fatal("the server answered after Kill")
	}
	s.Kill() // idempotent

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if got, err := query(s, "SELECT v::text FROM t"); err != nil || got != "42" {
		t.Fatalf("after kill and restart: %q, %v; want the committed row 42", got, err)
	}
}

// As root the server must run as another user; as anyone else, as the
// test's own user.
func TestServerUser(t *testing.T) {
	s := Start(t)
	got, err := query(s, "SELECT pg_backend_pid()::text")
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(got)
	st, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		t.Skipf("no /proc to check the backend's user: %v", err)
	}
	uid := st.Sys().(*syscall.Stat_t).Uid
	switch euid := os.Geteuid(); {
	case euid == 0 && uid == 0:
		t.Fatal("the backend runs as root")
	case euid != 0 && uid != uint32(euid):
		t.Fatalf("the backend runs as uid %d, want the test's %d", uid, euid)
	}
}

func TestTwoServersDoNotShare(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on one address %s", a.Addr())
	}
	a.Exec("CREATE TABLE only_in_a (v int)")
	if _, err := query(b, "SELECT count(*)::text FROM only_in_a"); err == nil {
		t.Fatal("a table created on one server is visible on the other")
	}
}

func TestPauseResume(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	open, err := pgx.Connect(ctx, s.ConnString()) // served by a backend before the pause
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(ctx)
	s.Pause()
	start := time.Now()
	if got, err := query(s, "SELECT 1::text"); err == nil {
		t.Fatalf("paused server answered a new connection: %q", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("a paused server failed a query in %v; it should hang until the client's timeout", d)
	}
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := open.Exec(qctx, "SELECT 1"); err == nil {
		t.Fatal("a paused server's backend answered on an open connection")
	}
	s.Resume()
	if got, err := query(s, "SELECT 1::text"); err != nil || got != "1" {
		t.Fatalf("after Resume: %q, %v", got, err)
	}
	s.Pause() // Kill (in Cleanup) must kill a paused server too
}

// Kill ends the backends too, not only the postmaster.
func TestKillEndsBackends(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	open, err := pgx.Connect(ctx, s.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close(ctx)
	pid := int(open.PgConn().PID())
	if !alive(pid) {
		t.Fatalf("backend %d not found", pid)
	}
	s.Kill()
	if alive(pid) {
		t.Fatalf("backend %d outlived Kill", pid)
	}
	if _, err := open.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("an open connection still works after Kill")
	}
}

// fakeTB records how a helper gave up, and stops it as Skip/Fatal would.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

type stopped struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	panic(stopped{})
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed = fmt.Sprint(args...)
	panic(stopped{})
}

func TestMissingBinaries(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantSkip bool
	}{
		{"developer machine skips", "", true},
		{"CI fails instead of passing by skipping", "true", false},
		{"only CI=true counts as CI", "1", true},
	}
	saved := debianBinGlob
	t.Cleanup(func() { debianBinGlob = saved })
	debianBinGlob = t.TempDir() + "/*/bin/initdb"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(stopped); !ok {
							panic(r)
						}
					}
				}()
				Start(f)
				t.Fatal("Start returned without PostgreSQL binaries")
			}()
			got := f.failed
			if tc.wantSkip {
				got = f.skipped
			}
			if got != InstallHint {
				t.Fatalf("skipped=%q failed=%q; want %s with %q", f.skipped, f.failed,
					map[bool]string{true: "skip", false: "failure"}[tc.wantSkip], InstallHint)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		path string
		want int
	}{
		{"/usr/lib/postgresql/15/bin/initdb", 15},
		{"/usr/lib/postgresql/9.6/bin/initdb", 9}, // numeric, so 9.6 sorts below 15
		{"/usr/lib/postgresql/x/bin/initdb", 0},
	}
	for _, tc := range tests {
		if got := versionOf(tc.path); got != tc.want {
			t.Errorf("versionOf(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}

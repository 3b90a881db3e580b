package redistest

import (
	"fmt"
	"strings"
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if got := s.CLI("PING"); got != "PONG" {
		t.Fatalf("PING = %q, want PONG", got)
	}
	if got := s.CLI("CONFIG", "GET", "save"); !strings.HasSuffix(got, "save\n") && !strings.HasSuffix(got, "save") {
		t.Fatalf("CONFIG GET save = %q, want persistence off", got)
	}
	if got := s.CLI("CONFIG", "GET", "appendonly"); !strings.HasSuffix(got, "no") {
		t.Fatalf("CONFIG GET appendonly = %q, want no", got)
	}
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") || !strings.Contains(s.URL(), s.Addr()) {
		t.Fatalf("URL() = %q does not name Addr() = %q", s.URL(), s.Addr())
	}
	s.CLI("SET", "k", "v")

	s.Stop()
	if _, err := Do(s.Addr(), "PING"); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Stop() // idempotent

	addr := s.Addr()
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr())
	}
	if got, err := Do(s.Addr(), "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Restart = %q, %v", got, err)
	}
	if got, err := Do(s.Addr(), "EXISTS", "k"); err != nil || got != "0" {
		t.Fatalf("EXISTS k after Restart = %q, %v; want 0 (no persistence)", got, err)
	}
}

func TestTwoServersDoNotShare(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on one address %s", a.Addr())
	}
	a.CLI("SET", "k", "a")
	if got := b.CLI("EXISTS", "k"); got != "0" {
		t.Fatalf("key set on one server visible on the other: EXISTS = %q", got)
	}
}

func TestExtraArgs(t *testing.T) {
	s := Start(t, "--maxmemory", "2mb")
	if got := s.CLI("CONFIG", "GET", "maxmemory"); !strings.HasSuffix(got, "2097152") {
		t.Fatalf("CONFIG GET maxmemory = %q, want 2097152", got)
	}
}

func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3)
	if len(c.Nodes) != 3 || len(c.Addrs()) != 3 {
		t.Fatalf("cluster has %d nodes, %d addrs; want 3", len(c.Nodes), len(c.Addrs()))
	}
	for _, n := range c.Nodes {
		info, err := Do(n.Addr(), "CLUSTER", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		if got := infoField(info, "cluster_slots_assigned"); got != "16384" {
			t.Errorf("%s: cluster_slots_assigned = %q, want 16384", n.Addr(), got)
		}
	}
}

func TestDoErrors(t *testing.T) {
	s := Start(t)
	tests := []struct {
		name string
		args []string
	}{
		{"error reply", []string{"NOSUCHCOMMAND"}}, // server answers -ERR
		{"nil reply", []string{"GET", "missing"}},  // $-1 is not text
		{"array reply", []string{"KEYS", "*"}},     // arrays are not supported
		{"wrong arity", []string{"GET"}},           // -ERR wrong number of arguments
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Do(s.Addr(), tc.args...); err == nil {
				t.Fatalf("Do(%q) = %q, want an error", tc.args, got)
			}
		})
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

func TestMissingBinary(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantSkip bool
	}{
		{"developer machine skips", "", true},
		{"CI fails instead of passing by skipping", "true", false},
		{"only CI=true counts as CI", "1", true},
	}
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
				t.Fatal("Start returned without redis-server on PATH")
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

func TestPassword(t *testing.T) {
	s := Start(t, "--requirepass", "pw")
	if _, err := Do(s.Addr(), "PING"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without AUTH: %v, want NOAUTH", err)
	}
	if got := s.CLI("PING"); got != "PONG" {
		t.Fatalf("CLI PING = %q, want PONG (CLI authenticates)", got)
	}
	s.Restart()
	if got := s.CLI("PING"); got != "PONG" {
		t.Fatalf("CLI PING after Restart = %q", got)
	}
}

func TestPauseResume(t *testing.T) {
	s := Start(t)
	s.Pause()
	if got, err := Do(s.Addr(), "PING"); err == nil {
		t.Fatalf("paused server answered %q", got)
	}
	s.Resume()
	if got, err := Do(s.Addr(), "PING"); err != nil || got != "PONG" {
		t.Fatalf("PING after Resume = %q, %v", got, err)
	}
	s.Pause() // Stop (in Cleanup) must kill a paused server too
}

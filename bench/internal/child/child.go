// Package child starts the servers the load and flood tests measure, each
// as its own process on 127.0.0.1, stops them, and describes the machine
// they ran on for the reports.
package child

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a server process started by Start.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// Start runs bin with the arguments args gives for a free loopback
// address, its output going to the file logPath, and waits until it
// answers GET /healthz (sent with X-Skip-Session). The kernel kills it if
// the caller dies without calling Stop.
func Start(ctx context.Context, bin string, args func(addr string) []string, logPath string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args(addr)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		out, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.done:
			return errors.New("server exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
		req.Header.Set("X-Skip-Session", "1")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("server did not answer /healthz within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid returns the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// LogSize returns how many bytes the server has written so far.
func (s *Server) LogSize() int64 {
	fi, err := s.log.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// RSS returns the server's resident set size in bytes (0 if unknown).
func (s *Server) RSS() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.Pid()) + "/status")
	if err != nil {
		return 0
	}
	m := reRSS.FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

var reRSS = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)

// Stop sends SIGTERM, then SIGKILL after 5 s, and waits for the process.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
}

// Env is what a driver needs besides the servers: wrk, its own binary
// (which serves the counters with -serve) and a scratch directory.
type Env struct {
	Wrk, Self, Tmp string
}

// Setup checks that the counter example was built (counter is its path),
// finds wrk (the binary named wrk) and the running binary, and makes a
// scratch directory named after prefix, which Cleanup removes.
func Setup(counter, wrk, prefix string) (env Env, err error) {
	if counter == "" {
		return env, errors.New("-counter: the built counter example is required")
	}
	if env.Wrk, err = exec.LookPath(wrk); err != nil {
		return env, fmt.Errorf("wrk not found (apt-get install -y wrk): %w", err)
	}
	if env.Self, err = os.Executable(); err != nil {
		return env, err
	}
	env.Tmp, err = os.MkdirTemp("", prefix)
	return env, err
}

// Cleanup removes the scratch directory.
func (e Env) Cleanup() { os.RemoveAll(e.Tmp) }

// Command is exec.CommandContext for a helper (wrk) that the kernel kills
// if the caller dies.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	setProcAttr(cmd)
	return cmd
}

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Run describes one run of a driver, for the head of its report.
type Run struct {
	Title, Script      string // the section's title, the script that writes it
	Started            time.Time
	LoadStart, LoadEnd string // LoadAvg at the start and the end
	Library, Command   string // what was measured, how (may be empty)
	Sharing            string // who shares the machine's CPUs
}

// Preamble writes the title of a generated report section and the
// circumstances of run r.
func Preamble(b *strings.Builder, r Run) {
	fmt.Fprintf(b, "## %s\n\nGenerated by `%s`; do not edit by hand.\n\n", r.Title, r.Script)
	fmt.Fprintf(b, "- Date: %s\n", r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "- Machine: %s; %s\n", machine(), r.Sharing)
	fmt.Fprintf(b, "- Load average (1/5/15 min): %s at the start, %s at the end\n", r.LoadStart, r.LoadEnd)
	if r.Library != "" {
		fmt.Fprintf(b, "- Library: %s\n", r.Library)
	}
	if r.Command != "" {
		fmt.Fprintf(b, "- Command: `%s`\n", r.Command)
	}
}

// machine describes the machine: the CPUs, their model and the Go version.
func machine() string {
	cpu := "unknown"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(info); m != nil {
			cpu = string(m[1])
		}
	}
	goVersion := "unknown"
	if out, err := exec.Command("go", "version").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("`nproc` = %d, CPU %q, %s", runtime.NumCPU(), cpu, goVersion)
}

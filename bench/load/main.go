// Command load is the counter load test: it runs the repository's counter
// example (sessionmw on MemoryIO), the same counter on alexedwards/scs
// (memstore) and a bare counter without sessions, each as its own process
// on 127.0.0.1, drives each with wrk for a bounded time, and writes req/s
// and latency percentiles into the load section of BENCHMARKS.md.
// bench/load/run builds everything and calls it; everything it starts is
// stopped when it returns (and killed by the kernel if it dies).
//
//	load -counter /path/to/counter -duration 10s -threads 2 -conns 32 -rounds 3 -md ../BENCHMARKS.md
//
// With -serve scs|bare -addr host:port it is one of the two servers
// instead.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/sessionmw/go/bench/internal/child"
	"github.com/sessionmw/go/bench/internal/mdsection"
)

//go:embed session.lua
var luaScript string

func main() {
	serve := flag.String("serve", "", "run a server instead: scs, bare, upstream or proxy")
	upstream := flag.String("upstream", "", "with -serve proxy: the upstream URL")
	gatewayBin := flag.String("gateway", "", "compare this built cmd/sessiongw with a bare reverse proxy instead of the counters")
	addr := flag.String("addr", "127.0.0.1:0", "with -serve: address to listen on")
	counter := flag.String("counter", "", "the built counter example (../example/counter)")
	wrk := flag.String("wrk", "wrk", "the wrk binary")
	duration := flag.Duration("duration", 10*time.Second, "wrk -d per server and round")
	threads := flag.Int("threads", 2, "wrk -t")
	conns := flag.Int("conns", 32, "wrk -c")
	rounds := flag.Int("rounds", 5, "rounds over the three servers (interleaved); the median is reported")
	md := flag.String("md", "../BENCHMARKS.md", "Markdown file whose load section is rewritten (empty: none)")
	raw := flag.String("raw", "results/load.txt", "file for wrk's raw output (empty: none)")
	command := flag.String("command", "", "the command line to quote in the report")
	library := flag.String("library", "", "which library state was measured, to quote in the report")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config{counter: *counter, wrk: *wrk, duration: *duration, threads: *threads, conns: *conns,
		rounds: *rounds, md: *md, raw: *raw, command: *command, library: *library}
	var err error
	switch {
	case *serve == "upstream" || *serve == "proxy":
		err = runProxyServer(ctx, *serve, *addr, *upstream)
	case *serve != "":
		err = runServer(ctx, *serve, *addr)
	case *gatewayBin != "":
		err = driveGateway(ctx, cfg, *gatewayBin)
	default:
		err = drive(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// runServer serves GET /session_test like example/counter: increment
// test_counter and answer {"test_counter": N}. "scs" keeps the counter in
// an scs session on memstore; "bare" has no sessions and counts globally.
func runServer(ctx context.Context, kind, addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	var h http.Handler = mux
	switch kind {
	case "scs":
		sm := scs.New()
		sm.Store = memstore.New()
		mux.HandleFunc("GET /session_test", func(w http.ResponseWriter, r *http.Request) {
			n := sm.GetInt(r.Context(), "test_counter") + 1
			sm.Put(r.Context(), "test_counter", n)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"test_counter\": %d}\n", n)
		})
		h = sm.LoadAndSave(mux)
	case "bare":
		var count atomic.Int64
		mux.HandleFunc("GET /session_test", func(w http.ResponseWriter, r *http.Request) {
			n := count.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"test_counter\": %d}\n", n)
		})
	default:
		return fmt.Errorf("-serve %q: want scs or bare", kind)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The same server settings as example/counter.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

type config struct {
	counter, wrk, md, raw, command string
	library                        string
	duration                       time.Duration
	threads, conns, rounds         int
}

// server is one contender of the load test.
type server struct {
	name     string
	sessions bool // the counter lives in a session
	args     func(addr string) (string, []string)
	results  []wrkResult
}

func drive(ctx context.Context, cfg config) error {
	if cfg.counter == "" {
		return errors.New("-counter: the built counter example is required")
	}
	wrkBin, self, tmp, lua, err := prepare(cfg, "session.lua", luaScript)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	secret := "load-test secret of at least thirty-two bytes"
	servers := []*server{
		{name: "bare", args: func(a string) (string, []string) { return self, []string{"-serve", "bare", "-addr", a} }},
		{name: "sessionmw", sessions: true, args: func(a string) (string, []string) {
			return cfg.counter, []string{"-addr", a, "-secret", secret}
		}},
		{name: "scs", sessions: true, args: func(a string) (string, []string) { return self, []string{"-serve", "scs", "-addr", a} }},
	}
	var rawOut strings.Builder
	started := time.Now().UTC()
	loadStart := child.LoadAvg()
	for round := 1; round <= cfg.rounds; round++ {
		for _, s := range servers {
			res, out, err := measure(ctx, cfg, s, wrkBin, lua, tmp)
			fmt.Fprintf(&rawOut, "=== round %d: %s\n%s\n", round, s.name, out)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", s.name, round, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-9s %10.0f req/s  p50 %-9v p99 %-9v %s\n", round, s.name, res.rps, res.p50, res.p99, res.lua)
			s.results = append(s.results, res)
		}
	}
	return report(cfg, rawOut.String(), "load", render(cfg, servers, started, loadStart, child.LoadAvg()))
}

// prepare finds wrk and this binary, and writes the Lua script into a new
// temporary directory, which the caller removes.
func prepare(cfg config, luaName, luaBody string) (wrkBin, self, tmp, lua string, err error) {
	if wrkBin, err = exec.LookPath(cfg.wrk); err != nil {
		return "", "", "", "", fmt.Errorf("wrk not found (apt-get install -y wrk): %w", err)
	}
	if self, err = os.Executable(); err != nil {
		return "", "", "", "", err
	}
	if tmp, err = os.MkdirTemp("", "sessionmw-load-"); err != nil {
		return "", "", "", "", err
	}
	lua = filepath.Join(tmp, luaName)
	if err := os.WriteFile(lua, []byte(luaBody), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", "", "", "", err
	}
	return wrkBin, self, tmp, lua, nil
}

// report saves wrk's raw output, prints body and puts it in section of
// the Markdown file.
func report(cfg config, raw, section, body string) error {
	if cfg.raw != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.raw), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.raw, []byte(raw), 0o644); err != nil {
			return err
		}
	}
	fmt.Print(body)
	if cfg.md == "" {
		return nil
	}
	return mdsection.Replace(cfg.md, section, mdsection.Skeleton, body)
}

// measure starts s, checks that it counts, runs wrk against it and stops it.
func measure(ctx context.Context, cfg config, s *server, wrkBin, lua, tmp string) (wrkResult, string, error) {
	base, stop, err := start(ctx, s, tmp)
	if err != nil {
		return wrkResult{}, "", err
	}
	defer stop()
	if err := checkCounts(base, s.sessions); err != nil {
		return wrkResult{}, "", err
	}
	res, out, err := runWrk(ctx, cfg, wrkBin, lua, base+"/session_test", strconv.Itoa(cfg.conns/cfg.threads))
	if err != nil {
		return res, out, err
	}
	if s.sessions {
		// Every session slot must have been filled and then reused.
		want := cfg.conns / cfg.threads * cfg.threads
		if res.held != want || res.fresh > res.requests/100 {
			return res, out, fmt.Errorf("sessions were not reused: %s (want %d held, <1%% cookieless)", res.lua, want)
		}
	}
	return res, out, nil
}

// start runs s on a free 127.0.0.1 port, its output in tmp/NAME.log, and
// waits until it answers /healthz. stop sends SIGTERM, then SIGKILL after
// 5 s.
func start(ctx context.Context, s *server, tmp string) (base string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	bin, args := s.args(addr)
	logPath := filepath.Join(tmp, s.name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	cmd := child.Command(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}
	base = "http://" + addr
	if err := waitReady(ctx, base, done); err != nil {
		stop()
		log, _ := os.ReadFile(logPath)
		return "", nil, fmt.Errorf("%s: %w\n%s", s.name, err, log)
	}
	return base, stop, nil
}

// runWrk drives url with wrk and the Lua script, passing luaArgs to it.
func runWrk(ctx context.Context, cfg config, wrkBin, lua, url string, luaArgs ...string) (wrkResult, string, error) {
	wctx, cancel := context.WithTimeout(ctx, cfg.duration+time.Minute)
	defer cancel()
	wargs := append([]string{
		"-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.conns), "-d", cfg.duration.String(),
		"--latency", "-s", lua, url, "--",
	}, luaArgs...)
	w := child.Command(wctx, wrkBin, wargs...)
	outb, err := w.CombinedOutput()
	out := string(outb)
	if err != nil {
		return wrkResult{}, out, fmt.Errorf("wrk: %w", err)
	}
	res, err := parseWrk(out)
	return res, out, err
}

func waitReady(ctx context.Context, base string, exited <-chan struct{}) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return errors.New("server exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
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

// checkCounts makes sure the server answers the counter and, with
// sessions, that a client keeping its cookie counts 1, 2, 3.
func checkCounts(base string, sessions bool) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	for i := 1; i <= 3; i++ {
		resp, err := c.Get(base + "/session_test")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := strings.TrimSpace(string(b))
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `{"test_counter": `) {
			return fmt.Errorf("GET /session_test: %d %q", resp.StatusCode, body)
		}
		if want := fmt.Sprintf(`{"test_counter": %d}`, i); sessions && body != want {
			return fmt.Errorf("GET /session_test #%d: %q, want %q", i, body, want)
		}
	}
	return nil
}

type wrkResult struct {
	rps              float64
	p50, p99         time.Duration
	requests, non2xx int
	socketErrors     string
	lua              string
	fresh, held      int
	setCookies       int
}

var (
	reRPS    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	rePct    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reReqs   = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSock   = regexp.MustCompile(`Socket errors: (.*)`)
	reLua    = regexp.MustCompile(`lua: cookieless_requests=(\d+) sessions_held=(\d+) set_cookie_responses=(\d+)`)
)

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New("no Requests/sec in wrk's output")
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, errors.New("no latency distribution in wrk's output (--latency)")
	}
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reSock.FindStringSubmatch(out); m != nil {
		r.socketErrors = strings.TrimSpace(m[1])
	}
	if m := reLua.FindStringSubmatch(out); m != nil {
		r.lua = strings.TrimPrefix(m[0], "lua: ")
		r.fresh, _ = strconv.Atoi(m[1])
		r.held, _ = strconv.Atoi(m[2])
		r.setCookies, _ = strconv.Atoi(m[3])
	}
	if r.non2xx > 0 || r.socketErrors != "" {
		return r, fmt.Errorf("wrk saw failures: %d non-2xx responses, socket errors %q", r.non2xx, r.socketErrors)
	}
	return r, nil
}

func median[T int | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func render(cfg config, servers []*server, started time.Time, loadStart, loadEnd string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
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
	p("## Load test (wrk)\n\n")
	p("Generated by `bench/load/run`; do not edit by hand.\n\n")
	p("- Date: %s\n", started.Format("2006-01-02 15:04 MST"))
	p("- Machine: `nproc` = %d, CPU %q, %s; wrk and the server share these CPUs over loopback\n", runtime.NumCPU(), cpu, goVersion)
	p("- Load average (1/5/15 min): %s at the start, %s at the end\n", loadStart, loadEnd)
	if cfg.library != "" {
		p("- Library: %s\n", cfg.library)
	}
	if cfg.command != "" {
		p("- Command: `%s`\n", cfg.command)
	}
	p("- Each server runs alone, as its own process on 127.0.0.1, driven by `wrk -t%d -c%d -d%s --latency -s session.lua "+
		"http://127.0.0.1:PORT/session_test`; %d round(s) over the three servers, interleaved; the table shows the medians "+
		"(req/s of every round in brackets); the session columns are from the last round.\n", cfg.threads, cfg.conns, cfg.duration, cfg.rounds)
	p("- Servers: **sessionmw** is `example/counter` (built from ../example/counter, MemoryIO, run with `-addr 127.0.0.1:PORT -secret …`); " +
		"**scs** is the same counter on alexedwards/scs/v2 `LoadAndSave` + memstore; **bare** is the counter without sessions " +
		"(one global atomic counter). Every request increments the counter, so sessionmw and scs save the session on every " +
		"request; *Set-Cookie* is the share of responses that carried one (bare's requests carry no cookie at all).\n")
	p("- Sessions: `bench/load/session.lua` makes each wrk thread keep %d session cookies (one per connection): it captures the "+
		"Set-Cookie of the first responses and then cycles through one prepared request per session.\n\n", cfg.conns/cfg.threads)
	bare := median(rps(servers[0].results))
	p("| server | req/s | %% of bare | p50 | p99 | sessions kept | cookieless requests | Set-Cookie |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		var p50s, p99s []time.Duration
		var rounds []string
		for _, r := range s.results {
			p50s, p99s = append(p50s, r.p50), append(p99s, r.p99)
			rounds = append(rounds, strconv.FormatFloat(r.rps, 'f', 0, 64))
		}
		last := s.results[len(s.results)-1]
		held, fresh, setc := "–", "–", "–"
		if s.sessions {
			held, fresh = strconv.Itoa(last.held), fmt.Sprintf("%d of %d", last.fresh, last.requests)
			setc = fmt.Sprintf("%.2f%%", 100*float64(last.setCookies)/float64(last.requests))
		}
		r := median(rps(s.results))
		p("| %s | %.0f (%s) | %.1f%% | %v | %v | %s | %s | %s |\n", s.name, r, strings.Join(rounds, ", "), 100*r/bare,
			median(p50s), median(p99s), held, fresh, setc)
	}
	p("\n")
	for _, s := range servers[1:] {
		r := median(rps(s.results)) / bare
		verdict := "not met"
		if r >= 0.85 {
			verdict = "met"
		}
		if s.name == "sessionmw" {
			p("**Target** wrk counter throughput ≥ 85%% of bare: sessionmw reaches **%.1f%%** of bare: **%s**. ", 100*r, verdict)
		} else {
			p("(%s reaches %.1f%%.)\n", s.name, 100*r)
		}
	}
	return b.String()
}

func rps(rs []wrkResult) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.rps
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

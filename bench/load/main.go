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
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionmw/go/bench/internal/child"
	"github.com/sessionmw/go/bench/internal/counters"
	"github.com/sessionmw/go/bench/internal/mdsection"
	"github.com/sessionmw/go/bench/internal/wrk"
)

//go:embed session.lua
var luaScript string

func main() {
	serve := flag.String("serve", "", "run a server instead: scs or bare")
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
	var err error
	if *serve != "" {
		err = runServer(ctx, *serve, *addr)
	} else {
		cfg := config{counter: *counter, wrk: *wrk, duration: *duration, threads: *threads, conns: *conns,
			rounds: *rounds, md: *md, raw: *raw, command: *command, library: *library}
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
	switch kind {
	case "scs":
		return counters.Serve(ctx, addr, counters.SCS())
	case "bare":
		return counters.Serve(ctx, addr, counters.Bare())
	}
	return fmt.Errorf("-serve %q: want scs or bare", kind)
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
	bin      string
	args     func(addr string) []string
	results  []wrkResult
}

func drive(ctx context.Context, cfg config) error {
	env, err := child.Setup(cfg.counter, cfg.wrk, "sessionmw-load-")
	if err != nil {
		return err
	}
	defer env.Cleanup()
	wrkBin, self, tmp := env.Wrk, env.Self, env.Tmp
	lua := filepath.Join(tmp, "session.lua")
	if err := os.WriteFile(lua, []byte(luaScript), 0o644); err != nil {
		return err
	}
	secret := "load-test secret of at least thirty-two bytes"
	servers := []*server{
		{name: "bare", bin: self, args: func(a string) []string { return []string{"-serve", "bare", "-addr", a} }},
		{name: "sessionmw", sessions: true, bin: cfg.counter, args: func(a string) []string {
			return []string{"-addr", a, "-secret", secret}
		}},
		{name: "scs", sessions: true, bin: self, args: func(a string) []string { return []string{"-serve", "scs", "-addr", a} }},
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
			fmt.Fprintf(os.Stderr, "round %d %-9s %10.0f req/s  p50 %-9v p99 %-9v %s\n", round, s.name, res.RPS, res.p50, res.p99, res.lua)
			s.results = append(s.results, res)
		}
	}
	if cfg.raw != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.raw), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.raw, []byte(rawOut.String()), 0o644); err != nil {
			return err
		}
	}
	body := render(cfg, servers, started, loadStart, child.LoadAvg())
	fmt.Print(body)
	if cfg.md == "" {
		return nil
	}
	return mdsection.Replace(cfg.md, "load", mdsection.Skeleton, body)
}

// measure starts s, checks that it counts, runs wrk against it and stops it.
func measure(ctx context.Context, cfg config, s *server, wrkBin, lua, tmp string) (wrkResult, string, error) {
	srv, err := child.Start(ctx, s.bin, s.args, filepath.Join(tmp, s.name+".log"))
	if err != nil {
		return wrkResult{}, "", err
	}
	defer srv.Stop()
	if err := checkCounts(srv.URL, s.sessions); err != nil {
		return wrkResult{}, "", err
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.duration+time.Minute)
	defer cancel()
	wargs := []string{
		"-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.conns), "-d", cfg.duration.String(),
		"--latency", "-s", lua, srv.URL + "/session_test", "--", strconv.Itoa(cfg.conns / cfg.threads),
	}
	outb, err := child.Command(wctx, wrkBin, wargs...).CombinedOutput()
	out := string(outb)
	if err != nil {
		return wrkResult{}, out, fmt.Errorf("wrk: %w", err)
	}
	res, err := parseWrk(out)
	if err != nil {
		return res, out, err
	}
	if s.sessions {
		// Every session slot must have been filled and then reused.
		want := cfg.conns / cfg.threads * cfg.threads
		if res.held != want || res.fresh > res.Requests/100 {
			return res, out, fmt.Errorf("sessions were not reused: %s (want %d held, <1%% cookieless)", res.lua, want)
		}
	}
	return res, out, nil
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
	wrk.Summary
	p50, p99    time.Duration
	lua         string
	fresh, held int
	setCookies  int
}

var (
	rePct = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reLua = regexp.MustCompile(`lua: cookieless_requests=(\d+) sessions_held=(\d+) set_cookie_responses=(\d+)`)
)

func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var err error
	if r.Summary, err = wrk.Parse(out); err != nil {
		return r, err
	}
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
	if m := reLua.FindStringSubmatch(out); m != nil {
		r.lua = strings.TrimPrefix(m[0], "lua: ")
		r.fresh, _ = strconv.Atoi(m[1])
		r.held, _ = strconv.Atoi(m[2])
		r.setCookies, _ = strconv.Atoi(m[3])
	}
	if r.Non2xx > 0 || r.SocketErrors != "" {
		return r, fmt.Errorf("wrk saw failures: %d non-2xx responses, socket errors %q", r.Non2xx, r.SocketErrors)
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
	child.Preamble(&b, child.Run{Title: "Load test (wrk)", Script: "bench/load/run", Started: started, LoadStart: loadStart, LoadEnd: loadEnd,
		Library: cfg.library, Command: cfg.command, Sharing: "wrk and the server share these CPUs over loopback"})
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
			rounds = append(rounds, strconv.FormatFloat(r.RPS, 'f', 0, 64))
		}
		last := s.results[len(s.results)-1]
		held, fresh, setc := "–", "–", "–"
		if s.sessions {
			held, fresh = strconv.Itoa(last.held), fmt.Sprintf("%d of %d", last.fresh, last.Requests)
			setc = fmt.Sprintf("%.2f%%", 100*float64(last.setCookies)/float64(last.Requests))
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
		out[i] = r.RPS
	}
	return out
}

// Command flood runs the counter example under a flood of new sessions
// beside real users, and the same flood against a counter on
// alexedwards/scs, and reports what each class of client got: the
// request outcomes, the sessions lost, the server's memory over time and
// how much it logged. bench/flood/run builds everything and calls it; the
// result goes to the Flood section of BENCHMARKS.md.
//
// Each server runs alone, as its own process on 127.0.0.1. For -duration:
//
//   - the attacker (wrk, -attack-conns connections, no script) sends
//     cookie-less GET /session_test at full speed: every request creates
//     a session that is never used again;
//   - returning clients (-returning), each with a session it has used
//     twice before the flood, send one request a second with its cookie;
//   - logged-in clients (-logged-in), logged in before the flood, do the
//     same;
//   - new visitors arrive at -visitors per second: one cookie-less request,
//     then, after a pause drawn from -think, a second with the cookie they
//     got, which must continue their count.
//
// A session is lost when a client with a cookie gets a 200 whose count does
// not continue its own (a fresh session), or a new visitor's second
// request does not count 2.
//
//	flood -counter /path/to/counter -duration 60s -md ../BENCHMARKS.md
//
// With -serve scs -addr host:port it is the scs counter instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessionmw/go/bench/internal/child"
	"github.com/sessionmw/go/bench/internal/counters"
	"github.com/sessionmw/go/bench/internal/mdsection"
	"github.com/sessionmw/go/bench/internal/wrk"
)

func main() {
	serve := flag.String("serve", "", "run a server instead: scs")
	addr := flag.String("addr", "127.0.0.1:0", "with -serve: address to listen on")
	var cfg config
	flag.StringVar(&cfg.counter, "counter", "", "the built counter example (../example/counter)")
	flag.StringVar(&cfg.wrk, "wrk", "wrk", "the wrk binary (the attacker)")
	flag.DurationVar(&cfg.duration, "duration", 60*time.Second, "how long each server is flooded")
	flag.IntVar(&cfg.attackConns, "attack-conns", 32, "the attacker's connections (wrk -t1 -c)")
	flag.IntVar(&cfg.returning, "returning", 100, "returning clients")
	flag.IntVar(&cfg.loggedIn, "logged-in", 100, "logged-in clients")
	flag.Float64Var(&cfg.visitors, "visitors", 5, "new visitors per second")
	flag.DurationVar(&cfg.thinkMin, "think-min", time.Second, "shortest pause before a new visitor's second request")
	flag.DurationVar(&cfg.thinkMax, "think-max", 5*time.Second, "longest pause before a new visitor's second request")
	flag.IntVar(&cfg.maxSessions, "max-sessions", 400_000, "the counter's -max-sessions (MemoryIO's cap; half of it is probation)")
	flag.StringVar(&cfg.stores, "stores", "memory,ristretto", "the counter's stores to flood, comma-separated")
	flag.StringVar(&cfg.md, "md", "../BENCHMARKS.md", "Markdown file whose flood section is rewritten (empty: none)")
	flag.StringVar(&cfg.command, "command", "", "the command line to quote in the report")
	flag.StringVar(&cfg.library, "library", "", "which library state was measured, to quote in the report")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch *serve {
	case "scs":
		err = counters.Serve(ctx, *addr, counters.SCS())
	case "":
		err = drive(ctx, cfg)
	default:
		err = fmt.Errorf("-serve %q: want scs", *serve)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

type config struct {
	counter, wrk, md, command, library, stores string
	duration, thinkMin, thinkMax               time.Duration
	attackConns, returning, loggedIn           int
	maxSessions                                int
	visitors                                   float64
}

// server is one contender.
type server struct {
	name, about, bin string
	args             func(addr string) []string
	res              result
}

// result is what one flood of one server measured.
type result struct {
	classes            []*class
	attack             wrk.Summary
	rss                []rssSample
	logBytes, logLines int64
	base               int64 // RSS before the flood, bytes
}

// class counts the outcomes of one class of clients.
type class struct {
	name                        string
	clients                     int
	ok, unavailable, other, err atomic.Int64 // requests
	lost                        atomic.Int64 // sessions lost (clients)
	done                        atomic.Int64 // new visitors whose outcome is known
}

type rssSample struct {
	at  time.Duration
	rss int64
}

func drive(ctx context.Context, cfg config) error {
	env, err := child.Setup(cfg.counter, cfg.wrk, "sessionmw-flood-")
	if err != nil {
		return err
	}
	defer env.Cleanup()
	wrkBin, self, tmp := env.Wrk, env.Self, env.Tmp
	secret := "flood-test secret of at least thirty-two bytes"
	var servers []*server
	for _, store := range strings.Split(cfg.stores, ",") {
		switch store {
		case "memory":
			servers = append(servers, &server{name: "sessionmw (MemoryIO)", bin: cfg.counter,
				about: fmt.Sprintf("`example/counter -store memory -max-sessions %d` (probation: %d sessions)", cfg.maxSessions, cfg.maxSessions/2),
				args: func(a string) []string {
					return []string{"-addr", a, "-secret", secret, "-store", "memory", "-max-sessions", strconv.Itoa(cfg.maxSessions)}
				}})
		case "ristretto":
			servers = append(servers, &server{name: "sessionmw (RistrettoStore)", bin: cfg.counter,
				about: "`example/counter -store ristretto` (256 MiB budget, half of it probation)",
				args:  func(a string) []string { return []string{"-addr", a, "-secret", secret, "-store", "ristretto"} }})
		case "":
		default:
			return fmt.Errorf("-stores: unknown store %q", store)
		}
	}
	servers = append(servers, &server{name: "scs (memstore)", bin: self,
		about: "the same counter on alexedwards/scs/v2 `LoadAndSave` + memstore, `RenewToken` on login",
		args:  func(a string) []string { return []string{"-serve", "scs", "-addr", a} }})

	started := time.Now().UTC()
	loadStart := child.LoadAvg()
	for _, s := range servers {
		fmt.Fprintf(os.Stderr, "flooding %s for %v\n", s.name, cfg.duration)
		res, err := flood(ctx, cfg, s, wrkBin, tmp)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		s.res = res
		for _, c := range res.classes {
			fmt.Fprintf(os.Stderr, "  %-10s %6d ok %6d 503 %4d other %4d errors %4d lost\n", c.name, c.ok.Load(), c.unavailable.Load(), c.other.Load(), c.err.Load(), c.lost.Load())
		}
		fmt.Fprintf(os.Stderr, "  attacker   %d requests (%.0f/s), %d non-2xx; RSS max %s; log %d bytes\n",
			res.attack.Requests, res.attack.RPS, res.attack.Non2xx, mib(maxRSS(res.rss)), res.logBytes)
	}
	body := render(cfg, servers, started, loadStart, child.LoadAvg())
	fmt.Print(body)
	if cfg.md == "" {
		return nil
	}
	return mdsection.Replace(cfg.md, "flood", mdsection.Skeleton, body)
}

// flood starts s, sets up its real users, floods it for cfg.duration while
// they run, and stops it.
func flood(ctx context.Context, cfg config, s *server, wrkBin, tmp string) (result, error) {
	var res result
	srv, err := child.Start(ctx, s.bin, s.args, filepath.Join(tmp, strings.Fields(s.name)[0]+".log"))
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	base := srv.URL

	tr := &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	returning := &class{name: "returning", clients: cfg.returning}
	loggedIn := &class{name: "logged-in", clients: cfg.loggedIn}
	visitors := &class{name: "new visitor"}
	res.classes = []*class{returning, loggedIn, visitors}

	// Real users with sessions, set up before the flood: a returning
	// client has used its session twice; a logged-in one has logged in.
	users := make([]*user, cfg.returning+cfg.loggedIn)
	for i := range users {
		u := &user{id: i, class: returning}
		if i >= cfg.returning {
			u.class = loggedIn
		}
		for range 2 {
			if err := u.setup(hc, base, "GET", "/session_test"); err != nil {
				return res, err
			}
		}
		if u.class == loggedIn {
			if err := u.setup(hc, base, "POST", fmt.Sprintf("/login?user=user%d", i)); err != nil {
				return res, err
			}
		}
		users[i] = u
	}
	logBefore := srv.LogSize()
	res.base = srv.RSS()

	fctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	// Memory, every second.
	wg.Go(func() {
		repeat(fctx, 0, time.Second, func() { res.rss = append(res.rss, rssSample{time.Since(start), srv.RSS()}) })
	})
	// The attacker.
	var attackOut []byte
	var attackErr error
	wg.Go(func() {
		w := child.Command(ctx, wrkBin, "-t1", "-c"+strconv.Itoa(cfg.attackConns), "-d"+strconv.Itoa(int(cfg.duration.Seconds()))+"s", base+"/session_test")
		attackOut, attackErr = w.CombinedOutput()
	})
	// Users with sessions: one request a second each, spread over the
	// second.
	for _, u := range users {
		wg.Go(func() {
			repeat(fctx, time.Duration(rand.Int64N(int64(time.Second))), time.Second, func() { u.visit(hc, base) })
		})
	}
	// New visitors at a trickle.
	if cfg.visitors > 0 {
		every := time.Duration(float64(time.Second) / cfg.visitors)
		wg.Go(func() {
			repeat(fctx, every, every, func() {
				visitors.clients++
				wg.Go(func() { newVisitor(fctx, hc, base, visitors, cfg) })
			})
		})
	}
	wg.Wait()
	if attackErr != nil {
		return res, fmt.Errorf("wrk: %w\n%s", attackErr, attackOut)
	}
	if res.attack, err = wrk.Parse(string(attackOut)); err != nil {
		return res, err
	}
	logAfter := srv.LogSize()
	res.logBytes = logAfter - logBefore
	if b, err := os.ReadFile(filepath.Join(tmp, strings.Fields(s.name)[0]+".log")); err == nil && int64(len(b)) >= logAfter {
		res.logLines = int64(strings.Count(string(b[logBefore:logAfter]), "\n"))
	}
	return res, nil
}

// repeat calls f after first, then every every, until ctx is done.
func repeat(ctx context.Context, first, every time.Duration, f func()) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
		t.Reset(every)
	}
}

// user is a client with a session.
type user struct {
	id     int
	class  *class
	cookie string
	count  int
	lost   bool
}

var countRE = regexp.MustCompile(`\{"test_counter": (\d+)\}`)

// setup sends one request outside the measurement and keeps the cookie.
func (u *user) setup(hc *http.Client, base, method, path string) error {
	code, n, err := request(hc, method, base+path, &u.cookie)
	switch {
	case err != nil:
		return err
	case code != http.StatusOK:
		return fmt.Errorf("setting up %s client %d: %s %s: %d", u.class.name, u.id, method, path, code)
	}
	if n > 0 {
		u.count = n
	}
	return nil
}

// visit sends one counted request and records its outcome.
func (u *user) visit(hc *http.Client, base string) {
	code, n, err := request(hc, "GET", base+"/session_test", &u.cookie)
	if u.class.record(code, err) {
		if n != u.count+1 && !u.lost {
			u.lost = true // counted once per client
			u.class.lost.Add(1)
		}
		u.count = n
	}
}

// record counts the outcome of one request and reports a 200.
func (c *class) record(code int, err error) bool {
	switch {
	case err != nil:
		c.err.Add(1)
	case code == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
	case code != http.StatusOK:
		c.other.Add(1)
	default:
		c.ok.Add(1)
		return true
	}
	return false
}

// newVisitor is one new visitor: a cookie-less request, then, after a
// pause, one with the cookie it got.
func newVisitor(ctx context.Context, hc *http.Client, base string, c *class, cfg config) {
	var cookie string
	code, n, err := request(hc, "GET", base+"/session_test", &cookie)
	if code == http.StatusOK && (n != 1 || cookie == "") {
		code = 0 // a 200 without a new session: counted as other
	}
	if !c.record(code, err) {
		c.done.Add(1)
		return
	}
	think := cfg.thinkMin + time.Duration(rand.Int64N(int64(cfg.thinkMax-cfg.thinkMin)+1))
	select {
	case <-time.After(think):
	case <-ctx.Done():
		return // the flood ended first: not counted
	}
	code, n, err = request(hc, "GET", base+"/session_test", &cookie)
	c.done.Add(1)
	if c.record(code, err) && n != 2 {
		c.lost.Add(1)
	}
}

// request sends one request with *cookie (if any), keeps the cookie the
// response sets, and returns the status and the count in the body.
func request(hc *http.Client, method, url string, cookie *string) (int, int, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, 0, err
	}
	if *cookie != "" {
		req.Header.Set("Cookie", *cookie)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		*cookie, _, _ = strings.Cut(sc, ";")
	}
	n := 0
	if m := countRE.FindSubmatch(b); m != nil {
		n, _ = strconv.Atoi(string(m[1]))
	}
	return resp.StatusCode, n, nil
}

func maxRSS(s []rssSample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rss)
	}
	return m
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func render(cfg config, servers []*server, started time.Time, loadStart, loadEnd string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	child.Preamble(&b, child.Run{Title: "Flood", Script: "bench/flood/run", Started: started, LoadStart: loadStart, LoadEnd: loadEnd,
		Library: cfg.library, Command: cfg.command, Sharing: "the attacker, the real users and the server share these CPUs over loopback"})
	p("- Each server runs alone, as its own process on 127.0.0.1, for %v: the **attacker** is `wrk -t1 -c%d` sending cookie-less "+
		"`GET /session_test` at full speed (each request creates a session never used again); %d **returning** clients (each "+
		"used its session twice before the flood) and %d **logged-in** clients (`POST /login` before the flood) send one request "+
		"a second with their cookie; **new visitors** arrive at %g/s and send a second request with their cookie %v–%v after the first.\n",
		cfg.duration, cfg.attackConns, cfg.returning, cfg.loggedIn, cfg.visitors, cfg.thinkMin, cfg.thinkMax)
	p("- A session is *lost* when a client's 200 does not continue its count (a fresh session: for a logged-in client, a logout), " +
		"or a new visitor's second request does not count 2; a client is counted once. *503* is the store refusing the session " +
		"(`ErrStoreFull`).\n")
	p("- Servers:\n")
	for _, s := range servers {
		p("  - **%s**: %s\n", s.name, s.about)
	}
	p("\n| server | class | clients | 200 | 503 | other / errors | sessions lost |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range servers {
		for _, c := range s.res.classes {
			p("| %s | %s | %d | %d | %d | %d | %d |\n", s.name, c.name, c.clients, c.ok.Load(), c.unavailable.Load(), c.other.Load()+c.err.Load(), c.lost.Load())
		}
		a := s.res.attack
		p("| %s | attacker | %d conns | %d | %d non-2xx | %s | – |\n", s.name, cfg.attackConns, a.Requests-a.Non2xx, a.Non2xx, orDash(a.SocketErrors))
	}
	p("\n| server | attacker req/s | new sessions | RSS before | RSS max | RSS at the end | RSS every 10 s (MiB) | log bytes (lines) |\n|---|---:|---:|---:|---:|---:|---|---:|\n")
	for _, s := range servers {
		r := s.res
		var series []string
		for _, x := range r.rss {
			if x.at.Round(time.Second)%(10*time.Second) == 0 {
				series = append(series, fmt.Sprintf("%.0f", float64(x.rss)/(1<<20)))
			}
		}
		end := int64(0)
		if len(r.rss) > 0 {
			end = r.rss[len(r.rss)-1].rss
		}
		p("| %s | %.0f | %d | %s | %s | %s | %s | %d (%d) |\n", s.name, r.attack.RPS, r.attack.Requests-r.attack.Non2xx,
			mib(r.base), mib(maxRSS(r.rss)), mib(end), strings.Join(series, ", "), r.logBytes, r.logLines)
	}
	p("\n")
	verdict(&b, cfg, servers)
	return b.String()
}

// verdict states the targets for the sessionmw servers.
func verdict(b *strings.Builder, cfg config, servers []*server) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	for _, s := range servers {
		if !strings.HasPrefix(s.name, "sessionmw") {
			continue
		}
		c := s.res.classes
		refused := c[0].unavailable.Load() + c[1].unavailable.Load()
		lost := c[0].lost.Load() + c[1].lost.Load()
		v := c[2]
		ok := 0.0
		if n := v.done.Load(); n > 0 {
			// A visitor succeeds when both requests got a 200 and the
			// second counted 2; visitors whose second request the
			// flood's end cut off are left out.
			failed := v.unavailable.Load() + v.other.Load() + v.err.Load() + v.lost.Load()
			ok = 100 * (1 - float64(failed)/float64(n))
		}
		met := func(b bool) string {
			if b {
				return "met"
			}
			return "not met"
		}
		p("**%s**: returning and logged-in clients refused (503) %d, sessions lost %d (target 0: **%s**); "+
			"new visitors with a 200 and a working session %.1f%% of %d (target ≥ 99%%: **%s**).\n\n",
			s.name, refused, lost, met(refused == 0 && lost == 0), ok, v.done.Load(), met(ok >= 99))
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

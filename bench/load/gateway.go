package main

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sessionmw/go/bench/internal/child"
	"github.com/sessionmw/go/internal/serve"
)

//go:embed gateway.lua
var gatewayLua string

// benchKey is the bench consumer's API key.
const benchKey = "bench-key-0123456789"

// gatewayDir is the sessiongw configuration measured: Kong's session
// (memory storage), key-auth with the consumer's headers, and
// MapSessionToHeader, in front of the upstream.
var gatewayDir = map[string]string{
	"middlewares.yaml": `middlewares:
  session:
    use: session
    config:
      storage: Memory
      cookie_secure: false
  key-auth:
    use: key-auth
    config:
      anonymous: anonymous
  deny:
    use: request-termination
    config:
      consumer: anonymous
      status_code: 403
  headers:
    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
    config:
      headers:
        X-User-Id: user_id
        Authorization: authorization
`,
	"routes.yaml": `routes:
  - path: /api
    method: GET
    middlewares: [session, key-auth, deny, headers]
    action: upstream
`,
	"storages.yaml": "storages:\n  Memory:\n    type: memory\n",
	"consumers.yaml": `consumers:
  - username: anonymous
  - username: bench
    custom_id: bench-001
    keyauth_credentials:
      - key: ` + benchKey + `
    acls:
      - group: benchers
`,
}

// runProxyServer is the upstream (a fixed small JSON answer) or the bare
// reverse proxy to it, with the transport settings sessiongw's forward
// action uses, so that only the sessions, key-auth, header mapping and
// access log differ.
func runProxyServer(ctx context.Context, kind, addr, upstream string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	switch kind {
	case "upstream":
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"path\": %q, \"consumer\": %q}\n", r.URL.Path, r.Header.Get("X-Consumer-Id"))
		})
	case "proxy":
		u, err := url.Parse(upstream)
		if err != nil || u.Host == "" {
			return fmt.Errorf("-upstream %q is not an absolute URL", upstream)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
		mux.Handle("/", &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
			Transport: t,
		})
	}
	return serve.Run(ctx, addr, &http.Server{Handler: mux}, nil)
}

// driveGateway measures sessiongw against a bare httputil.ReverseProxy
// to the same upstream and writes the sessiongw section of BENCHMARKS.md.
func driveGateway(ctx context.Context, cfg config, gatewayBin string) error {
	wrkBin, self, tmp, lua, err := prepare(cfg, "gateway.lua", gatewayLua)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	up, stopUp, err := start(ctx, &server{name: "upstream", args: func(a string) (string, []string) {
		return self, []string{"-serve", "upstream", "-addr", a}
	}}, tmp)
	if err != nil {
		return err
	}
	defer stopUp()
	dir := filepath.Join(tmp, "gateway")
	os.Mkdir(dir, 0o755)
	files := map[string]string{"actions.yaml": "actions:\n  upstream:\n    type: forward\n    url: " + up + "\n"}
	for k, v := range gatewayDir {
		files[k] = v
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	os.Setenv("SESSIONGW_SECRET", "load-test secret of at least thirty-two bytes")
	servers := []*server{
		{name: "bare proxy", args: func(a string) (string, []string) {
			return self, []string{"-serve", "proxy", "-addr", a, "-upstream", up}
		}},
		{name: "sessiongw", sessions: true, args: func(a string) (string, []string) {
			return gatewayBin, []string{"serve", "-addr", a, dir}
		}},
	}
	var rawOut strings.Builder
	started := time.Now().UTC()
	loadStart := child.LoadAvg()
	for round := 1; round <= cfg.rounds; round++ {
		for _, s := range servers {
			base, stop, err := start(ctx, s, tmp)
			if err != nil {
				return err
			}
			res, out, err := runWrk(ctx, cfg, wrkBin, lua, base+"/api", benchKey)
			stop()
			fmt.Fprintf(&rawOut, "=== round %d: %s\n%s\n", round, s.name, out)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", s.name, round, err)
			}
			if m := reGatewayLua.FindStringSubmatch(out); m != nil {
				res.lua = strings.TrimPrefix(m[0], "lua: ")
				res.fresh, _ = strconv.Atoi(m[1])
				res.setCookies, _ = strconv.Atoi(m[2])
			}
			if s.sessions && (res.setCookies == 0 || res.fresh > 2*cfg.conns) {
				return fmt.Errorf("%s: sessions were not used: %s", s.name, res.lua)
			}
			fmt.Fprintf(os.Stderr, "round %d %-10s %10.0f req/s  p50 %-9v p99 %-9v %s\n", round, s.name, res.rps, res.p50, res.p99, res.lua)
			s.results = append(s.results, res)
		}
	}
	return report(cfg, rawOut.String(), "sessiongw", renderGateway(cfg, servers, started, loadStart, child.LoadAvg()))
}

var reGatewayLua = regexp.MustCompile(`lua: key_requests=(\d+) set_cookie_responses=(\d+)`)

func renderGateway(cfg config, servers []*server, started time.Time, loadStart, loadEnd string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## sessiongw\n\n")
	p("Generated by `bench/load/run-gateway`; do not edit by hand.\n\n")
	p("- Date: %s; `nproc` = %d; load average %s at the start, %s at the end\n", started.Format("2006-01-02 15:04 MST"), runtime.NumCPU(), loadStart, loadEnd)
	if cfg.library != "" {
		p("- Library: %s\n", cfg.library)
	}
	if cfg.command != "" {
		p("- Command: `%s`\n", cfg.command)
	}
	p("- `wrk -t%d -c%d -d%s --latency -s gateway.lua http://127.0.0.1:PORT/api` against each proxy alone, %d round(s) interleaved, "+
		"medians shown (every round's req/s in brackets). wrk, the proxy and the upstream (a fixed small JSON answer, its own process) "+
		"share these CPUs over loopback.\n", cfg.threads, cfg.conns, cfg.duration, cfg.rounds)
	p("- **bare proxy**: `httputil.ReverseProxy` (Rewrite with SetURL and SetXForwarded, 256 idle connections per host), nothing else. " +
		"**sessiongw**: `sessiongw serve` with Kong's session (memory storage), key-auth (consumer headers), request-termination for " +
		"the anonymous consumer and MapSessionToHeader on the route, and its JSON access log written to a file. `gateway.lua` logs " +
		"each wrk thread in once with `?apikey=` and then sends only its session cookie, so every measured sessiongw request loads " +
		"a session, takes the consumer from it and maps headers.\n\n")
	bare := median(rps(servers[0].results))
	p("| proxy | req/s | %% of bare proxy | p50 | p99 |\n|---|---:|---:|---:|---:|\n")
	for _, s := range servers {
		var p50s, p99s []time.Duration
		var rounds []string
		for _, r := range s.results {
			p50s, p99s = append(p50s, r.p50), append(p99s, r.p99)
			rounds = append(rounds, strconv.FormatFloat(r.rps, 'f', 0, 64))
		}
		r := median(rps(s.results))
		p("| %s | %.0f (%s) | %.1f%% | %v | %v |\n", s.name, r, strings.Join(rounds, ", "), 100*r/bare, median(p50s), median(p99s))
	}
	r := median(rps(servers[1].results)) / bare
	verdict := "not met"
	if r >= 0.80 {
		verdict = "met"
	}
	p("\n**Target** sessiongw throughput ≥ 80%% of the bare proxy's: **%.1f%%**: **%s**.\n", 100*r, verdict)
	return b.String()
}

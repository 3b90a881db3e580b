package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/internal/syncbuf"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/gateway"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// The end-to-end tests run sessiongw as a process, built once by
// TestMain, in front of an echo upstream the test starts, with sessions
// in a real redis-server where the issue asks for one.

const testSecret = "e2e-secret-0123456789abcdef-0123456789abcdef"

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sessiongw-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "sessiongw")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gw is one sessiongw process.
type gw struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	stderr *syncbuf.Buffer
	done   chan error
}

// startGW runs "sessiongw serve DIR" and waits for its listening line.
func startGW(t *testing.T, dir string, extra ...string) *gw {
	t.Helper()
	g := &gw{t: t, stderr: &syncbuf.Buffer{}, done: make(chan error, 1)}
	args := append([]string{"serve", "-addr", "127.0.0.1:0", "-shutdown-timeout", "20s"}, extra...)
	g.cmd = exec.Command(binary, append(args, dir)...)
	g.cmd.Env = append(os.Environ(), "SESSIONGW_SECRET="+testSecret)
	g.cmd.Stderr = g.stderr
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		g.done <- g.cmd.Wait()
	}()
	t.Cleanup(func() {
		if g.cmd.ProcessState == nil {
			g.cmd.Process.Kill()
			<-g.done
		}
	})
	select {
	case g.url = <-urls:
	case err := <-g.done:
		t.Fatalf("sessiongw exited before listening: %v\n%s", err, g.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("sessiongw did not listen within 20s\n%s", g.stderr)
	}
	return g
}

func (g *gw) signal(sig os.Signal) {
	g.t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		g.t.Fatal(err)
	}
}

// waitLog polls the gateway's log until it holds n lines containing s.
func (g *gw) waitLog(s string, n int) {
	g.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(g.stderr.String(), s) < n {
		if time.Now().After(deadline) {
			g.t.Fatalf("log never had %d × %q:\n%s", n, s, g.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its error.
func (g *gw) wait() error {
	g.t.Helper()
	select {
	case err := <-g.done:
		return err
	case <-time.After(30 * time.Second):
		g.t.Fatalf("sessiongw did not exit\n%s", g.stderr)
		return nil
	}
}

// checkLogSafe fails if the log holds a credential.
func (g *gw) checkLogSafe(secrets ...string) {
	g.t.Helper()
	log := g.stderr.String()
	for _, s := range append(secrets, testSecret) {
		if s != "" && strings.Contains(log, s) {
			g.t.Errorf("the log contains %q", s)
		}
	}
}

// copyDir copies an example directory and applies changes (name → body).
func copyDir(t *testing.T, from string, changes map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
	}
	for name, body := range changes {
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600)
	}
	return dir
}

// echoed is what the echo upstream answers.
type echoed struct {
	Path    string              `json:"path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
}

func (e echoed) get(name string) string {
	return strings.Join(e.Headers[http.CanonicalHeaderKey(name)], "|")
}

// upstream is an echo server; a request with X-Block waits until release
// is closed, after counting itself in parked.
type upstream struct {
	*httptest.Server
	parked  atomic.Int64
	release chan struct{}
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Block") != "" {
			u.parked.Add(1)
			<-u.release
		}
		echo(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func actionsFor(name, url string) string {
	return fmt.Sprintf("actions:\n  %s:\n    type: forward\n    url: %s\n    timeout: 30s\n", name, url)
}

func valkeyStorage(name, url string) string {
	return fmt.Sprintf("storages:\n  %s:\n    type: valkey\n    url: %s\n    prefix: \"e2e:\"\n    timeout: 2s\n", name, url)
}

var client = &http.Client{
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Timeout: 30 * time.Second,
}

// call sends one request and decodes an echo answer.
func call(t testing.TB, method, url string, hdr ...string) (*http.Response, echoed, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e echoed
	json.Unmarshal(body, &e)
	return resp, e, string(body)
}

func sessionCookie(resp *http.Response, name string) string {
	for _, c := range resp.Cookies() {
		if c.Name == name && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// TestSeedRouteFlow runs the seed's "Using with Routes" directory with
// the seed's first middlewares.yaml (storage ValkeySessionStorage, here
// with disableSessionForward) against redis. A login service that shares
// the store and the secret writes the session; the gateway maps its values
// to X-User-Id and Authorization, drops the client's copies, and keeps the
// session cookie from the upstream.
func TestSeedRouteFlow(t *testing.T) {
	redis := redistest.Start(t)
	up := startUpstream(t)
	dir := copyDir(t, "../../example/sessiongw/seed-gateway", map[string]string{
		"middlewares.yaml": `middlewares:
  LoadSessionMiddleware:
    use: plugins.session.middlewares.LoadSessionMiddleware
    config:
      storage: "ValkeySessionStorage"
      keyLookup: "cookie:session_id"
      cookieHTTPOnly: true
      cookieSecure: false
      cookieSameSite: "Lax"
      cookieExpiration: 2h
      disableAutoRenew: false
      autoRenewAfter: 30m
      disableSessionForward: true
  MapSessionToHeaderMiddleware:
    use: plugins.session.middlewares.MapSessionToHeaderMiddleware
    config:
      headers:
        Authorization: authorization
        X-User-Id: user_id
`,
		"storages.yaml": valkeyStorage("ValkeySessionStorage", redis.URL()),
		"actions.yaml":  actionsFor("HttpForwardToDashboardService", up.URL),
	})
	g := startGW(t, dir)
	g.waitLog("plugins.yaml acknowledged", 1)

	// The login service: same secret, same store, same cookie.
	store, err := redisstore.New(context.Background(), redis.URL(), redisstore.WithPrefix("e2e:"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	login, err := gateway.LoadSession([]byte(testSecret), sessionmw.WithStore(store), sessionmw.WithSecure(false))
	if err != nil {
		t.Fatal(err)
	}
	defer login.Close()
	rec := httptest.NewRecorder()
	login.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessionmw.FromRequest(r).GetSession()
		s.Set("user_id", 42)
		s.Set("authorization", "Bearer abc.def")
	})).ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookie := sessionCookie(rec.Result(), "session_id")
	if cookie == "" {
		t.Fatalf("login set no cookie: %q", rec.Header().Values("Set-Cookie"))
	}

	resp, e, body := call(t, "GET", g.url+"/dashboard?tab=1", "Cookie", cookie+"; theme=dark",
		"X-User-Id", "1", "x-user-id", "admin", "Authorization", "Bearer forged")
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard: %d %s", resp.StatusCode, body)
	}
	if e.get("X-User-Id") != "42" || e.get("Authorization") != "Bearer abc.def" {
		t.Fatalf("upstream saw X-User-Id %q Authorization %q", e.get("X-User-Id"), e.get("Authorization"))
	}
	if c := e.get("Cookie"); strings.Contains(c, "session_id") || c != "theme=dark" {
		t.Fatalf("upstream saw Cookie %q, want only theme=dark", c)
	}
	if e.Path != "/dashboard" || e.Query != "tab=1" || e.get("X-Forwarded-For") != "127.0.0.1" {
		t.Fatalf("upstream saw path %q query %q X-Forwarded-For %q", e.Path, e.Query, e.get("X-Forwarded-For"))
	}
	// Without a session nothing is mapped, and spoofed headers are still gone.
	_, e, _ = call(t, "GET", g.url+"/dashboard", "X-User-Id", "1")
	if e.get("X-User-Id") != "" {
		t.Fatalf("anonymous request: upstream saw X-User-Id %q", e.get("X-User-Id"))
	}
	if resp, _, _ := call(t, "POST", g.url+"/dashboard"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /dashboard: %d, want 405", resp.StatusCode)
	}
	g.signal(syscall.SIGTERM)
	if err := g.wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, g.stderr)
	}
	_, value, _ := strings.Cut(cookie, "=")
	g.checkLogSafe(value, "Bearer abc.def", "tab=1")
	if !strings.Contains(g.stderr.String(), `"path":"/dashboard","status":200`) {
		t.Fatalf("no access log line for the dashboard:\n%s", g.stderr)
	}
}

// kongOnRedis copies example/sessiongw/kong-walkthrough with its sessions in a
// redis-server and its route forwarding to an echo upstream.
func kongOnRedis(t *testing.T) (*upstream, string) {
	redis := redistest.Start(t)
	up := startUpstream(t)
	return up, copyDir(t, "../../example/sessiongw/kong-walkthrough", map[string]string{
		"storages.yaml": valkeyStorage("KongSessionStorage", redis.URL()),
		"actions.yaml":  actionsFor("example-service", up.URL),
	})
}

// TestKongWalkthrough replays Kong's curl walkthrough against the
// example/sessiongw/kong-walkthrough directory, sessions in redis.
func TestKongWalkthrough(t *testing.T) {
	_, dir := kongOnRedis(t)
	g := startGW(t, dir)
	base := g.url + "/sessions-test"

	// Step 8: anonymous → 403 with the configured message.
	resp, _, body := call(t, "GET", base, "X-Consumer-ID", "3f9a4b2c-fiona")
	if resp.StatusCode != 403 || !strings.Contains(body, "So long and thanks for all the fish!") {
		t.Fatalf("no key: %d %s", resp.StatusCode, body)
	}
	// Step 9: ?apikey= → 200 and Set-Cookie; the upstream sees Kong's headers.
	resp, e, body := call(t, "GET", base+"?apikey=open_sesame", "X-Anonymous-Consumer", "true", "X-Consumer-Username", "root")
	cookie := sessionCookie(resp, "session")
	if resp.StatusCode != 200 || cookie == "" {
		t.Fatalf("with key: %d Set-Cookie %q %s", resp.StatusCode, resp.Header.Values("Set-Cookie"), body)
	}
	want := map[string]string{
		"X-Consumer-ID": "3f9a4b2c-fiona", "X-Consumer-Username": "fiona", "X-Consumer-Custom-ID": "fiona-001",
		"X-Credential-Identifier": "fiona-key-1", "X-Authenticated-Groups": "walkthrough", "X-Anonymous-Consumer": "",
	}
	for k, v := range want {
		if e.get(k) != v {
			t.Errorf("upstream %s = %q, want %q", k, e.get(k), v)
		}
	}
	if e.Query != "" {
		t.Errorf("upstream saw the key in the query %q", e.Query)
	}
	// The cookie alone → 200 without Set-Cookie.
	resp, e, _ = call(t, "GET", base, "Cookie", cookie)
	if resp.StatusCode != 200 || resp.Header.Get("Set-Cookie") != "" || e.get("X-Consumer-ID") != "3f9a4b2c-fiona" {
		t.Fatalf("cookie alone: %d Set-Cookie %q consumer %q", resp.StatusCode, resp.Header.Get("Set-Cookie"), e.get("X-Consumer-ID"))
	}
	// DELETE ?session_logout → 200.
	if resp, _, _ := call(t, "DELETE", base+"?session_logout", "Cookie", cookie); resp.StatusCode != 200 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// The old cookie → 403.
	if resp, _, _ := call(t, "GET", base, "Cookie", cookie); resp.StatusCode != 403 {
		t.Fatalf("old cookie after logout: %d", resp.StatusCode)
	}
	g.signal(syscall.SIGTERM)
	if err := g.wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	_, value, _ := strings.Cut(cookie, "=")
	g.checkLogSafe("open_sesame", value)
	if !strings.Contains(g.stderr.String(), `"consumer":"3f9a4b2c-fiona","session":"`) {
		t.Fatalf("the access log lacks the consumer and session fingerprint:\n%s", g.stderr)
	}
}

// load runs workers, each sending requests with its own cookie until stop
// is closed; it reports every outcome that is not 200 from fiona's
// session.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	failures     []string
	wg           sync.WaitGroup
}

func (l *load) run(t *testing.T, url string, cookies []string, stop <-chan struct{}) {
	for _, c := range cookies {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.sent.Add(1)
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Cookie", c)
				resp, err := client.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				var e echoed
				json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != 200 || e.get("X-Consumer-ID") != "3f9a4b2c-fiona" {
					l.fail(fmt.Sprintf("status %d consumer %q", resp.StatusCode, e.get("X-Consumer-ID")))
				}
			}
		}()
	}
}

func (l *load) fail(s string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 5 {
		l.failures = append(l.failures, s)
	}
	l.mu.Unlock()
}

func loginCookies(t *testing.T, base string, n int) []string {
	t.Helper()
	var cookies []string
	for range n {
		resp, _, body := call(t, "GET", base+"?apikey=open_sesame")
		c := sessionCookie(resp, "session")
		if resp.StatusCode != 200 || c == "" {
			t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		cookies = append(cookies, c)
	}
	return cookies
}

// TestReloadUnderLoad reloads the Kong walkthrough (sessions in a memory
// storage) with SIGHUP while clients keep using their sessions: valid
// changes, then an invalid directory, which the running configuration
// survives. No request fails and no session is lost.
func TestReloadUnderLoad(t *testing.T) {
	up := startUpstream(t)
	actions := actionsFor("example-service", up.URL)
	dir := copyDir(t, "../../example/sessiongw/kong-walkthrough", map[string]string{"actions.yaml": actions})
	g := startGW(t, dir)
	base := g.url + "/sessions-test"
	cookies := loginCookies(t, base, 6)

	// One request waits in the upstream across every reload: its
	// generation must stay usable until it is done.
	parked := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", base, nil)
		req.Header.Set("Cookie", cookies[0])
		req.Header.Set("X-Block", "1")
		resp, err := client.Do(req)
		if err != nil {
			parked <- 0
			return
		}
		resp.Body.Close()
		parked <- resp.StatusCode
	}()
	for up.parked.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	stop := make(chan struct{})
	var l load
	l.run(t, base, cookies, stop)
	sentBefore := func() int64 { return l.sent.Load() }
	for i := 1; i <= 4; i++ {
		n := sentBefore()
		// A real change each time: another timeout for the upstream.
		os.WriteFile(filepath.Join(dir, "actions.yaml"), []byte(strings.Replace(actions, "30s", fmt.Sprintf("%ds", 30+i), 1)), 0o600)
		g.signal(syscall.SIGHUP)
		g.waitLog(`"msg":"reloaded"`, i)
		for sentBefore() < n+200 { // requests flow across every reload
			time.Sleep(time.Millisecond)
		}
	}
	os.WriteFile(filepath.Join(dir, "routes.yaml"), []byte("routes:\n  - path: /x\n    action: nowhere\n"), 0o600)
	g.signal(syscall.SIGHUP)
	g.waitLog("reload failed; the running configuration stays", 1)
	n := sentBefore()
	for sentBefore() < n+200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	l.wg.Wait()
	close(up.release)
	if status := <-parked; status != 200 {
		t.Fatalf("the request in flight across the reloads got %d", status)
	}
	if l.failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed across reloads, e.g. %q", l.failed.Load(), l.sent.Load(), l.failures)
	}
	// Every session survived: the cookie alone still works.
	for _, c := range cookies {
		if resp, _, _ := call(t, "GET", base, "Cookie", c); resp.StatusCode != 200 || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("after reloads: %d Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
		}
	}
	if !strings.Contains(g.stderr.String(), "routes.yaml:3: routes[0].action") {
		t.Errorf("the failed reload does not say why:\n%s", g.stderr)
	}
	t.Logf("%d requests over 4 reloads and 1 refused reload, none failed", l.sent.Load())
	g.signal(syscall.SIGTERM)
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownUnderLoad sends SIGTERM while logins wait in the upstream
// and other clients keep going: every in-flight request finishes with 200
// and its session cookie, no response is a 5xx, the process exits 0, and
// a new gateway on the same redis accepts the sessions those in-flight
// logins created.
func TestShutdownUnderLoad(t *testing.T) {
	up, dir := kongOnRedis(t)
	g := startGW(t, dir)
	base := g.url + "/sessions-test"

	const inFlight = 6
	type result struct {
		status int
		cookie string
		err    error
	}
	results := make(chan result, inFlight)
	for range inFlight {
		go func() {
			req, _ := http.NewRequest("GET", base+"?apikey=open_sesame", nil)
			req.Header.Set("X-Block", "1")
			resp, err := client.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results <- result{status: resp.StatusCode, cookie: sessionCookie(resp, "session")}
		}()
	}
	for up.parked.Load() < inFlight {
		time.Sleep(time.Millisecond)
	}
	// Other clients keep sending until the gateway stops answering.
	cookies := loginCookies(t, base, 2)
	var fivexx, ok atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range cookies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", base, nil)
				req.Header.Set("Cookie", c)
				resp, err := client.Do(req)
				if err != nil {
					continue // refused once the listener is closed: never answered, never a 5xx
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					fivexx.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	for ok.Load() < 100 { // the load is flowing before the signal
		time.Sleep(time.Millisecond)
	}
	g.signal(syscall.SIGTERM)
	g.waitLog("shutting down: in-flight requests finish", 1)
	close(up.release)
	var saved []string
	for range inFlight {
		r := <-results
		if r.err != nil || r.status != 200 || r.cookie == "" {
			t.Fatalf("in-flight request: status %d cookie %q err %v", r.status, r.cookie, r.err)
		}
		saved = append(saved, r.cookie)
	}
	if err := g.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, g.stderr)
	}
	close(stop)
	wg.Wait()
	if fivexx.Load() > 0 {
		t.Fatalf("%d responses were 5xx during shutdown (%d fine)", fivexx.Load(), ok.Load())
	}
	// The in-flight logins' sessions were saved: a new gateway accepts them.
	g2 := startGW(t, dir)
	for _, c := range saved {
		resp, e, _ := call(t, "GET", g2.url+"/sessions-test", "Cookie", c)
		if resp.StatusCode != 200 || e.get("X-Consumer-ID") != "3f9a4b2c-fiona" {
			t.Fatalf("session of an in-flight login after restart: %d %q", resp.StatusCode, e.get("X-Consumer-ID"))
		}
	}
	t.Logf("%d in-flight logins finished and persisted; %d other responses during shutdown, none 5xx", inFlight, ok.Load())
}

// TestCheckAndSecret runs the check command and the secret rules.
func TestCheckAndSecret(t *testing.T) {
	runBin := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, ex := range []string{"../../example/sessiongw/seed-gateway", "../../example/sessiongw/kong-walkthrough"} {
		if out, err := runBin([]string{"SESSIONGW_SECRET=" + testSecret}, "check", ex); err != nil || !strings.Contains(out, ": ok") {
			t.Errorf("check %s: %v\n%s", ex, err, out)
		}
	}
	bad := copyDir(t, "../../example/sessiongw/seed-gateway", map[string]string{
		"routes.yaml": "routes:\n  - path: /dashboard\n    method: FETCH\n    action: HttpForwardToDashboardService\n",
	})
	if out, err := runBin(nil, "check", bad); err == nil || !strings.Contains(out, "routes.yaml:3: routes[0].method") {
		t.Errorf("check of a bad method: %v\n%s", err, out)
	}
	inYAML := copyDir(t, "../../example/sessiongw/seed-gateway", map[string]string{
		"storages.yaml": "storages:\n  S:\n    type: memory\n    secret: hunter2\n",
	})
	if out, err := runBin(nil, "check", inYAML); err == nil || !strings.Contains(out, "storages.yaml:4: storages.S.secret") || !strings.Contains(out, "SESSIONGW_SECRET") {
		t.Errorf("check of a secret in YAML: %v\n%s", err, out)
	}
	if out, err := runBin([]string{"SESSIONGW_SECRET=", "SESSIONGW_SECRET_FILE="}, "serve", "../../example/sessiongw/seed-gateway"); err == nil || !strings.Contains(out, "set $SESSIONGW_SECRET") {
		t.Errorf("serve without a secret: %v\n%s", err, out)
	}
	if out, err := runBin([]string{"SESSIONGW_SECRET=short"}, "serve", "../../example/sessiongw/seed-gateway"); err == nil || !strings.Contains(out, "at least 32") {
		t.Errorf("serve with a short secret: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(file, []byte(testSecret+"\n"), 0o600)
	if out, err := runBin([]string{"SESSIONGW_SECRET_FILE=" + file, "SESSIONGW_SECRET=" + testSecret}, "serve", "../../example/sessiongw/seed-gateway"); err == nil || !strings.Contains(out, "use one") {
		t.Errorf("serve with both: %v\n%s", err, out)
	}
}

// TestDemoUpstream serves the seed example with -demo-upstream: the
// listening URL is printed, and the route reaches the echo server.
func TestDemoUpstream(t *testing.T) {
	g := startGW(t, "../../example/sessiongw/seed-gateway", "-demo-upstream")
	resp, e, body := call(t, "GET", g.url+"/dashboard", "X-User-Id", "spoofed")
	if resp.StatusCode != 200 || e.Path != "/dashboard" || e.get("X-User-Id") != "" || !strings.Contains(body, "sessiongw demo echo") {
		t.Fatalf("demo: %d %s", resp.StatusCode, body)
	}
	if resp, _, _ := call(t, "GET", g.url+"/healthz"); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	g.signal(syscall.SIGTERM)
	if err := g.wait(); err != nil {
		t.Fatal(err)
	}
}

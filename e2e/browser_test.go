// Package e2e drives the counter example with a real, headless Chromium.
// It is a module of its own so that the library's go.mod never depends on
// chromedp. See README.md.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/sessionmw/go/internal/syncbuf"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionmw/go/sessionmw"
)

const (
	// buildTimeout bounds building the counter example: about a minute
	// with a cold build cache on a 2-core machine, seconds when warm.
	buildTimeout = 3 * time.Minute
	// testTimeout bounds everything after the build: server, browser and
	// every step.
	testTimeout = 90 * time.Second
)

// TestCounterInBrowser runs the counter example on a loopback port and
// visits it with headless Chromium: the counter counts 1, 2, 3 through the
// browser's own cookie jar, the HttpOnly session cookie stays invisible to
// page scripts, and after a logout the count starts again at 1.
func TestCounterInBrowser(t *testing.T) {
	if os.Getenv("SESSIONMW_BROWSER") != "1" && os.Getenv("CI") != "true" {
		t.Skip("browser test: set SESSIONMW_BROWSER=1 to run it (it needs chromium: apt-get install -y chromium)")
	}
	chrome := findChromium()
	if chrome == "" {
		t.Fatal("no chromium binary on PATH or at /usr/bin/chromium: install it with `apt-get install -y chromium`")
	}
	bin := buildCounter(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	base := startCounter(ctx, t, bin)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox, // root in a container: Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tempDir(t, "chromium-profile")),
	)
	defer cancelAlloc() // stops Chromium and waits for it
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()

	ua, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatalf("starting %s: %v", chrome, err)
	}
	t.Logf("browser: %s", ua)

	page := base + "/session_test"
	for want := 1; want <= 3; want++ {
		if got := visitCounter(bctx, t, page); got != want {
			t.Fatalf("visit %d: test_counter %d, want %d", want, got, want)
		}
	}

	// The session cookie is HttpOnly: the browser holds it, scripts do not see it.
	cookies, err := chromedp.Run(bctx, chromedp.Action[[]*network.Cookie](
		func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
			res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{page}})
			return res.Cookies, err
		}))
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	var sid *network.Cookie
	for _, c := range cookies {
		if c.Name == "sid" {
			sid = c
		}
	}
	if sid == nil {
		t.Fatalf("the browser holds no sid cookie (it holds %d cookies)", len(cookies))
	}
	if !sid.HTTPOnly || sid.Path != "/" || sid.SameSite != network.CookieSameSiteLax {
		t.Errorf("sid cookie: HttpOnly %v, Path %q, SameSite %q; want true, \"/\", Lax", sid.HTTPOnly, sid.Path, sid.SameSite)
	}
	docCookie, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatalf("evaluating document.cookie: %v", err)
	}
	if strings.Contains(docCookie, "sid=") {
		t.Errorf("document.cookie exposes the HttpOnly session cookie: %q", docCookie)
	}

	shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	file := filepath.Join(tempDir(t, "screenshot"), "counter.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, file)
	if keep := os.Getenv("SESSIONMW_SCREENSHOT"); keep != "" {
		if err := os.WriteFile(keep, shot, 0o644); err != nil {
			t.Errorf("SESSIONMW_SCREENSHOT: %v", err)
		}
	}

	// Log out from the page itself, as an application's script would.
	status, err := chromedp.Run(bctx, chromedp.Evaluate[int](
		`fetch('/logout', {method: 'POST', credentials: 'same-origin'}).then(r => r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusOK {
		t.Fatalf("POST /logout from the page: status %d, error %v", status, err)
	}
	if got := visitCounter(bctx, t, page); got != 1 {
		t.Fatalf("after logout: test_counter %d, want 1 (a fresh session)", got)
	}
}

var counterRE = regexp.MustCompile(`"test_counter":\s*(\d+)`)

// visitCounter navigates to the counter page and returns the count it shows.
func visitCounter(ctx context.Context, t *testing.T, url string) int {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("visiting %s: %v", url, err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("visiting %s: %v", url, err)
	}
	m := counterRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s shows no test_counter: %q", url, body)
	}
	n, _ := strconv.Atoi(m[1]) // digits, by the pattern
	return n
}

// findChromium returns the Chromium binary to drive, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// buildCounter builds the counter example and returns the binary's path.
func buildCounter(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	bin := filepath.Join(tempDir(t, "bin"), "counter")
	// Built in the root module, with the root's go.mod and go.sum: the
	// example's dependencies (a Redis client, …) are no business of this
	// module's go.sum.
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./example/counter")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./example/counter (in ..): %v\n%s", err, out)
	}
	return bin
}

// startCounter starts the counter binary on a free loopback port and
// returns its base URL. It is stopped when the test ends.
func startCounter(ctx context.Context, t *testing.T, bin string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	key := make([]byte, sessionmw.MinSecretKeyLen)
	rand.Read(key)
	var logs syncBuffer
	srv := exec.Command(bin, "-addr", addr, "-secret", hex.EncodeToString(key))
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		srv.Process.Signal(os.Interrupt) // graceful shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("counter's log:\n%s", logs.String())
		}
	})

	base := "http://" + addr
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		req.Header.Set("X-Skip-Session", "1")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("counter exited before serving: %v\n%s", waitErr, logs.String())
		case <-ctx.Done():
			t.Fatalf("counter did not answer on %s: %v", addr, errors.Join(err, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tempDir is t.TempDir that tolerates files Chromium's helper processes
// still write for a moment after the browser stopped.
func tempDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sessionmw-e2e-"+pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err := os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", dir)
	})
	return dir
}

// checkPNG fails unless file is a non-empty PNG image.
func checkPNG(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", file, len(b))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	if r := img.Bounds(); r.Dx() == 0 || r.Dy() == 0 {
		t.Fatalf("screenshot %s is empty: %v", file, r)
	}
	t.Logf("screenshot: %s (%d bytes, %dx%d)", file, len(b), img.Bounds().Dx(), img.Bounds().Dy())
}

type syncBuffer = syncbuf.Buffer

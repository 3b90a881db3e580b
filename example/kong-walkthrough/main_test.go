package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWalkthrough drives the seed's curl sequence against the example.
func TestWalkthrough(t *testing.T) {
	for _, storage := range []string{"cookie", "server"} {
		t.Run(storage, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ready, errc := make(chan string, 1), make(chan error, 1)
			go func() {
				errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-storage", storage, "-secret", strings.Repeat("k", 32)}, io.Discard, ready)
			}()
			var base string
			select {
			case a := <-ready:
				base = "http://" + a + "/sessions-test"
			case err := <-errc:
				t.Fatal(err)
			}
			defer func() {
				cancel()
				if err := <-errc; err != nil {
					t.Error(err)
				}
			}()
			do := func(method, url, cookie string) (*http.Response, map[string]any) {
				t.Helper()
				req, _ := http.NewRequest(method, url, nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				return resp, body
			}

			// Step 8: anonymous → 403.
			if resp, body := do("GET", base, ""); resp.StatusCode != 403 || body["message"] != "So long and thanks for all the fish!" {
				t.Fatalf("no key: %d %v", resp.StatusCode, body)
			}
			// A forged identity header changes nothing.
			req, _ := http.NewRequest("GET", base, nil)
			req.Header.Set("Session-Subject", "fiona")
			if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 403 {
				t.Fatalf("forged Session-Subject: %d", resp.StatusCode)
			}
			// Step 9: with the key → 200 and a session cookie.
			resp, body := do("GET", base+"?apikey=open_sesame", "")
			sc := resp.Header.Get("Set-Cookie")
			if resp.StatusCode != 200 || body["consumer"] != "fiona" || !strings.HasPrefix(sc, "session=") {
				t.Fatalf("with key: %d %v Set-Cookie %q", resp.StatusCode, body, sc)
			}
			for _, attr := range []string{"Path=/", "SameSite=Strict", "HttpOnly"} {
				if !strings.Contains(sc, attr) {
					t.Fatalf("Set-Cookie %q lacks %s", sc, attr)
				}
			}
			cookie, _, _ := strings.Cut(sc, ";")
			// The cookie alone → 200, no new Set-Cookie until renewal; the
			// upstream learns the subject from the session.
			resp, body = do("GET", base, cookie)
			if resp.StatusCode != 200 || resp.Header.Get("Set-Cookie") != "" || body["consumer"] != "fiona" {
				t.Fatalf("cookie alone: %d %v Set-Cookie %q", resp.StatusCode, body, resp.Header.Get("Set-Cookie"))
			}
			if h, _ := body["headers"].(map[string]any); h["Session-Subject"] != "fiona" || h["Session-Timeout"] == nil {
				t.Fatalf("upstream headers %v", body["headers"])
			}
			// Logout → 200 and an expired cookie.
			resp, _ = do("DELETE", base+"?session_logout", cookie)
			if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("logout: %d Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
			}
			// The old cookie → 403.
			if resp, body := do("GET", base, cookie); resp.StatusCode != 403 {
				t.Fatalf("old cookie after logout: %d %v", resp.StatusCode, body)
			}
		})
	}
}

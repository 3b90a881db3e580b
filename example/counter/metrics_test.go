package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestCounterMetrics: with -metrics, scripted traffic moves the counters
// served in Prometheus' text format at /metrics, each by its reason.
func TestCounterMetrics(t *testing.T) {
	base, logs := startCounter(t, "-metrics", "127.0.0.1:0")
	// startMetrics logs the URL before the counter reports itself ready.
	m := regexp.MustCompile(`msg="metrics listening" url=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no metrics URL in the log:\n%s", logs.String())
	}
	metricsURL := m[1]

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for range 3 { // a new session, then two requests of its own
		if resp, _ := get(t, c, "GET", base+"/session_test"); resp.StatusCode != http.StatusOK {
			t.Fatalf("session_test: %d", resp.StatusCode)
		}
	}
	// A tampered cookie starts a fresh session (which this request writes).
	get(t, &http.Client{}, "GET", base+"/session_test", "Cookie", "sid="+strings.Repeat("A", 60))
	get(t, c, "POST", base+"/logout")
	get(t, c, "GET", base+"/healthz", "X-Skip-Session", "1")

	resp, body := get(t, &http.Client{}, "GET", metricsURL)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := parseProm(t, strings.NewReader(body))
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`sessionmw_sessions_created_total{sessionmw_reason="new"}`, 2},
		{`sessionmw_sessions_loaded_total{}`, 3}, // two reads and the logout
		{`sessionmw_sessions_destroyed_total{sessionmw_reason="logout"}`, 1},
		{`sessionmw_credentials_refused_total{sessionmw_reason="bad_signature",sessionmw_source="cookie:sid"}`, 1},
		{`sessionmw_store_operation_duration_seconds_count{sessionmw_operation="save"}`, 4},
		{`sessionmw_store_operation_duration_seconds_count{sessionmw_operation="load"}`, 3},
		{`sessionmw_store_operation_duration_seconds_count{sessionmw_operation="delete"}`, 1},
		{`sessionmw_store_operation_duration_seconds_bucket{sessionmw_operation="load",le="+Inf"}`, 3},
		{`sessionmw_sessions_active{}`, 1}, // MemoryIO's Len: two created, one destroyed
	} {
		if got, ok := samples[c.series]; !ok || got != c.want {
			t.Errorf("%s = %v (present %v), want %v", c.series, got, ok, c.want)
		}
	}
	for _, help := range []string{
		"# TYPE sessionmw_sessions_created_total counter",
		"# TYPE sessionmw_store_operation_duration_seconds histogram",
		"# TYPE sessionmw_sessions_active gauge",
	} {
		if !strings.Contains(body, help) {
			t.Errorf("/metrics lacks %q", help)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// parseProm reads Prometheus' text format into "name{labels}" → value,
// the labels in their order, otel_scope_* ones left out.
func parseProm(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		var keep []string
		for _, l := range strings.Split(strings.TrimSuffix(labels, "}"), ",") {
			if l != "" && !strings.HasPrefix(l, "otel_scope_") {
				keep = append(keep, l)
			}
		}
		out[name+"{"+strings.Join(keep, ",")+"}"] = v
	}
	return out
}

// TestCounterMetricsBadAddr: a -metrics address that cannot be listened
// on stops the counter before it serves.
func TestCounterMetricsBadAddr(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-secret", "an example secret of at least 32 bytes!!", "-metrics", "127.0.0.1:99999"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "-metrics") {
		t.Fatalf("run = %v, want a -metrics error", err)
	}
}

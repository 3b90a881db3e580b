package sessionmw

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRateLimitedCountsWhatItHolds: within the interval one line per kind
// is written; the next one after it says how many were held back; Info
// lines are never held.
func TestRateLimitedCountsWhatItHolds(t *testing.T) {
	var buf bytes.Buffer
	h := &rateLimited{inner: slog.NewTextHandler(&buf, nil), every: time.Second, kinds: &sync.Map{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rec := func(at time.Duration, level slog.Level, msg, reason string) {
		r := slog.NewRecord(t0.Add(at), level, msg, 0)
		r.AddAttrs(slog.String("reason", reason))
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		rec(time.Duration(i)*10*time.Millisecond, slog.LevelWarn, "refused", "bad")
		rec(time.Duration(i)*10*time.Millisecond, slog.LevelWarn, "refused", "other")
		rec(time.Duration(i)*10*time.Millisecond, slog.LevelInfo, "routine", "x")
	}
	rec(1200*time.Millisecond, slog.LevelWarn, "refused", "bad")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var warns, infos int
	for _, l := range lines {
		switch {
		case strings.Contains(l, "level=WARN"):
			warns++
		case strings.Contains(l, "level=INFO"):
			infos++
		}
	}
	if warns != 3 || infos != 50 {
		t.Fatalf("%d warning and %d info lines, want 3 and 50:\n%s", warns, infos, buf.String())
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "reason=bad") || !strings.Contains(last, "suppressed=49") {
		t.Fatalf("the line after the interval: %q, want suppressed=49", last)
	}
}

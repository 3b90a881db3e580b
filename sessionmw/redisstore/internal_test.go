package redisstore

import (
	"strings"
	"testing"
	"time"
)

func TestRecentWrites(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	const w = time.Second
	tests := []struct {
		name  string
		after time.Duration // from the write to the check
		want  bool
	}{
		{"right after the write", 0, true},
		{"within the window", w / 2, true},
		{"at the window's end", w, true},                        // still in the previous generation
		{"kept up to two windows", 2*w - time.Nanosecond, true}, // the bound is one to two windows
		{"forgotten after two windows", 2 * w, false},
		{"forgotten long after", time.Hour, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecentWrites(w, t0)
			r.addAt("id", t0)
			if got := r.containsAt("id", t0.Add(tc.after)); got != tc.want {
				t.Fatalf("containsAt(+%v) = %v, want %v", tc.after, got, tc.want)
			}
			if r.containsAt("other", t0.Add(tc.after)) {
				t.Fatal("an id never written is reported as written")
			}
		})
	}
}

func TestRecentWritesBounded(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	r := newRecentWrites(time.Second, t0)
	for i := range 1000 {
		r.addAt(strings.Repeat("x", i), t0)
	}
	r.addAt("late", t0.Add(1500*time.Millisecond)) // rotates: 1000 ids move to prev
	r.addAt("later", t0.Add(3100*time.Millisecond))
	if n := len(r.cur) + len(r.prev); n > 2 {
		t.Fatalf("%d ids remembered after two windows without their writes, want at most 2", n)
	}
}

func TestFingerprint(t *testing.T) {
	id := "0123456789abcdef0123456789abcdef"
	fp := fingerprint(id)
	if len(fp) != 8 || strings.Contains(id, fp) {
		t.Fatalf("fingerprint(%q) = %q, want 8 hex digits that are not part of the id", id, fp)
	}
	if fingerprint(id) != fp || fingerprint(id+"x") == fp {
		t.Fatal("fingerprint is not a stable function of the id")
	}
}

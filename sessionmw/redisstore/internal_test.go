package redisstore

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
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

func TestGroupsEncoding(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		enc    string
	}{
		{"none", nil, ""},
		{"empty list is none", []string{}, ""},
		{"two", []string{"admins", "ops"}, "6:admins3:ops"},
		{"an empty group", []string{""}, "0:"},
		{"separator and digits inside", []string{"3:x", "a:b"}, "3:3:x3:a:b"},
		{"not UTF-8", []string{"\xff\xfe"}, "2:\xff\xfe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeGroups(tc.groups); got != tc.enc {
				t.Fatalf("encodeGroups = %q, want %q", got, tc.enc)
			}
			got, err := decodeGroups(tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.groups
			if len(want) == 0 {
				want = nil // no groups always comes back nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decodeGroups = %q, want %q", got, want)
			}
		})
	}
	for _, bad := range []string{
		"x",             // no length
		":a",            // empty length
		"3:ab",          // shorter than its length
		"-1:a",          // a sign
		"+1:a",          // a sign
		"1:a2",          // a trailing length without a colon
		"99999999999:a", // a length that would overflow
		"1:a 1:b",       // junk between items
	} {
		if g, err := decodeGroups(bad); err == nil {
			t.Errorf("decodeGroups(%q) = %q, want an error", bad, g)
		}
	}
}

// FuzzGroups checks that any list of groups round-trips, and that any
// stored field decodes or fails without panicking.
func FuzzGroups(f *testing.F) {
	f.Add("admins\x00ops", "6:admins3:ops")
	f.Add("", "0:")
	f.Add("\xff", "12:")
	f.Fuzz(func(t *testing.T, joined, stored string) {
		var groups []string
		if joined != "" {
			groups = strings.Split(joined, "\x00")
		}
		got, err := decodeGroups(encodeGroups(groups))
		if err != nil || !reflect.DeepEqual(got, groups) {
			t.Fatalf("round trip of %q: %q, %v", groups, got, err)
		}
		if g, err := decodeGroups(stored); err == nil {
			if again, err := decodeGroups(encodeGroups(g)); err != nil || !reflect.DeepEqual(again, g) {
				t.Fatalf("%q decodes to %q, which does not round-trip", stored, g)
			}
		}
	})
}

// dropEntries removes an entry only while its score is the one read: a
// Save between the read and the removal raises the score and keeps it.
func TestDropEntriesKeepsReAdded(t *testing.T) {
	srv := redistest.Start(t)
	s, err := New(context.Background(), srv.URL(), WithPrefix("dr:"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	score := func() (string, bool) {
		f, err := s.client.Do(ctx, s.client.B().Zscore().Key("dr:subject:sub").Member("id").Build()).AsFloat64()
		if err != nil {
			return "", false
		}
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	save := func() {
		u := sessionmw.Update{Replace: true, Meta: sessionmw.Meta{Subject: "sub"}}
		if err := s.Save(ctx, "id", u, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	save()
	read, ok := score()
	if !ok {
		t.Fatal("id not indexed")
	}
	save() // at once, with the same TTL: the score must still move
	if now, _ := score(); now == read {
		t.Fatalf("score %s unchanged by a second Save", now)
	}
	s.dropEntries(ctx, "sub", []indexEntry{{"id", read}})
	if _, ok := score(); !ok {
		t.Fatal("an entry re-added after it was read was dropped")
	}
	now, _ := score()
	s.dropEntries(ctx, "sub", []indexEntry{{"id", now}})
	if _, ok := score(); ok {
		t.Fatal("an unchanged entry was not dropped")
	}
}

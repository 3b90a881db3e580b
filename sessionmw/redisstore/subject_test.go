package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/internal/redistest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// as is the metadata of a session of subject created at created.
func as(subject string, created int64) sessionmw.Meta {
	return sessionmw.Meta{Created: created, Issued: created, Saved: created, Subject: subject}
}

// listIDs returns the ids SubjectSessions lists for subject, in order.
func listIDs(t testing.TB, s *redisstore.Store, subject string) []string {
	t.Helper()
	infos, err := s.SubjectSessions(context.Background(), subject)
	if err != nil {
		t.Fatalf("SubjectSessions(%q): %v", subject, err)
	}
	ids := []string{}
	for _, in := range infos {
		if in.Meta.Subject != subject {
			t.Fatalf("SubjectSessions(%q) lists %q of subject %q", subject, in.ID, in.Meta.Subject)
		}
		ids = append(ids, in.ID)
	}
	return ids
}

// zscore returns the score of id in the index at key, and whether it is
// there.
func zscore(t testing.TB, raw valkey.Client, key, id string) (float64, bool) {
	t.Helper()
	f, err := do(t, raw, "ZSCORE", key, id).AsFloat64()
	if valkey.IsValkeyNil(err) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("ZSCORE %s %s: %v", key, id, err)
	}
	return f, true
}

func pttl(t testing.TB, raw valkey.Client, key string) time.Duration {
	t.Helper()
	ms, err := do(t, raw, "PTTL", key).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ms) * time.Millisecond
}

func serverMillis(t testing.TB, raw valkey.Client) int64 {
	t.Helper()
	tm, err := do(t, raw, "TIME").AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := strconv.ParseInt(tm[0], 10, 64)
	usec, _ := strconv.ParseInt(tm[1], 10, 64)
	return sec*1000 + usec/1000
}

// A subject's index is a sorted set scored by expiry; the key lives as
// long as its longest entry, and goes away by itself.
func TestSubjectIndexExpiry(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("ix:"))
	raw := rawClient(t, srv.Addr())
	const idx = "ix:subject:alice"

	before := serverMillis(t, raw)
	mustSave(t, s, "short", sessionmw.Update{Replace: true, Meta: as("alice", 1)}, time.Hour)
	mustSave(t, s, "long", sessionmw.Update{Replace: true, Meta: as("alice", 2)}, 2*time.Hour)
	if typ, _ := do(t, raw, "TYPE", idx).ToString(); typ != "zset" {
		t.Fatalf("TYPE %s = %q, want zset", idx, typ)
	}
	long, ok := zscore(t, raw, idx, "long")
	if !ok {
		t.Fatal("long is not in the index")
	}
	if exp := float64(before + (2 * time.Hour).Milliseconds()); long < exp {
		t.Fatalf("score %.0f is before the session's expiry %.0f", long, exp)
	}
	if got := pttl(t, raw, idx); got < 2*time.Hour || got > 2*time.Hour+time.Minute {
		t.Fatalf("index PTTL = %v, want the longest session's TTL (2h) and a little", got)
	}

	// Shortening a session (a renewed id's grace period) may neither lower
	// its score nor the index's TTL: a concurrent Save may have extended it.
	mustSave(t, s, "long", sessionmw.Update{Meta: as("alice", 2)}, time.Minute)
	if again, _ := zscore(t, raw, idx, "long"); again <= long {
		t.Fatalf("score went from %.0f to %.0f, want it raised", long, again)
	}
	if got := pttl(t, raw, idx); got < 2*time.Hour-time.Minute {
		t.Fatalf("index PTTL = %v after a shorter save, want it kept", got)
	}

	// An index whose sessions all expire expires too.
	mustSave(t, s, "brief", sessionmw.Update{Replace: true, Meta: as("bob", 1)}, 50*time.Millisecond)
	if got := pttl(t, raw, "ix:subject:bob"); got <= 0 || got > 2*time.Second {
		t.Fatalf("PTTL of bob's index = %v, want in (0, 2s]", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := do(t, raw, "EXISTS", "ix:subject:bob").AsInt64(); n != 0; n, _ = do(t, raw, "EXISTS", "ix:subject:bob").AsInt64() {
		if time.Now().After(deadline) {
			t.Fatal("bob's index outlived its only session by 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// No key of the store is ever left without an expiry.
	keys, err := do(t, raw, "KEYS", "ix:*").AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if p := pttl(t, raw, k); p < 0 {
			t.Errorf("%s: PTTL %v", k, p)
		}
	}
}

// Subjects and ids are arbitrary strings: none can name another's key,
// whatever separators or hash-tag braces it holds.
func TestSubjectIndexHostileSubjects(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("h:"))
	raw := rawClient(t, srv.Addr())
	subjects := []string{
		"a:b",                     // the separator
		"subject:",                // the index sub-prefix itself
		"session:x",               // the session sub-prefix
		"{x}",                     // a hash tag
		"{x}:session:{y}",         // both
		"{",                       // an unbalanced brace
		"*",                       // a KEYS pattern
		"with space\nand\r\n",     // protocol characters
		"ünï\xff",                 // not UTF-8
		strings.Repeat("z", 4096), // long
	}
	for i, sub := range subjects {
		// Under a layout of prefix+id and prefix+"subject:"+subject, each
		// id below would be its own subject's index.
		id := "subject:" + sub
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("i", i)}, Meta: as(sub, int64(i))}, time.Hour)
		mustSave(t, s, sub, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("i", -i)}, Meta: as(sub, int64(i)+100)}, time.Hour)
	}
	for i, sub := range subjects {
		if got, want := listIDs(t, s, sub), []string{"subject:" + sub, sub}; !reflect.DeepEqual(got, want) {
			t.Errorf("subject %.20q: sessions %.40q, want %.40q", sub, got, want)
		}
		if v, _ := mustLoad(t, s, "subject:"+sub).Get("i"); v != i {
			t.Errorf("subject %.20q: session's value %v, want %d", sub, v, i)
		}
		if typ, _ := do(t, raw, "TYPE", "h:subject:"+sub).ToString(); typ != "zset" {
			t.Errorf("subject %.20q: index is a %s", sub, typ)
		}
	}
	keys, err := do(t, raw, "KEYS", "h:*").AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		typ, _ := do(t, raw, "TYPE", k).ToString()
		if !(strings.HasPrefix(k, "h:session:") && typ == "hash") && !(strings.HasPrefix(k, "h:subject:") && typ == "zset") {
			t.Errorf("key %.40q is a %s", k, typ)
		}
	}
	if n := len(keys); n != 3*len(subjects) {
		t.Errorf("%d keys, want %d (two sessions and an index per subject)", n, 3*len(subjects))
	}
}

// Listing a subject's many sessions costs two round trips, never a scan,
// and gives them oldest first; it drops what is stale from the index.
func TestSubjectIndexMany(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("many:"))
	raw := rawClient(t, srv.Addr())
	const n = 1000
	const idx = "many:subject:carol"
	created := rand.Perm(n)
	for i := range n {
		// Sessions come in pairs with one creation time: ties go by id.
		c := int64(created[i] / 2 * 2)
		mustSave(t, s, fmt.Sprintf("c%04d", i), sessionmw.Update{Replace: true, Meta: as("carol", c)}, time.Hour)
	}
	mustSave(t, s, "other", sessionmw.Update{Replace: true, Meta: as("dave", 0)}, time.Hour)
	mustSave(t, s, "anonymous", sessionmw.Update{Replace: true}, time.Hour)

	gone := map[string]bool{}
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("c%04d", i*7)
		gone[id] = true
		switch i % 3 {
		case 0: // logged out
			if err := s.Delete(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		case 1: // deleted behind the store's back, or evicted
			do(t, raw, "DEL", "many:session:"+id)
		case 2: // moved to another subject
			mustSave(t, s, id, sessionmw.Update{Replace: true, Meta: as("dave", 1)}, time.Hour)
		}
	}

	scans := commandCalls(t, raw, "scan") + commandCalls(t, raw, "keys")
	infos, err := s.SubjectSessions(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if got := commandCalls(t, raw, "scan") + commandCalls(t, raw, "keys"); got != scans {
		t.Fatal("SubjectSessions scanned the keyspace")
	}
	var want []sessionmw.SessionInfo
	for i := range n {
		id := fmt.Sprintf("c%04d", i)
		if !gone[id] {
			want = append(want, sessionmw.SessionInfo{ID: id, Meta: as("carol", int64(created[i]/2*2))})
		}
	}
	slices.SortFunc(want, func(a, b sessionmw.SessionInfo) int {
		if a.Meta.Created != b.Meta.Created {
			return int(a.Meta.Created - b.Meta.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(infos) != len(want) {
		t.Fatalf("%d sessions listed, want %d", len(infos), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(infos[i], want[i]) {
			t.Fatalf("session %d: %+v, want %+v", i, infos[i], want[i])
		}
	}
	// The entries of the sessions that are gone or moved were dropped.
	if card, _ := do(t, raw, "ZCARD", idx).AsInt64(); card != int64(len(want)) {
		t.Fatalf("ZCARD %s = %d after listing, want %d", idx, card, len(want))
	}
	if got := listIDs(t, s, "dave"); len(got) != 11 {
		t.Fatalf("dave's sessions: %v, want other and the 10 moved", got)
	}
}

// The index follows Save and Delete at once, not only when listed.
func TestSubjectIndexMaintenance(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, redisstore.WithPrefix("mt:"))
	raw := rawClient(t, srv.Addr())
	ctx := context.Background()

	t.Run("Delete removes the entry", func(t *testing.T) {
		mustSave(t, s, "d1", sessionmw.Update{Replace: true, Meta: as("erin", 1)}, time.Hour)
		mustSave(t, s, "d2", sessionmw.Update{Replace: true, Meta: as("erin", 2)}, time.Hour)
		if err := s.Delete(ctx, "d1"); err != nil {
			t.Fatal(err)
		}
		if _, ok := zscore(t, raw, "mt:subject:erin", "d1"); ok {
			t.Fatal("d1 still in the index after Delete")
		}
		if _, ok := zscore(t, raw, "mt:subject:erin", "d2"); !ok {
			t.Fatal("Delete of d1 removed d2")
		}
	})
	t.Run("a new subject moves the entry", func(t *testing.T) {
		mustSave(t, s, "m", sessionmw.Update{Replace: true, Meta: as("frank", 1)}, time.Hour)
		mustSave(t, s, "m", sessionmw.Update{Meta: as("grace", 1)}, time.Hour)
		if _, ok := zscore(t, raw, "mt:subject:frank", "m"); ok {
			t.Fatal("m still in frank's index")
		}
		if _, ok := zscore(t, raw, "mt:subject:grace", "m"); !ok {
			t.Fatal("m not in grace's index")
		}
		mustSave(t, s, "m", sessionmw.Update{Meta: sessionmw.Meta{Created: 1}}, time.Hour) // logged out, kept
		if _, ok := zscore(t, raw, "mt:subject:grace", "m"); ok {
			t.Fatal("m still in grace's index after its subject was cleared")
		}
	})
	t.Run("a delta on a missing session leaves no entry", func(t *testing.T) {
		err := s.Save(ctx, "missing", sessionmw.Update{Meta: as("heidi", 1)}, time.Hour)
		if err == nil {
			t.Fatal("delta on a missing session succeeded")
		}
		if n, _ := do(t, raw, "EXISTS", "mt:subject:heidi").AsInt64(); n != 0 {
			t.Fatal("a failed delta left an index behind")
		}
	})
	t.Run("anonymous sessions are not indexed", func(t *testing.T) {
		mustSave(t, s, "anon", sessionmw.Update{Replace: true}, time.Hour)
		if n, _ := do(t, raw, "EXISTS", "mt:subject:").AsInt64(); n != 0 {
			t.Fatal("an anonymous session has an index")
		}
		if got := listIDs(t, s, ""); len(got) != 0 {
			t.Fatalf("sessions of the empty subject: %v", got)
		}
	})
	t.Run("scripts flushed", func(t *testing.T) {
		do(t, raw, "SCRIPT", "FLUSH")
		mustSave(t, s, "f", sessionmw.Update{Replace: true, Meta: as("ivan", 1)}, time.Hour)
		if got := listIDs(t, s, "ivan"); !reflect.DeepEqual(got, []string{"f"}) {
			t.Fatalf("ivan's sessions: %v", got)
		}
		do(t, raw, "SCRIPT", "FLUSH")
		if err := s.Delete(ctx, "f"); err != nil {
			t.Fatal(err)
		}
		if n, _ := do(t, raw, "EXISTS", "mt:subject:ivan").AsInt64(); n != 0 {
			t.Fatal("ivan's index survived the Delete of its only session")
		}
	})
}

// Package storetest is a conformance suite for implementations of
// sessionmw.Store, in the spirit of testing/fstest.TestFS: every store in
// this module runs it, and third-party stores should too.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) sessionmw.Store {
//			s := mystore.New(...)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// newStore is called once per subtest and must return an empty store.
// The suite checks round trips (types preserved, also for sessions of a
// single value of each basic type, which a store may keep specially),
// Replace and delta semantics, ErrNotFound for a delta on a missing id,
// TTL expiry (it waits for a TTL of a few milliseconds to pass, polling
// with a deadline), deletion, unknown ids, concurrent use, and that a
// record superseded by renewal (Meta.Successor set) refuses every later
// Save, so that marking a successor is a compare-and-set.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	sessvalues "github.com/sessionmw/go/sessionmw/internal/values"
)

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) sessionmw.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s sessionmw.Store)
	}{
		{"UnknownID", testUnknown},
		{"RoundTrip", testRoundTrip},
		{"ValueTypes", testValueTypes},
		{"SingleValueTypes", testSingleValues},
		{"ReplaceDropsOldValues", testReplace},
		{"DeltaMerges", testDelta},
		{"DeltaOnMissingIsNotFound", testDeltaMissing},
		{"Delete", testDelete},
		{"TTLExpiry", testTTL},
		{"TTLExtendedBySave", testTTLExtended},
		{"RecordImmutable", testImmutable},
		{"ConcurrentDistinctKeys", testConcurrent},
		{"ManySessions", testMany},
		{"SupersededIsFrozen", testSuperseded},
		{"SupersedeIsCompareAndSet", testSupersedeCAS},
		{"SubjectIndex", testSubjectIndex},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

const hour = time.Hour

func meta(n int64) sessionmw.Meta {
	return sessionmw.Meta{
		Created: n, Issued: n + 1, Saved: n + 2,
		Subject:    fmt.Sprintf("user-%d", n),
		Credential: "cred", Groups: []string{"admins", "ops"}, Audience: "app", Remember: "rem", Bind: "bound", Sealed: "opaque",
		Deadline: n + 3, Persist: n%2 == 0,
	}
}

func mustSave(t *testing.T, s sessionmw.Store, id string, u sessionmw.Update, ttl time.Duration) {
	t.Helper()
	if err := s.Save(context.Background(), id, u, ttl); err != nil {
		t.Fatalf("Save(%q): %v", id, err)
	}
}

func mustLoad(t *testing.T, s sessionmw.Store, id string) *sessionmw.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%q): %v", id, err)
	}
	return r
}

func e(k string, v any) sessionmw.Entry { return sessionmw.Entry{Key: k, Value: v} }

func values(r *sessionmw.Record) map[string]any {
	m := map[string]any{}
	for _, e := range r.Values {
		if _, dup := m[e.Key]; dup {
			panic("duplicate key " + e.Key)
		}
		m[e.Key] = e.Value
	}
	return m
}

func testUnknown(t *testing.T, s sessionmw.Store) {
	if r := mustLoad(t, s, "00000000-0000-4000-8000-000000000000"); r != nil {
		t.Fatalf("Load of unknown id = %+v, want nil", r)
	}
	if err := s.Delete(context.Background(), "00000000-0000-4000-8000-000000000001"); err != nil {
		t.Fatalf("Delete of unknown id: %v", err)
	}
}

func testRoundTrip(t *testing.T, s sessionmw.Store) {
	want := map[string]any{
		"int":     42,
		"big":     int64(1) << 40,
		"string":  "héllo",
		"bool":    true,
		"float":   2.5,
		"strings": []string{"a", "b"},
		"bytes":   []byte{0, 1, 2},
		"empty":   "",
	}
	var set []sessionmw.Entry
	for k, v := range want {
		set = append(set, sessionmw.Entry{Key: k, Value: v})
	}
	mustSave(t, s, "rt", sessionmw.Update{Replace: true, Set: set, Meta: meta(100)}, hour)
	r := mustLoad(t, s, "rt")
	if r == nil {
		t.Fatal("Load after Save = nil")
	}
	if got := values(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("values = %#v\nwant %#v", got, want)
	}
	if !reflect.DeepEqual(r.Meta, meta(100)) {
		t.Fatalf("meta = %+v, want %+v", r.Meta, meta(100))
	}
	if v, ok := r.Get("int"); !ok || v != 42 {
		t.Fatalf("Get(int) = %v (%T), %v; want 42 (int)", v, v, ok)
	}
}

// testSingleValues saves sessions holding one value each, of every basic
// type, with only timestamps and an audience for metadata (a form a store
// may keep specially, as MemoryIO does), and loads each twice, before and
// after a delta that leaves the value alone.
func testSingleValues(t *testing.T, s sessionmw.Store) {
	vals := []any{
		true, 0, -1, 1 << 40, int8(-128), int16(300), int32(-70000), int64(-1 << 50),
		uint(7), uint8(255), uint16(65535), uint32(1 << 31), uint64(1 << 63),
		float32(1.5), -2.25, "", "x",
	}
	for i, v := range vals {
		id := fmt.Sprintf("one%d", i)
		m := sessionmw.Meta{Created: int64(i) + 1, Issued: int64(i) + 1, Saved: int64(i) + 1}
		if i%2 == 1 {
			m.Audience = "app"
		}
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("v", v)}, Meta: m}, hour)
		for round := range 2 {
			r := mustLoad(t, s, id)
			if r == nil {
				t.Fatalf("%T %v: not loadable", v, v)
			}
			if got, _ := r.Get("v"); got != v || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", v) || len(r.Values) != 1 {
				t.Fatalf("%T %v (round %d): loaded %T %v (%d values)", v, v, round, got, got, len(r.Values))
			}
			if !reflect.DeepEqual(r.Meta, m) {
				t.Fatalf("%T %v (round %d): meta %+v, want %+v", v, v, round, r.Meta, m)
			}
			m.Saved++
			mustSave(t, s, id, sessionmw.Update{Set: []sessionmw.Entry{e("other", 1)}, Delete: []string{"other"}, Meta: m}, hour)
		}
	}
}

func testReplace(t *testing.T, s sessionmw.Store) {
	mustSave(t, s, "rp", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1), e("b", 2)}}, hour)
	mustSave(t, s, "rp", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("c", 3)}, Meta: meta(7)}, hour)
	r := mustLoad(t, s, "rp")
	if got, want := values(r), map[string]any{"c": 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after Replace values = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.Meta, meta(7)) {
		t.Fatalf("meta = %+v, want %+v", r.Meta, meta(7))
	}
}

func testDelta(t *testing.T, s sessionmw.Store) {
	mustSave(t, s, "d", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1), e("b", 2), e("c", 3)}, Meta: meta(1)}, hour)
	mustSave(t, s, "d", sessionmw.Update{Set: []sessionmw.Entry{e("a", 10), e("d", 4)}, Delete: []string{"b", "zz"}, Meta: meta(2)}, hour)
	r := mustLoad(t, s, "d")
	if got, want := values(r), map[string]any{"a": 10, "c": 3, "d": 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after delta values = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.Meta, meta(2)) {
		t.Fatalf("meta = %+v, want %+v", r.Meta, meta(2))
	}
	// An empty delta only refreshes metadata and TTL (a "touch").
	mustSave(t, s, "d", sessionmw.Update{Meta: meta(3)}, hour)
	r = mustLoad(t, s, "d")
	if got, want := values(r), map[string]any{"a": 10, "c": 3, "d": 4}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after touch values = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.Meta, meta(3)) {
		t.Fatalf("meta after touch = %+v, want %+v", r.Meta, meta(3))
	}
}

func testDeltaMissing(t *testing.T, s sessionmw.Store) {
	err := s.Save(context.Background(), "gone", sessionmw.Update{Set: []sessionmw.Entry{e("a", 1)}}, hour)
	if !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("delta Save on missing id: err = %v, want ErrNotFound", err)
	}
	if r := mustLoad(t, s, "gone"); r != nil {
		t.Fatalf("delta Save on missing id created a record: %+v", r)
	}
}

func testDelete(t *testing.T, s sessionmw.Store) {
	mustSave(t, s, "del", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, hour)
	mustSave(t, s, "keep", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 2)}}, hour)
	if err := s.Delete(context.Background(), "del"); err != nil {
		t.Fatal(err)
	}
	if r := mustLoad(t, s, "del"); r != nil {
		t.Fatalf("Load after Delete = %+v, want nil", r)
	}
	if r := mustLoad(t, s, "keep"); r == nil {
		t.Fatal("Delete removed another id")
	}
	if err := s.Save(context.Background(), "del", sessionmw.Update{Set: []sessionmw.Entry{e("b", 1)}}, hour); !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("delta after Delete: err = %v, want ErrNotFound", err)
	}
}

// waitGone polls until id is gone or the deadline passes.
func waitGone(t *testing.T, s sessionmw.Store, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if mustLoad(t, s, id) == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("id %q still loadable %v after its TTL", id, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testTTL(t *testing.T, s sessionmw.Store) {
	mustSave(t, s, "short", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, 20*time.Millisecond)
	mustSave(t, s, "long", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, hour)
	waitGone(t, s, "short", 3*time.Second)
	if mustLoad(t, s, "long") == nil {
		t.Fatal("a session with a one-hour TTL expired")
	}
	if err := s.Save(context.Background(), "short", sessionmw.Update{Set: []sessionmw.Entry{e("b", 1)}}, hour); !errors.Is(err, sessionmw.ErrNotFound) {
		t.Fatalf("delta after expiry: err = %v, want ErrNotFound", err)
	}
}

func testTTLExtended(t *testing.T, s sessionmw.Store) {
	mustSave(t, s, "x", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, hour)
	// Shorten through an empty delta, as the middleware does for a renewed id's grace period.
	mustSave(t, s, "x", sessionmw.Update{}, 20*time.Millisecond)
	waitGone(t, s, "x", 3*time.Second)
}

func testImmutable(t *testing.T, s sessionmw.Store) {
	set := []sessionmw.Entry{e("a", 1)}
	mustSave(t, s, "im", sessionmw.Update{Replace: true, Set: set}, hour)
	set[0] = e("evil", 666) // caller reuses its slice
	r1 := mustLoad(t, s, "im")
	mustSave(t, s, "im", sessionmw.Update{Set: []sessionmw.Entry{e("a", 2)}}, hour)
	if got, want := values(r1), map[string]any{"a": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("earlier loaded record changed to %v, want %v", got, want)
	}
	if got, want := values(mustLoad(t, s, "im")), map[string]any{"a": 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("record = %v, want %v", got, want)
	}
}

// testConcurrent has goroutines each increment their own key on one session
// with load + delta save: with delta saves no increment may be lost.
func testConcurrent(t *testing.T, s sessionmw.Store) {
	const workers, rounds = 20, 50
	mustSave(t, s, "c", sessionmw.Update{Replace: true}, hour)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", w)
			for range rounds {
				r, err := s.Load(context.Background(), "c")
				if err != nil || r == nil {
					errs <- fmt.Errorf("load: %v %v", r, err)
					return
				}
				n, _ := r.Get(key)
				i, _ := n.(int)
				if err := s.Save(context.Background(), "c", sessionmw.Update{Set: []sessionmw.Entry{e(key, i+1)}}, hour); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := values(mustLoad(t, s, "c"))
	for w := range workers {
		key := fmt.Sprintf("k%d", w)
		if got[key] != rounds {
			t.Errorf("%s = %v, want %d", key, got[key], rounds)
		}
	}
}

func testMany(t *testing.T, s sessionmw.Store) {
	const n = 500
	for i := range n {
		mustSave(t, s, fmt.Sprintf("m%d", i), sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("i", i)}}, hour)
	}
	for i := range n {
		r := mustLoad(t, s, fmt.Sprintf("m%d", i))
		if v, _ := r.Get("i"); v != i {
			t.Fatalf("m%d: i = %v, want %d", i, v, i)
		}
	}
}

// testSubjectIndex runs when the store implements sessionmw.SubjectIndex.
func testSubjectIndex(t *testing.T, s sessionmw.Store) {
	idx, ok := s.(sessionmw.SubjectIndex)
	if !ok {
		t.Skip("the store does not implement sessionmw.SubjectIndex")
	}
	ctx := context.Background()
	list := func(sub string) []string {
		t.Helper()
		infos, err := idx.SubjectSessions(ctx, sub)
		if err != nil {
			t.Fatalf("SubjectSessions(%q): %v", sub, err)
		}
		var ids []string
		for _, in := range infos {
			if in.Meta.Subject != sub {
				t.Fatalf("SubjectSessions(%q) returned %s of subject %q", sub, in.ID, in.Meta.Subject)
			}
			ids = append(ids, in.ID)
		}
		return ids
	}
	as := func(sub string, created int64) sessionmw.Meta {
		return sessionmw.Meta{Created: created, Issued: created, Saved: created, Subject: sub}
	}
	if got := list("nobody"); len(got) != 0 {
		t.Fatalf("unknown subject: %v", got)
	}
	mustSave(t, s, "a2", sessionmw.Update{Replace: true, Meta: as("alice", 2)}, hour)
	mustSave(t, s, "a1", sessionmw.Update{Replace: true, Meta: as("alice", 1)}, hour)
	mustSave(t, s, "a3", sessionmw.Update{Replace: true, Meta: as("alice", 3)}, 20*time.Millisecond)
	mustSave(t, s, "b1", sessionmw.Update{Replace: true, Meta: as("bob", 1)}, hour)
	mustSave(t, s, "anon", sessionmw.Update{Replace: true}, hour)
	waitGone(t, s, "a3", 3*time.Second)
	if got := list("alice"); !reflect.DeepEqual(got, []string{"a1", "a2"}) {
		t.Fatalf("alice's sessions = %v, want [a1 a2] (oldest first, expired a3 left out)", got)
	}
	if err := s.Delete(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if got := list("alice"); !reflect.DeepEqual(got, []string{"a2"}) {
		t.Fatalf("after Delete: %v", got)
	}
	// A session re-saved under another subject moves.
	mustSave(t, s, "a2", sessionmw.Update{Replace: true, Meta: as("bob", 5)}, hour)
	if got := list("alice"); len(got) != 0 {
		t.Fatalf("alice after a2 moved to bob: %v", got)
	}
	if got := list("bob"); !reflect.DeepEqual(got, []string{"b1", "a2"}) {
		t.Fatalf("bob's sessions = %v, want [b1 a2]", got)
	}
	// A delta keeps the subject.
	mustSave(t, s, "b1", sessionmw.Update{Set: []sessionmw.Entry{e("k", 1)}, Meta: as("bob", 1)}, hour)
	if got := list("bob"); len(got) != 2 {
		t.Fatalf("after a delta: %v", got)
	}
}

// testSuperseded: once a record has a successor, no Save changes it, and
// it still loads (with its successor) and can be deleted.
func testSuperseded(t *testing.T, s sessionmw.Store) {
	ctx := context.Background()
	mustSave(t, s, "old", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}, Meta: meta(1)}, hour)
	mark := meta(2)
	mark.Successor = "new"
	mustSave(t, s, "old", sessionmw.Update{Meta: mark}, hour)
	r := mustLoad(t, s, "old")
	if r == nil || r.Meta.Successor != "new" {
		t.Fatalf("after marking: %+v, want Successor \"new\"", r)
	}
	if got, want := values(r), map[string]any{"a": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("marking changed values to %v, want %v", got, want)
	}
	for name, u := range map[string]sessionmw.Update{
		"touch":           {Meta: meta(3)},
		"delta":           {Set: []sessionmw.Entry{e("a", 2)}, Meta: meta(3)},
		"second marking":  {Meta: sessionmw.Meta{Successor: "other"}},
		"replace":         {Replace: true, Set: []sessionmw.Entry{e("z", 9)}, Meta: meta(3)},
		"clear successor": {Meta: sessionmw.Meta{}},
	} {
		if err := s.Save(ctx, "old", u, hour); !errors.Is(err, sessionmw.ErrSuperseded) {
			t.Fatalf("%s on a superseded record: err = %v, want ErrSuperseded", name, err)
		}
	}
	r = mustLoad(t, s, "old")
	if r == nil || r.Meta.Successor != "new" || !reflect.DeepEqual(values(r), map[string]any{"a": 1}) || r.Meta.Saved != mark.Saved {
		t.Fatalf("a refused Save changed the record: %+v", r)
	}
	if err := s.Delete(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if r := mustLoad(t, s, "old"); r != nil {
		t.Fatalf("superseded record survived Delete: %+v", r)
	}
	// Once gone, the id is an ordinary unknown id again.
	mustSave(t, s, "old", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("b", 1)}}, hour)

	// A superseded record expires like any other.
	mustSave(t, s, "brief", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, hour)
	mustSave(t, s, "brief", sessionmw.Update{Meta: sessionmw.Meta{Successor: "next"}}, 20*time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for mustLoad(t, s, "brief") != nil {
		if time.Now().After(deadline) {
			t.Fatal("superseded record with a 20ms TTL still there after 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustSave(t, s, "brief", sessionmw.Update{Replace: true}, hour)
}

// testSupersedeCAS: of concurrent requests that each mark one record with
// their own successor, exactly one wins and the record names it.
func testSupersedeCAS(t *testing.T, s sessionmw.Store) {
	const racers = 16
	for round := range 5 {
		id := fmt.Sprintf("cas%d", round)
		mustSave(t, s, id, sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}}, hour)
		var wg sync.WaitGroup
		won := make(chan string, racers)
		errs := make(chan error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				succ := fmt.Sprintf("succ-%d", i)
				err := s.Save(context.Background(), id, sessionmw.Update{Meta: sessionmw.Meta{Successor: succ}}, hour)
				switch {
				case err == nil:
					won <- succ
				case !errors.Is(err, sessionmw.ErrSuperseded):
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(won)
		close(errs)
		for err := range errs {
			t.Fatalf("marking: %v (want nil or ErrSuperseded)", err)
		}
		var winners []string
		for w := range won {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d racers marked the record, want exactly 1 (%v)", round, len(winners), winners)
		}
		if r := mustLoad(t, s, id); r == nil || r.Meta.Successor != winners[0] {
			t.Fatalf("round %d: record names successor %+v, want the winner %q", round, r, winners[0])
		}
	}
}

// ValueTypes are the session values every store must give back with their
// Go type: the types sessionmw.GobCodec keeps without registration. A nil
// and an empty container may come back as each other.
var ValueTypes = map[string]any{
	"nil": nil, "bool": true, "string": "héllo", "bytes": []byte{0, 255},
	"int": -42, "int8": int8(-8), "int16": int16(-16), "int32": int32(-32), "int64": int64(-1) << 40,
	"uint": uint(42), "uint8": uint8(8), "uint16": uint16(16), "uint32": uint32(32), "uint64": uint64(1) << 63,
	"float32": float32(1.5), "float64": 2.25, "time": time.Date(2026, 11, 29, 7, 0, 0, 123, time.UTC),
	"duration":      90 * time.Second,
	"[]string":      []string{"a", "b"},
	"[]int":         []int{1, 2, 3},
	"[]float64":     []float64{0.5},
	"[]any":         []any{"x", 1, true, []any{2.5}},
	"map[str]any":   map[string]any{"n": 1, "s": "x", "nested": map[string]any{"b": false}, "list": []any{"y"}},
	"map[str]int":   map[string]int{"a": 1, "b": 2},
	"map[str]str":   map[string]string{"k": "v"},
	"map[str]bool":  map[string]bool{"on": true},
	"map[str][]str": map[string][]string{"roles": {"admin", "ops"}},
	"empty map":     map[string]int{},
	"empty slice":   []string{},
}

func testValueTypes(t *testing.T, s sessionmw.Store) {
	var set []sessionmw.Entry
	for k, v := range ValueTypes {
		set = append(set, sessionmw.Entry{Key: k, Value: v})
	}
	mustSave(t, s, "types", sessionmw.Update{Replace: true, Set: set}, hour)
	r := mustLoad(t, s, "types")
	if r == nil {
		t.Fatal("Load after Save = nil")
	}
	got := values(r)
	for k, want := range ValueTypes {
		v, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if !sessvalues.EqualStored(want, v) {
			t.Errorf("%s: got %#v (%T), want %#v (%T)", k, v, v, want, want)
		}
	}
}

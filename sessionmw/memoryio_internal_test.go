package sessionmw

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

func TestParseCanonicalUUID(t *testing.T) {
	for range 1000 {
		u := uuid.New()
		got, ok := parseCanonicalUUID(u.String())
		if !ok || got != u {
			t.Fatalf("parseCanonicalUUID(%s) = %x, %v", u, got, ok)
		}
	}
	u := uuid.New().String()
	for _, id := range []string{
		strings.ToUpper(u), "{" + u + "}", "urn:uuid:" + u, strings.ReplaceAll(u, "-", ""),
		u[:35] + "g", u[:8] + "_" + u[9:], "", "short",
	} {
		if _, ok := parseCanonicalUUID(id); ok {
			t.Errorf("%q parsed as a canonical UUID", id)
		}
	}
}

// Ids that spell the same UUID differently are different sessions.
func TestMemoryIODistinguishesSpellings(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	ctx := context.Background()
	lower := uuid.New().String()
	upper := strings.ToUpper(lower)
	if err := s.Save(ctx, lower, Update{Replace: true, Set: []Entry{{Key: "who", Value: "lower"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Load(ctx, upper); r != nil {
		t.Fatal("the upper-case spelling loaded the lower-case session")
	}
	if err := s.Save(ctx, upper, Update{Replace: true, Set: []Entry{{Key: "who", Value: "upper"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{lower: "lower", upper: "upper"} {
		r, _ := s.Load(ctx, id)
		if v, _ := r.Get("who"); v != want {
			t.Fatalf("%s: %v, want %s", id, v, want)
		}
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d", s.Len())
	}
}

// parseCanonicalUUID accepts exactly the strings uuid.UUID.String produces,
// and decodes them as uuid.Parse does.
func FuzzParseCanonicalUUID(f *testing.F) {
	u := uuid.New().String()
	for _, s := range []string{u, strings.ToUpper(u), "{" + u + "}", u[:35] + "g", u[:8] + "x" + u[9:], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseCanonicalUUID(s)
		want, err := uuid.Parse(s)
		canonical := err == nil && want.String() == s
		if ok != canonical {
			t.Fatalf("parseCanonicalUUID(%q) ok = %v, canonical = %v", s, ok, canonical)
		}
		if ok && got != want {
			t.Fatalf("parseCanonicalUUID(%q) = %x, uuid.Parse = %x", s, got, want)
		}
	})
}

// Every kind packValue takes comes back with its exact type and value;
// other types, named ones included, are not packed.
func TestPackValueRoundTrip(t *testing.T) {
	type count int
	for _, v := range []any{
		true, false, 0, 1, -1, 255, 256, math.MaxInt64, math.MinInt64,
		int8(-128), int16(-1), int32(math.MaxInt32), int64(-1 << 40),
		uint(math.MaxUint64), uint8(255), uint16(1), uint32(math.MaxUint32), uint64(math.MaxUint64),
		float32(-1.5), math.Inf(-1), math.Copysign(0, -1), 1e-300,
	} {
		kind, bits := packValue(v)
		if kind == kindNone {
			t.Errorf("%v (%T) not packed", v, v)
			continue
		}
		if got := unpackValue(kind, bits); got != v || fmt.Sprintf("%T %v", got, got) != fmt.Sprintf("%T %v", v, v) {
			t.Errorf("%v (%T) came back as %v (%T)", v, v, got, got)
		}
	}
	if kind, bits := packValue(math.NaN()); kind != kindFloat64 || !math.IsNaN(unpackValue(kind, bits).(float64)) {
		t.Error("NaN does not come back")
	}
	for _, v := range []any{count(1), "1", nil, []byte{1}, struct{}{}, complex(1, 1), &struct{}{}} {
		if kind, _ := packValue(v); kind != kindNone {
			t.Errorf("%v (%T) packed", v, v)
		}
	}
}

// memEntry holds no pointer: the garbage collector never scans a shard's
// map of them, however many sessions it holds.
func TestMemEntryIsPointerFree(t *testing.T) {
	var walk func(reflect.Type) bool
	walk = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return false
		case reflect.Array:
			return walk(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if !walk(ty.Field(i).Type) {
					return false
				}
			}
		}
		return true
	}
	for _, ty := range []reflect.Type{reflect.TypeFor[memEntry](), reflect.TypeFor[[16]byte](), reflect.TypeFor[ticket[[16]byte]]()} {
		if !walk(ty) {
			t.Errorf("%v holds a pointer", ty)
		}
	}
	if n := unsafe.Sizeof(memEntry{}); n != 48 {
		t.Errorf("memEntry is %d bytes, want 48 (a 64-byte map slot with its key)", n)
	}
}

// entryOf returns id's entry in s.
func entryOf(s *MemoryIO, id string) (memEntry, bool) {
	k := parseMemID(id)
	sh := s.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.get(k)
}

// Sessions that fit are kept compact until loaded, and load as Merge
// built them; those that do not keep their record.
func TestMemoryIOCompactRoundTrip(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	now := time.Now().UnixNano()
	anon := Meta{Created: now, Issued: now + 1, Saved: now + 2}
	withAud := anon
	withAud.Audience = "shop"
	for _, tc := range []struct {
		name    string
		u       Update
		compact bool
	}{
		{"empty", Update{Replace: true, Meta: anon}, true},
		{"one int", Update{Replace: true, Set: []Entry{{Key: "n", Value: 7}}, Meta: anon}, true},
		{"audience and a float", Update{Replace: true, Set: []Entry{{Key: "x", Value: 2.5}}, Meta: withAud}, true},
		{"a string", Update{Replace: true, Set: []Entry{{Key: "s", Value: "v"}}, Meta: anon}, false},
		{"two values", Update{Replace: true, Set: []Entry{{Key: "a", Value: 1}, {Key: "b", Value: 2}}, Meta: anon}, false},
		{"logged in", Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}, Meta: Meta{Subject: "alice", Groups: []string{}}}, false},
		{"empty groups", Update{Replace: true, Meta: Meta{Groups: []string{}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := uuid.NewString()
			saved, err := s.saveAt(t.Context(), id, tc.u, time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			if e, _ := entryOf(s, id); (e.ref() == 0) != tc.compact {
				t.Fatalf("compact = %v, want %v", e.ref() == 0, tc.compact)
			}
			got, _ := s.loadAt(t.Context(), id, now)
			if !reflect.DeepEqual(got, Merge(nil, tc.u)) || !reflect.DeepEqual(got, saved) {
				t.Fatalf("loaded %+v, want %+v", got, Merge(nil, tc.u))
			}
			if e, _ := entryOf(s, id); e.ref() == 0 {
				t.Fatal("a loaded session does not keep its record")
			}
		})
	}
}

// A delta on a compact entry (a save without a load, through the Store
// API) keeps what it does not change.
func TestMemoryIOCompactDelta(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	ctx := t.Context()
	id := uuid.NewString()
	if err := s.Save(ctx, id, Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, id, Update{Set: []Entry{{Key: "m", Value: "two"}}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Load(ctx, id)
	if n, _ := r.Get("n"); n != 1 || len(r.Values) != 2 {
		t.Fatalf("after a delta: %+v", r.Values)
	}
	if err := s.Save(ctx, id, Update{Delete: []string{"m"}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Load(ctx, id); len(r.Values) != 1 {
		t.Fatalf("after deleting m: %+v", r.Values)
	}
}

// The sweep makes a session compact again once it is idle for a whole
// interval; one in use keeps its record.
func TestMemoryIOSweepCompactsIdleSessions(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	ctx := t.Context()
	idle, busy := uuid.NewString(), uuid.NewString()
	for _, id := range []string{idle, busy} {
		if err := s.Save(ctx, id, Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		s.Load(ctx, id)
	}
	s.Sweep() // both were used since they were kept
	s.Load(ctx, busy)
	s.Sweep()
	if e, _ := entryOf(s, idle); e.ref() != 0 || e.class() != classProtected {
		t.Fatalf("idle session: ref %d, class %d; want compact and still protected", e.ref(), e.class())
	}
	if e, _ := entryOf(s, busy); e.ref() == 0 {
		t.Fatal("a session in use was made compact")
	}
	if r, _ := s.Load(ctx, idle); r == nil {
		t.Fatal("a compacted session is gone")
	} else if n, _ := r.Get("n"); n != 1 {
		t.Fatalf("compacted session: n = %v", n)
	}
	sh := s.shard(parseMemID(idle))
	if len(sh.free) > 1 {
		t.Fatalf("record slots not reused: %d free", len(sh.free))
	}
}

// An application that makes keys up per session fills the intern table;
// its later sessions keep their records and lose nothing.
func TestMemoryIOInternTableBounded(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	s.strs.keys.limit = 64 // the real limit, faster
	ctx := t.Context()
	ids := make([]string, s.strs.keys.limit+100)
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := s.Save(ctx, ids[i], Update{Replace: true, Set: []Entry{{Key: fmt.Sprintf("k%d", i), Value: i}}}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.strs.keys.snap.Load().strs); n != s.strs.keys.limit {
		t.Fatalf("%d keys interned, want the limit %d", n, s.strs.keys.limit)
	}
	for i, id := range ids {
		r, _ := s.Load(ctx, id)
		if v, _ := r.Get(fmt.Sprintf("k%d", i)); v != i {
			t.Fatalf("session %d: %v", i, v)
		}
	}
}

// TestMemoryIOCompactKeepsEveryMetaField: a one-value session with any
// one Meta field set round-trips through MemoryIO, compact or not. A new
// Meta field that pack does not know fails here.
func TestMemoryIOCompactKeepsEveryMetaField(t *testing.T) {
	s := NewMemoryIO(WithSweepInterval(0))
	defer s.Close()
	mt := reflect.TypeFor[Meta]()
	for i := range mt.NumField() {
		f := mt.Field(i)
		var meta Meta
		v := reflect.ValueOf(&meta).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Int64:
			v.SetInt(time.Now().Add(time.Hour).UnixNano())
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Slice:
			v.Set(reflect.ValueOf([]string{"g"}))
		default:
			t.Fatalf("Meta.%s: kind %s not covered by this test", f.Name, v.Kind())
		}
		id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		if err := s.Save(context.Background(), id, Update{Replace: true, Set: []Entry{{Key: "n", Value: 1}}, Meta: meta}, time.Hour); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first load may build the record from a compact entry
			rec, err := s.Load(context.Background(), id)
			if err != nil || rec == nil {
				t.Fatalf("Meta.%s: load %v %v", f.Name, rec, err)
			}
			if !reflect.DeepEqual(rec.Meta, meta) {
				t.Fatalf("Meta.%s: stored %+v, loaded %+v", f.Name, meta, rec.Meta)
			}
		}
	}
}

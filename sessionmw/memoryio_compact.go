package sessionmw

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// MemoryIO keeps most sessions in a form the garbage collector does not
// have to walk: a session whose metadata is only timestamps (and an
// audience) and which holds at most one value of a basic numeric or
// boolean type, such as a counter or a user number, is stored as a
// pointer-free memEntry inside the shard's map. Such a map is never
// scanned by the GC, however many sessions it holds, and costs no heap
// object per session. Load builds the *Record from it. Other sessions
// (logged in, several values, strings, …) keep their *Record, which the
// entry refers to by index.

// Value kinds a memEntry can hold without a pointer.
const (
	kindNone uint8 = iota
	kindBool
	kindInt
	kindInt8
	kindInt16
	kindInt32
	kindInt64
	kindUint
	kindUint8
	kindUint16
	kindUint32
	kindUint64
	kindFloat32
	kindFloat64
)

// packValue returns v's kind and bits, or kindNone if v is not of one of
// the exact types above (a named type such as `type ID int` is not).
func packValue(v any) (kind uint8, bits uint64) {
	switch x := v.(type) {
	case bool:
		if x {
			return kindBool, 1
		}
		return kindBool, 0
	case int:
		return kindInt, uint64(x)
	case int8:
		return kindInt8, uint64(x)
	case int16:
		return kindInt16, uint64(x)
	case int32:
		return kindInt32, uint64(x)
	case int64:
		return kindInt64, uint64(x)
	case uint:
		return kindUint, uint64(x)
	case uint8:
		return kindUint8, uint64(x)
	case uint16:
		return kindUint16, uint64(x)
	case uint32:
		return kindUint32, uint64(x)
	case uint64:
		return kindUint64, x
	case float32:
		return kindFloat32, uint64(math.Float32bits(x))
	case float64:
		return kindFloat64, math.Float64bits(x)
	}
	return kindNone, 0
}

// unpackValue is the inverse of packValue.
func unpackValue(kind uint8, bits uint64) any {
	switch kind {
	case kindBool:
		return bits != 0
	case kindInt:
		return int(bits)
	case kindInt8:
		return int8(bits)
	case kindInt16:
		return int16(bits)
	case kindInt32:
		return int32(bits)
	case kindInt64:
		return int64(bits)
	case kindUint:
		return uint(bits)
	case kindUint8:
		return uint8(bits)
	case kindUint16:
		return uint16(bits)
	case kindUint32:
		return uint32(bits)
	case kindUint64:
		return bits
	case kindFloat32:
		return math.Float32frombits(uint32(bits))
	case kindFloat64:
		return math.Float64frombits(bits)
	}
	return nil
}

// Bounds of a store's intern tables: applications use a handful of keys
// and audiences; one that makes keys up per session (a hostile or careless
// one) fills the table, and its sessions simply keep their *Record.
const (
	internKeys     = 1024
	internAuds     = 255
	internMaxBytes = 64 << 10
)

// internTable numbers the strings compact entries refer to (value keys,
// audiences), from 1. Lookups read an immutable snapshot without locking;
// a new string copies it (new strings are rare, and bounded).
type internTable struct {
	limit int // most strings numbered
	snap  atomic.Pointer[internSnap]
	mu    sync.Mutex
}

type internSnap struct {
	index map[string]uint16
	strs  []string // strs[i-1] is string number i
	bytes int
}

// number returns s's number, adding s if there is room; it reports false
// when s has none.
func (t *internTable) number(s string) (uint16, bool) {
	if sn := t.snap.Load(); sn != nil {
		if i, ok := sn.index[s]; ok {
			return i, true
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	if old == nil {
		old = &internSnap{}
	}
	if i, ok := old.index[s]; ok {
		return i, true
	}
	if len(old.strs) >= t.limit || old.bytes+len(s) > internMaxBytes {
		return 0, false
	}
	s = strings.Clone(s) // never pin a caller's larger buffer
	sn := &internSnap{index: make(map[string]uint16, len(old.strs)+1), strs: append(old.strs[:len(old.strs):len(old.strs)], s), bytes: old.bytes + len(s)}
	for k, v := range old.index {
		sn.index[k] = v
	}
	i := uint16(len(sn.strs))
	sn.index[s] = i
	t.snap.Store(sn)
	return i, true
}

// str returns string number i (i ≥ 1).
func (t *internTable) str(i uint16) string { return t.snap.Load().strs[i-1] }

// memEntry is one session in a MemoryIO shard: 48 bytes, so that with its
// 16-byte key a map slot is one cache line, and no pointer, so that the
// shard's map is not scanned by the garbage collector. A compact entry
// holds the whole session; a full one refers to its *Record.
type memEntry struct {
	expires int64 // unix nanoseconds
	// Meta's timestamps, for a compact entry.
	created, issued, saved int64
	// The value, packed (see packValue), for a compact entry; 1 + the
	// index of its *Record in the shard's recs, for a full one.
	bits  uint64
	seq   uint32 // probation order (see probQueue)
	key   uint16 // the value's key, interned; 0: no value
	aud   uint8  // Meta.Audience, interned; 0: ""
	flags uint8  // admission class, memFull, value kind
}

const (
	memClassMask = 0x3
	memFull      = 0x4
	memKindShift = 4
)

func (e *memEntry) class() uint8     { return e.flags & memClassMask }
func (e *memEntry) setClass(c uint8) { e.flags = e.flags&^memClassMask | c }
func (e *memEntry) kind() uint8      { return e.flags >> memKindShift }

// ref is 1 + the index of a full entry's *Record, 0 for a compact entry.
func (e *memEntry) ref() uint32 {
	if e.flags&memFull == 0 {
		return 0
	}
	return uint32(e.bits)
}

// setRef makes e a full entry with record number ref (0: compact).
func (e *memEntry) setRef(ref uint32) {
	if ref == 0 {
		e.flags &^= memFull
		return
	}
	*e = memEntry{expires: e.expires, seq: e.seq, bits: uint64(ref), flags: e.class() | memFull}
}

// memStrings are a MemoryIO's intern tables.
type memStrings struct {
	keys, auds internTable
}

// pack makes e a compact entry holding rec, and reports whether rec fits;
// when it does not, e is left as it was. e must not refer to a record.
func (t *memStrings) pack(rec *Record, e *memEntry) bool {
	m := &rec.Meta
	if len(rec.Values) > 1 || m.Successor != "" || m.Subject != "" || m.Credential != "" || m.Groups != nil || m.Remember != "" ||
		m.Bind != "" || m.Sealed != "" || m.Deadline != 0 || m.Persist {
		return false // only the timestamps and the audience fit (TestMemoryIOCompactKeepsEveryMetaField)
	}
	c := memEntry{expires: e.expires, seq: e.seq, created: m.Created, issued: m.Issued, saved: m.Saved, flags: e.class()}
	if m.Audience != "" {
		aud, ok := t.auds.number(m.Audience)
		if !ok {
			return false
		}
		c.aud = uint8(aud)
	}
	if len(rec.Values) == 1 {
		kind, bits := packValue(rec.Values[0].Value)
		if kind == kindNone {
			return false
		}
		key, ok := t.keys.number(rec.Values[0].Key)
		if !ok {
			return false
		}
		c.key, c.bits, c.flags = key, bits, c.flags|kind<<memKindShift
	}
	*e = c
	return true
}

// meta returns the metadata of compact entry e.
func (t *memStrings) meta(e *memEntry) Meta {
	m := Meta{Created: e.created, Issued: e.issued, Saved: e.saved}
	if e.aud != 0 {
		m.Audience = t.auds.str(uint16(e.aud))
	}
	return m
}

// value returns the value of compact entry e, which must hold one.
func (t *memStrings) value(e *memEntry) Entry {
	return Entry{Key: t.keys.str(e.key), Value: unpackValue(e.kind(), e.bits)}
}

// record builds the *Record of compact entry e, shaped as Merge shapes
// it.
func (t *memStrings) record(e *memEntry) *Record {
	rec := &Record{Meta: t.meta(e)}
	if e.key == 0 {
		rec.Values = rec.inline[:0:0]
		return rec
	}
	rec.inline[0] = t.value(e)
	rec.Values = rec.inline[:1:1]
	return rec
}

// Package values holds the one rule every store follows for session
// values: a value is never shared mutable state. Clone copies what a
// request could change in place (maps, slices, pointers, structs holding
// them), so that a value handed out or taken in is the caller's own, on
// MemoryIO as on Redis, where every load decodes a fresh copy.
package values

import (
	"reflect"
	"time"
)

// Clone returns v when it cannot be changed in place (strings, numbers,
// booleans, time.Time, …), and otherwise a deep copy of it.
func Clone(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		uintptr, float32, float64, complex64, complex128, time.Time, time.Duration:
		return v
	case []byte:
		if x == nil {
			return x
		}
		return append([]byte{}, x...)
	case []string:
		if x == nil {
			return x
		}
		return append([]string{}, x...)
	case map[string]any:
		if x == nil {
			return x
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = Clone(e)
		}
		return c
	case []any:
		if x == nil {
			return x
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = Clone(e)
		}
		return c
	}
	rv := reflect.ValueOf(v)
	if !mutable(rv.Type()) {
		return v
	}
	return deepCopy(rv).Interface()
}

// mutable reports whether a value of type t can be changed in place
// through a copy of it.
func mutable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return mutable(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if mutable(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// deepCopy copies v, following maps, slices, pointers, arrays, interfaces
// and exported struct fields. Unexported fields are copied as they are
// (reflect cannot set them); channels and functions are shared.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			c.SetMapIndex(deepCopy(it.Key()), deepCopy(it.Value()))
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(deepCopy(v.Elem()))
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v) // unexported fields come along as they are
		for i := range v.NumField() {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	}
	return v
}

// Convert returns v as a value of type target when both are integer
// types (signed or unsigned) and v's value fits in target; ok is false
// otherwise.
func Convert(v any, target reflect.Type) (out reflect.Value, ok bool) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || !isInteger(rv.Kind()) || !isInteger(target.Kind()) {
		return reflect.Value{}, false
	}
	out = reflect.New(target).Elem()
	switch {
	case isSigned(rv.Kind()) && isSigned(target.Kind()):
		n := rv.Int()
		if out.OverflowInt(n) {
			return reflect.Value{}, false
		}
		out.SetInt(n)
	case isSigned(rv.Kind()):
		n := rv.Int()
		if n < 0 || out.OverflowUint(uint64(n)) {
			return reflect.Value{}, false
		}
		out.SetUint(uint64(n))
	case isSigned(target.Kind()):
		n := rv.Uint()
		if n > 1<<63-1 || out.OverflowInt(int64(n)) {
			return reflect.Value{}, false
		}
		out.SetInt(int64(n))
	default:
		n := rv.Uint()
		if out.OverflowUint(n) {
			return reflect.Value{}, false
		}
		out.SetUint(n)
	}
	return out, true
}

func isInteger(k reflect.Kind) bool { return isSigned(k) || isUnsigned(k) }

func isSigned(k reflect.Kind) bool {
	return k == reflect.Int || k == reflect.Int8 || k == reflect.Int16 || k == reflect.Int32 || k == reflect.Int64
}

func isUnsigned(k reflect.Kind) bool {
	return k == reflect.Uint || k == reflect.Uint8 || k == reflect.Uint16 || k == reflect.Uint32 || k == reflect.Uint64 || k == reflect.Uintptr
}

// EqualStored reports whether b, what a serialising store gave back for a,
// is the same value: deeply equal, except that a nil and an empty map or
// slice count as equal at any depth (encoding/gob does not keep the
// difference).
func EqualStored(a, b any) bool {
	return equal(reflect.ValueOf(a), reflect.ValueOf(b))
}

func equal(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !equal(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() && !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return reflect.DeepEqual(a.Interface(), b.Interface()) || exportedOnly(a.Type())
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// exportedOnly reports whether every field of struct type t is exported
// (then comparing the exported ones was the whole comparison).
func exportedOnly(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}

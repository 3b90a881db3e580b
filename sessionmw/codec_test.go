package sessionmw_test

import (
	"encoding/gob"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

// codecProfile is an application type: gob needs it registered.
type codecProfile struct {
	Name  string
	Roles []string
	Age   int
}

func init() { gob.Register(codecProfile{}) }

func TestGobCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"string", "héllo"},
		{"empty string", ""},
		{"string that looks like a tag", "i42"},
		{"bytes", []byte{0, 'g', 255}},
		{"true", true},
		{"false", false},
		{"int", 42},
		{"min int64 as int", math.MinInt},
		{"int64", int64(math.MaxInt64)},
		{"float64", 0.1},
		{"float64 exponent", -1.5e-300},
		{"float64 inf", math.Inf(-1)},
		{"negative zero", math.Copysign(0, -1)},
		{"uint via gob", uint(7)},
		{"int32 via gob", int32(-7)},
		{"float32 via gob", float32(1.25)},
		{"strings via gob", []string{"a", ""}},
		{"map via gob", map[string]any{"a": 1, "b": []any{"c", 2.5}}},
		{"registered struct via gob", codecProfile{Name: "x", Roles: []string{"r"}, Age: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sessionmw.GobCodec{}.Encode(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sessionmw.GobCodec{}.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tc.v) || !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("got %#v (%T), want %#v (%T)", got, got, tc.v, tc.v)
			}
			if f, ok := tc.v.(float64); ok && math.Signbit(f) != math.Signbit(got.(float64)) {
				t.Fatal("sign of zero lost")
			}
		})
	}
	t.Run("NaN", func(t *testing.T) {
		b, _ := sessionmw.GobCodec{}.Encode(math.NaN())
		got, err := sessionmw.GobCodec{}.Decode(b)
		if f, ok := got.(float64); err != nil || !ok || !math.IsNaN(f) {
			t.Fatalf("got %v, %v; want NaN", got, err)
		}
	})
	t.Run("decoded bytes do not alias the input", func(t *testing.T) {
		data := []byte("bxyz")
		got, _ := sessionmw.GobCodec{}.Decode(data)
		data[1] = 'X'
		if string(got.([]byte)) != "xyz" {
			t.Fatal("decoded []byte shares memory with the encoded data")
		}
	})
}

func TestGobCodecRejects(t *testing.T) {
	type unregistered struct{ X int }
	if _, err := (sessionmw.GobCodec{}).Encode(unregistered{1}); err == nil {
		t.Fatal("Encode of an unregistered type succeeded")
	}
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},               // no tag at all
		{"unknown tag", "zzz"},      // not an encoding of ours
		{"nil with a body", "nx"},   // nil has no body
		{"bool with a body", "tx"},  // nor has a bool
		{"int not a number", "i4x"}, // strconv rejects it
		{"int overflow", "i99999999999999999999"},
		{"float not a number", "dabc"},
		{"gob garbage", "g\x00\xff\xff"}, // gob must error, not panic
		{"gob truncated", "g\x0c"},
		{"gob unknown type", "g\x1a\x00\x0bmain.NoSuch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := (sessionmw.GobCodec{}).Decode([]byte(tc.data)); err == nil {
				t.Fatalf("Decode(%q) = %#v, want an error", tc.data, v)
			}
		})
	}
}

// FuzzCodecDecode checks that no stored bytes make Decode panic, and
// that whatever decodes encodes again.
func FuzzCodecDecode(f *testing.F) {
	for _, v := range []any{nil, "s", []byte{1}, true, 1, int64(2), 3.5, uint(4), []string{"x"}, map[string]any{"k": 1}} {
		b, err := sessionmw.GobCodec{}.Encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("g" + strings.Repeat("\xff", 16)))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := sessionmw.GobCodec{}.Decode(data)
		if err != nil {
			return
		}
		if _, err := (sessionmw.GobCodec{}).Encode(v); err != nil {
			t.Fatalf("Decode(%q) = %#v, which does not encode: %v", data, v, err)
		}
	})
}

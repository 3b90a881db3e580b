package sqlstore

import (
	"reflect"
	"testing"

	"github.com/sessionmw/go/sessionmw"
)

func TestMetaJSON(t *testing.T) {
	tests := []struct {
		name string
		meta sessionmw.Meta
		ok   bool
	}{
		{"zero", sessionmw.Meta{}, true},
		{"nil groups stay nil", sessionmw.Meta{Groups: nil}, true},
		{"empty groups stay empty", sessionmw.Meta{Groups: []string{}}, true},
		{"NUL is JSON text", sessionmw.Meta{Credential: "a\x00b", Groups: []string{"\x00"}}, true},
		{"U+FFFD is valid text", sessionmw.Meta{Audience: "\uFFFD"}, true},
		{"a backslash-u sequence is text", sessionmw.Meta{Audience: `\ufffd`}, true},
		{"invalid UTF-8 is refused, not altered", sessionmw.Meta{Remember: "\xff"}, false},
		{"invalid UTF-8 in a group", sessionmw.Meta{Groups: []string{"ok", "\xc3"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeMeta(tc.meta)
			if (err == nil) != tc.ok {
				t.Fatalf("encodeMeta: err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			got, err := DecodeMeta(b)
			if err != nil || !reflect.DeepEqual(got, tc.meta) {
				t.Fatalf("round trip = %#v, %v; want %#v", got, err, tc.meta)
			}
		})
	}
}

// FuzzDecodeMeta: no stored bytes make decodeMeta panic, and what decodes
// encodes and decodes back to itself.
func FuzzDecodeMeta(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"Created":1,"Groups":null}`, `{"Groups":[]}`,
		`{"Subject":"a\u0000b","Groups":["x","\ufffd"]}`, `{"Created":"x"}`,
		`{"Created":1e400}`, `{"Unknown":{"deep":[1,2,3]}}`, "\xff", ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMeta(data)
		if err != nil {
			return
		}
		b, err := EncodeMeta(m)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", m, err)
		}
		back, err := DecodeMeta(b)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%#v encodes to %q, which decodes to %#v, %v", m, b, back, err)
		}
	})
}

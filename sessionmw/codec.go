package sessionmw

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Codec turns one session value into bytes and back, for stores and modes
// that serialise (redisstore, cookie storage). Each value is encoded on its
// own, so a Codec sees one value at a time. Implementations must be safe
// for concurrent use.
type Codec interface {
	// Encode returns the bytes that represent v.
	Encode(v any) ([]byte, error)
	// Decode returns the value that Encode turned into data. It must return
	// an error, not panic, for data it cannot decode.
	Decode(data []byte) (any, error)
}

// GobCodec is the default Codec. It keeps Go types: an int comes back as an
// int, not as a float64 as it would through JSON.
//
// The commonest types (string, []byte, bool, int, int64, float64 and nil)
// are written compactly as one tag byte and the value's text or bytes,
// which is several times faster than gob and readable with redis-cli
// ("s" + "hello", "i" + "42"). Every other value is encoded with
// encoding/gob as an interface value, after the tag byte 'g'.
//
// gob must know every concrete type that travels inside an interface: the
// basic types (bool, string, []byte, every integer and float type) and
// slices of them are known, and this package registers map[string]any,
// []any, time.Time, time.Duration and maps from string to each basic type
// (map[string]int, map[string]string, …). Any other type (your structs,
// named types, other maps) must be registered with gob.Register before it
// is saved or loaded, in every process that shares the store; use
// WithStrictValues in tests to catch one that is not. gob loses the
// difference between a nil and an empty slice or map, and does not keep
// pointers (a *T comes back as T).
type GobCodec struct{}

// Containers of the basic types travel without registration: gob knows
// the basic types and slices of them, and these are registered here.
func init() {
	gob.Register(map[string]any(nil))
	gob.Register([]any(nil))
	gob.Register(time.Time{})
	gob.Register(time.Duration(0))
	for _, v := range []any{
		map[string]string(nil), map[string]bool(nil), map[string][]byte(nil),
		map[string]int(nil), map[string]int8(nil), map[string]int16(nil), map[string]int32(nil), map[string]int64(nil),
		map[string]uint(nil), map[string]uint16(nil), map[string]uint32(nil), map[string]uint64(nil),
		map[string]float32(nil), map[string]float64(nil), map[string][]string(nil), map[string]time.Time(nil),
		[]time.Time(nil), [][]string(nil), []map[string]any(nil),
	} {
		gob.Register(v)
	}
}

// Tags of GobCodec's encodings.
const (
	tagNil     = 'n'
	tagString  = 's'
	tagBytes   = 'b'
	tagTrue    = 't'
	tagFalse   = 'f'
	tagInt     = 'i' // decimal
	tagInt64   = 'I' // decimal
	tagFloat64 = 'd' // strconv 'g', shortest exact form
	tagGob     = 'g'
)

// Encode implements Codec.
func (GobCodec) Encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return []byte{tagNil}, nil
	case string:
		return append([]byte{tagString}, v...), nil
	case []byte:
		return append([]byte{tagBytes}, v...), nil
	case bool:
		if v {
			return []byte{tagTrue}, nil
		}
		return []byte{tagFalse}, nil
	case int:
		return strconv.AppendInt([]byte{tagInt}, int64(v), 10), nil
	case int64:
		return strconv.AppendInt([]byte{tagInt64}, v, 10), nil
	case float64:
		return strconv.AppendFloat([]byte{tagFloat64}, v, 'g', -1, 64), nil
	}
	var buf bytes.Buffer
	buf.WriteByte(tagGob)
	if err := gob.NewEncoder(&buf).Encode(&v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode implements Codec.
func (GobCodec) Decode(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, errors.New("empty value")
	}
	body := data[1:]
	switch data[0] {
	case tagNil:
		if len(body) == 0 {
			return nil, nil
		}
	case tagString:
		return string(body), nil
	case tagBytes:
		return bytes.Clone(body), nil
	case tagTrue, tagFalse:
		if len(body) == 0 {
			return data[0] == tagTrue, nil
		}
	case tagInt:
		n, err := strconv.ParseInt(string(body), 10, strconv.IntSize)
		if err != nil {
			return nil, err
		}
		return int(n), nil
	case tagInt64:
		return strconv.ParseInt(string(body), 10, 64)
	case tagFloat64:
		return strconv.ParseFloat(string(body), 64)
	case tagGob:
		var v any
		if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
			return nil, err
		}
		return v, nil
	default:
		return nil, fmt.Errorf("unknown encoding tag %q", data[0])
	}
	return nil, fmt.Errorf("malformed value with tag %q", data[0])
}

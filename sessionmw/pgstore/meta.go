package pgstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/sessionmw/go/sessionmw"
)

// encodeMeta returns m as JSON, which keeps every exported field of
// sessionmw.Meta, those a later version adds included, and the difference
// between nil and empty Groups. JSON text cannot hold invalid UTF-8
// (encoding/json would replace it with the escape \ufffd): such metadata is refused
// rather than stored altered.
func encodeMeta(m sessionmw.Meta) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(`\ufffd`)) { // rare: check it round-trips
		var back sessionmw.Meta
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
			return nil, errNotText
		}
	}
	return b, nil
}

// decodeMeta parses what encodeMeta stored. Fields it does not know (from
// a later version) are ignored.
func decodeMeta(b []byte) (sessionmw.Meta, error) {
	var m sessionmw.Meta
	err := json.Unmarshal(b, &m)
	return m, err
}

var errNotText = errors.New("metadata holds a string that is not valid UTF-8")

// isText reports whether s can be stored in a PostgreSQL text column:
// valid UTF-8 without NUL. An id or subject that is not can never have
// been stored.
func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

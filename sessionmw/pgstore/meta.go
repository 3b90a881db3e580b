package pgstore

import (
	"strings"
	"unicode/utf8"
)

// isText reports whether s can be stored in a PostgreSQL text column:
// valid UTF-8 without NUL. An id or subject that is not can never have
// been stored.
func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

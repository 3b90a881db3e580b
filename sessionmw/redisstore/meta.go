package redisstore

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sessionmw/go/sessionmw"
)

// appendMeta appends the field, value pairs that store m. Every field is
// always written, empty or not: Update.Meta replaces the record's
// metadata, so a delta must clear what it leaves empty.
func appendMeta(args []string, m sessionmw.Meta) []string {
	return append(args,
		fieldCreated, strconv.FormatInt(m.Created, 10),
		fieldIssued, strconv.FormatInt(m.Issued, 10),
		fieldSaved, strconv.FormatInt(m.Saved, 10),
		fieldSucc, m.Successor,
		fieldSubject, m.Subject,
		fieldCred, m.Credential,
		fieldGroups, encodeGroups(m.Groups),
		fieldAudience, m.Audience,
		fieldRemember, m.Remember,
		fieldBind, m.Bind,
		fieldSealed, m.Sealed,
		fieldDeadline, strconv.FormatInt(m.Deadline, 10),
		fieldPersist, strconv.FormatBool(m.Persist),
	)
}

// decodeMeta sets the field of m stored in the hash field f. It reports
// false for a field that is not metadata this version knows.
func decodeMeta(m *sessionmw.Meta, f, raw string) (known bool, err error) {
	switch f {
	case fieldCreated:
		m.Created, err = strconv.ParseInt(raw, 10, 64)
	case fieldIssued:
		m.Issued, err = strconv.ParseInt(raw, 10, 64)
	case fieldSaved:
		m.Saved, err = strconv.ParseInt(raw, 10, 64)
	case fieldSucc:
		m.Successor = raw
	case fieldSubject:
		m.Subject = raw
	case fieldCred:
		m.Credential = raw
	case fieldGroups:
		m.Groups, err = decodeGroups(raw)
	case fieldAudience:
		m.Audience = raw
	case fieldRemember:
		m.Remember = raw
	case fieldBind:
		m.Bind = raw
	case fieldSealed:
		m.Sealed = raw
	case fieldDeadline:
		m.Deadline, err = strconv.ParseInt(raw, 10, 64)
	case fieldPersist:
		m.Persist, err = strconv.ParseBool(raw)
	default:
		return false, nil
	}
	return true, err
}

// encodeGroups writes groups as a sequence of netstring-like items, each
// its length in bytes, a colon and its bytes: "6:admins3:ops". Unlike JSON
// it keeps any byte string exactly (encoding/json replaces invalid UTF-8),
// and it stays readable in redis-cli. No groups (nil or empty) is "".
func encodeGroups(groups []string) string {
	var b strings.Builder
	for _, g := range groups {
		b.WriteString(strconv.Itoa(len(g)))
		b.WriteByte(':')
		b.WriteString(g)
	}
	return b.String()
}

var errBadGroups = errors.New("malformed group list")

// decodeGroups reverses encodeGroups; "" gives nil.
func decodeGroups(s string) ([]string, error) {
	var groups []string
	for s != "" {
		i := strings.IndexByte(s, ':')
		if i <= 0 || i > 10 {
			return nil, errBadGroups
		}
		n := 0
		for _, c := range []byte(s[:i]) {
			if c < '0' || c > '9' {
				return nil, errBadGroups
			}
			n = n*10 + int(c-'0')
		}
		s = s[i+1:]
		if n > len(s) {
			return nil, errBadGroups
		}
		groups = append(groups, s[:n])
		s = s[n:]
	}
	return groups, nil
}

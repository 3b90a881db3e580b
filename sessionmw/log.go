package sessionmw

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// fingerprint stands for a session id in logs and errors: a short hash
// that correlates log lines without revealing the id. It is computed only
// when a log line is actually written.
type fingerprint string

// LogValue implements slog.LogValuer.
func (f fingerprint) LogValue() slog.Value { return slog.StringValue(f.String()) }

// String returns the first 8 hex digits of the id's SHA-256.
func (f fingerprint) String() string {
	if f == "" {
		return "(none)"
	}
	sum := sha256.Sum256([]byte(f))
	return hex.EncodeToString(sum[:4])
}

// Fingerprint returns a short, non-reversible stand-in for a session id,
// for logs and error messages (the same one the middleware logs).
func Fingerprint(id string) string { return fingerprint(id).String() }

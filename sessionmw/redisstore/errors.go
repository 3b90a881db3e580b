package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/sessionmw"
)

// fingerprint names a session in errors without revealing its id: the
// first 8 hex digits of the id's SHA-256, enough to correlate log lines.
func fingerprint(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}

// opError wraps err, returned by the server or the client library during
// op on session id, with the context a reader needs and with the sentinel
// that classifies it:
//
//   - the caller's context was canceled: the error wraps the context's
//     error only (the caller gave up; the store did not fail);
//   - a transport failure (dial refused, connection lost, our timeout or the
//     caller's deadline passed) or a server reply that means "not now"
//     (LOADING, BUSY, CLUSTERDOWN, TRYAGAIN, MASTERDOWN, READONLY):
//     sessionmw.ErrStoreUnavailable;
//   - the save script's SUPERSEDED reply: sessionmw.ErrSuperseded;
//   - an OOM reply (maxmemory reached with a noeviction policy):
//     sessionmw.ErrStoreFull;
//   - anything else (a WRONGTYPE key, a script error, a refused password) is
//     wrapped as it is.
func (s *Store) opError(parent context.Context, op, id string, err error) error {
	return s.classify(parent, s.where(op, id), err)
}

// classify is opError for an operation that where names.
func (s *Store) classify(parent context.Context, where string, err error) error {
	var verr *valkey.ValkeyError
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %w: %w", where, parent.Err(), err)
	case errors.As(err, &verr):
		msg := verr.Error()
		switch {
		case hasAnyPrefix(msg, "LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY"):
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
		case hasAnyPrefix(msg, "SUPERSEDED"):
			return fmt.Errorf("%s: %w", where, sessionmw.ErrSuperseded)
		case hasAnyPrefix(msg, "OOM"):
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreFull, err)
		}
		return fmt.Errorf("%s: %w", where, err)
	case errors.Is(err, valkey.ErrClosing) && s.closed.Load():
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreClosed, err)
	default:
		// Not a reply from the server: the server could not be reached or
		// did not answer in time.
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

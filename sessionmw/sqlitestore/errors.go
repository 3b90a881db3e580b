package sqlitestore

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionmw/go/sessionmw"
)

// where names an operation on a session for an error message: the
// operation, the id's fingerprint (sessionmw.Fingerprint, never the id)
// and the file.
func (s *Store) where(op, id string) string {
	return fmt.Sprintf("sessionmw: sqlitestore: %s session %s in %s", op, sessionmw.Fingerprint(id), s.path)
}

// classify wraps err, returned by SQLite or database/sql during the
// operation that where names, with the sentinel that classifies it:
//
//   - the caller's context was canceled: the context's error only;
//   - the Store was closed: sessionmw.ErrStoreClosed;
//   - the timeout passed (waiting for the write lock, or a slow disk), the
//     file is locked by another process beyond the timeout (SQLITE_BUSY,
//     SQLITE_LOCKED), or the disk failed (SQLITE_IOERR, SQLITE_CANTOPEN):
//     sessionmw.ErrStoreUnavailable;
//   - the disk or file is full (SQLITE_FULL): sessionmw.ErrStoreFull;
//   - anything else (a corrupt file, a read-only one) as it is.
func (s *Store) classify(parent context.Context, where string, err error) error {
	var serr *sqlite.Error
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %w: %w", where, parent.Err(), err)
	case s.closed.Load():
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreClosed, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
	case errors.As(err, &serr):
		switch serr.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreFull, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", where, err)
}

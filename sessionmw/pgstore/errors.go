package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessionmw/go/sessionmw"
)

// where names an operation on a session for an error message: the
// operation, the id's fingerprint (sessionmw.Fingerprint, never the id)
// and the server.
func (s *Store) where(op, id string) string {
	return fmt.Sprintf("sessionmw: pgstore: %s session %s on %s", op, sessionmw.Fingerprint(id), s.addr)
}

// whereSubject names an operation on a subject's sessions: a fingerprint
// of the subject (which may be an e-mail address) and the server.
func (s *Store) whereSubject(subject string) string {
	return fmt.Sprintf("sessionmw: pgstore: list sessions of subject %s on %s", sessionmw.Fingerprint(subject), s.addr)
}

// unavailableStates are the SQLSTATEs (or, ending in "*", classes) that
// mean "not now" rather than "never": the server is starting, stopping,
// out of connections or memory, a standby, or it canceled the statement.
var unavailableStates = []string{
	"08*",   // connection exception
	"53*",   // insufficient resources (too many connections, out of memory); 53100 disk full is ErrStoreFull
	"57P*",  // admin, crash or database shutdown; cannot connect now
	"57014", // query canceled (statement_timeout, pg_cancel_backend)
	"25006", // read-only transaction: a standby, or a primary being demoted
	"55P03", // lock not available (lock_timeout)
	"40P01", // deadlock detected: the server rolled back; trying again may work
}

// classify wraps err, returned by the server or by pgx during the
// operation that where names, with the sentinel that classifies it:
//
//   - the caller's context was canceled: the error wraps the context's
//     error only (the caller gave up; the store did not fail);
//   - the Store was closed: sessionmw.ErrStoreClosed;
//   - a server error of one of unavailableStates, or no answer from the
//     server at all (refused or lost connection, a timeout):
//     sessionmw.ErrStoreUnavailable;
//   - a full disk (53100): sessionmw.ErrStoreFull;
//   - anything else (a missing table, a permission denied, a value that
//     does not scan) is wrapped as it is.
func (s *Store) classify(parent context.Context, where string, err error) error {
	var pgErr *pgconn.PgError
	var scanErr pgx.ScanArgError
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", where, err)
		}
		return fmt.Errorf("%s: %w: %w", where, parent.Err(), err)
	case s.closed.Load():
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreClosed, err)
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "53100":
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreFull, err)
		case matchState(pgErr.Code, unavailableStates):
			return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
		case pgErr.Code == "42P01": // undefined table
			return fmt.Errorf("%s: %w (has Store.Migrate run?)", where, err)
		}
		return fmt.Errorf("%s: %w", where, err)
	case errors.As(err, &scanErr):
		return fmt.Errorf("%s: unexpected reply: %w", where, err)
	default:
		// Not an answer from the server: it could not be reached or did
		// not answer in time.
		return fmt.Errorf("%s: %w: %w", where, sessionmw.ErrStoreUnavailable, err)
	}
}

func matchState(code string, states []string) bool {
	for _, st := range states {
		if prefix, ok := strings.CutSuffix(st, "*"); ok && strings.HasPrefix(code, prefix) || code == st {
			return true
		}
	}
	return false
}

package otelsession

import (
	"context"
	"errors"

	"github.com/sessionmw/go/sessionmw"
)

// Values of the error.type attribute of a failed store call: a class of
// error, never its message, so that a metric has a handful of series.
const (
	ErrorUnavailable = "unavailable" // sessionmw.ErrStoreUnavailable: down, unreachable, timed out
	ErrorFull        = "full"        // sessionmw.ErrStoreFull: the store refused the write
	ErrorClosed      = "closed"      // sessionmw.ErrStoreClosed
	ErrorSuperseded  = "superseded"  // sessionmw.ErrSuperseded: a renewal won the race (routine)
	ErrorNotFound    = "not_found"   // sessionmw.ErrNotFound: a delta on a session that just ended (routine)
	ErrorCanceled    = "canceled"    // context.Canceled: the client went away
	ErrorTimeout     = "timeout"     // context.DeadlineExceeded without ErrStoreUnavailable
	ErrorOther       = "_OTHER"      // anything else (OpenTelemetry's fallback value)
)

// errorType classifies a store error for the error.type attribute. The
// order matters: a store that timed out wraps both ErrStoreUnavailable and
// context.DeadlineExceeded, and is unavailable.
func errorType(err error) string {
	switch {
	case errors.Is(err, sessionmw.ErrStoreUnavailable):
		return ErrorUnavailable
	case errors.Is(err, sessionmw.ErrStoreFull):
		return ErrorFull
	case errors.Is(err, sessionmw.ErrStoreClosed):
		return ErrorClosed
	case errors.Is(err, sessionmw.ErrSuperseded):
		return ErrorSuperseded
	case errors.Is(err, sessionmw.ErrNotFound):
		return ErrorNotFound
	case errors.Is(err, context.Canceled):
		return ErrorCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorTimeout
	}
	return ErrorOther
}

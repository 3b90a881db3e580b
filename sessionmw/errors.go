package sessionmw

import "errors"

// Sentinel errors that callers test with errors.Is. Errors returned by the
// package wrap them with context and a "sessionmw:" prefix.
var (
	// ErrNotFound reports that a store does not hold the session a delta
	// Save was meant for (it expired or was destroyed meanwhile).
	ErrNotFound = errors.New("sessionmw: session not found")

	// ErrStoreUnavailable reports that a store could not be reached or did
	// not answer in time. The default error handler answers 503 for it.
	ErrStoreUnavailable = errors.New("sessionmw: session store unavailable")

	// ErrStoreFull reports that a bounded store refused to keep a session
	// (its cost budget is spent, or its admission policy dropped the write).
	// The default error handler answers 503 for it.
	ErrStoreFull = errors.New("sessionmw: session store refused the write")

	// ErrSuperseded reports a Save on a record that renewal has
	// superseded (its Meta.Successor is set): such a record is frozen
	// until it expires, so that no write or touch can extend it, bring it
	// back, or be lost on it. The middleware then follows the successor.
	ErrSuperseded = errors.New("sessionmw: session superseded by renewal")

	// ErrStoreClosed reports a call on a store after Close.
	ErrStoreClosed = errors.New("sessionmw: session store closed")
)

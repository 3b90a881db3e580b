package sessionmw_test

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// store (MemoryIO's sweeper, ristretto's workers) must stop on Close.
func TestMain(m *testing.M) {
	// Middlewares without WithLogger write warnings to slog.Default; the
	// tests that care set their own.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

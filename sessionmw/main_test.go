package sessionmw_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// store (MemoryIO's sweeper, ristretto's workers) must stop on Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package pgstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// cleaner must stop with Close, and pgx's pool with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

package sqlitestore_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the helper process of TestProcessRestart when asked to,
// and otherwise fails the package's tests if any goroutine outlives them:
// the cleaner must stop with Close.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

package redisstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. The
// one exception is valkey-go's cluster topology refresh, which sleeps up
// to 5 s after a failed refresh and then exits by itself even after the
// client was closed (a library detail, not a leak that grows).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valkey-io/valkey-go.(*clusterClient)._refresh.func2"))
}

package redisstore

import (
	"errors"
	"net"
	"time"

	"github.com/valkey-io/valkey-go"
)

// retryDelay is the RetryDelay of the clients New and NewCluster create
// (valkey.ClientOption.RetryDelay: the pause before valkey-go retries a
// read-only command that failed, or a negative duration for no retry).
//
// valkey-go's default retries until the call's deadline: with the server
// gone, every Load waited out most of its timeout (375-424 ms of 500 ms)
// before the request got its 503, while a Save (never retried) failed at
// once. Here a server that refuses a connection, or cannot be reached, is
// tried once more 20 ms later (the client may first report a dial that
// failed just before the server came back), then the call fails: tens of
// milliseconds, not the timeout. A connection that broke (a server
// restart) is retried twice, 5 and 10 ms later, on a new one. A server
// that answers LOADING is up and will serve soon: it is retried with a
// short backoff until the deadline. A slow or paused server gives no error
// to retry: the call waits for the timeout, as before.
func retryDelay(attempts int, _ valkey.Completed, err error) time.Duration {
	var op *net.OpError
	var verr *valkey.ValkeyError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		// Refused or unreachable: once more, 20 ms later, in case the
		// client reported a dial that failed just before the server came
		// back; then give up.
		if attempts < 2 {
			return 20 * time.Millisecond
		}
		return -1
	case errors.As(err, &verr):
		return min(time.Duration(attempts)*10*time.Millisecond, 100*time.Millisecond)
	case attempts < 3:
		// A broken connection: the client is reconnecting; give it a
		// few milliseconds (a retry at once can find it not ready yet).
		return time.Duration(attempts) * 5 * time.Millisecond
	}
	return -1
}

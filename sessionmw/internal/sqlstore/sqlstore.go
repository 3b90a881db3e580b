// Package sqlstore holds what the SQL stores (pgstore, sqlitestore) share:
// the encoding of a session's metadata and the expired-session cleaner.
package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"time"

	"github.com/sessionmw/go/sessionmw"
)

// EncodeMeta returns m as JSON, which keeps every exported field of
// sessionmw.Meta, those a later version adds included, and the difference
// between nil and empty Groups. JSON text cannot hold invalid UTF-8
// (encoding/json would replace it with the escape \ufffd): such metadata
// is refused with ErrNotText rather than stored altered.
func EncodeMeta(m sessionmw.Meta) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte(`\ufffd`)) { // rare: check it round-trips
		var back sessionmw.Meta
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
			return nil, ErrNotText
		}
	}
	return b, nil
}

// DecodeMeta parses what EncodeMeta stored. Fields it does not know (from
// a later version) are ignored.
func DecodeMeta(b []byte) (sessionmw.Meta, error) {
	var m sessionmw.Meta
	err := json.Unmarshal(b, &m)
	return m, err
}

// ErrNotText reports metadata holding a string that is not valid UTF-8.
var ErrNotText = errors.New("metadata holds a string that is not valid UTF-8")

// Clean calls deleteBatch every interval until ctx is done, and again
// at once while a batch comes back full (batch rows), so that a backlog
// is cleared in bounded steps. A failure is passed to onError (unless ctx
// is done) and retried at the next interval.
func Clean(ctx context.Context, interval time.Duration, batch int, deleteBatch func(context.Context) (int64, error), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := DeleteExpired(ctx, batch, deleteBatch); err != nil && ctx.Err() == nil {
			onError(err)
		}
	}
}

// DeleteExpired runs deleteBatch until a batch deletes fewer than batch
// rows, and returns how many it deleted.
func DeleteExpired(ctx context.Context, batch int, deleteBatch func(context.Context) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := deleteBatch(ctx)
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
}

package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionmw/go/internal/pgtest"
	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/pgstore"
	"github.com/sessionmw/go/sessionmw/storetest"
)

// A long, distinctive id, so that a test can tell whether it leaked into
// an error message.
const secretID = "S3CR3T-5e55i0n-1d-0123456789abcdef0123456789abcdef"

// shared is one server for the tests that do not stop it.
var shared struct {
	once sync.Once
	srv  *pgtest.Server
}

// sharedServer starts the package's shared server on first use. It lives
// until the test binary exits (pgtest ties it to the first test's
// cleanup, so that test runs last among users: see TestMain).
func sharedServer(t *testing.T) *pgtest.Server {
	t.Helper()
	return pgtest.Start(t)
}

func e(k string, v any) sessionmw.Entry { return sessionmw.Entry{Key: k, Value: v} }

// tableCounter gives every store its own table on a shared server.
var tableCounter struct {
	mu sync.Mutex
	n  int
}

func freshTable() string {
	tableCounter.mu.Lock()
	defer tableCounter.mu.Unlock()
	tableCounter.n++
	return fmt.Sprintf("t%d", tableCounter.n)
}

// newStore returns a migrated Store on srv, on a table of its own unless
// opts name one, that the test closes.
func newStore(t testing.TB, srv *pgtest.Server, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	opts = append([]pgstore.Option{pgstore.WithTable(freshTable())}, opts...)
	s, err := pgstore.New(context.Background(), srv.ConnString(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func mustSave(t testing.TB, s sessionmw.Store, id string, u sessionmw.Update, ttl time.Duration) {
	t.Helper()
	if err := s.Save(context.Background(), id, u, ttl); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func mustLoad(t testing.TB, s sessionmw.Store, id string) *sessionmw.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) sessionmw.Store {
		return newStore(t, srv)
	})
}

var _ = strings.Contains

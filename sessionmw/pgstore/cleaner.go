package pgstore

import (
	"context"
	"time"

	"github.com/sessionmw/go/sessionmw/internal/sqlstore"
)

// clean deletes expired sessions every interval until ctx is done.
func (s *Store) clean(ctx context.Context, interval time.Duration) {
	sqlstore.Clean(ctx, interval, s.batch, s.deleteBatch, func(err error) {
		s.logger.Warn("sessionmw: pgstore: deleting expired sessions failed; trying again later",
			"table", s.sql.table, "server", s.addr, "error", err)
	})
}

// deleteExpired deletes expired sessions in bounded batches until one is
// short, and returns how many it deleted.
func (s *Store) deleteExpired(ctx context.Context) (int64, error) {
	return sqlstore.DeleteExpired(ctx, s.batch, s.deleteBatch)
}

// deleteBatch runs one DELETE of at most s.batch expired sessions.
func (s *Store) deleteBatch(ctx context.Context) (int64, error) {
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tag, err := s.pool.Exec(octx, s.sql.clean, s.batch)
	if err != nil {
		return 0, s.classify(ctx, "sessionmw: pgstore: delete expired sessions on "+s.addr, err)
	}
	return tag.RowsAffected(), nil
}

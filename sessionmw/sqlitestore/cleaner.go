package sqlitestore

import (
	"context"
	"time"

	"github.com/sessionmw/go/sessionmw/internal/sqlstore"
)

// clean deletes expired sessions every interval until ctx is done.
func (s *Store) clean(ctx context.Context, interval time.Duration) {
	sqlstore.Clean(ctx, interval, s.batch, s.deleteBatch, func(err error) {
		s.logger.Warn("sessionmw: sqlitestore: deleting expired sessions failed; trying again later",
			"file", s.path, "error", err)
	})
}

// deleteExpired deletes expired sessions in bounded batches until one is
// short, and returns how many it deleted.
func (s *Store) deleteExpired(ctx context.Context) (int64, error) {
	return sqlstore.DeleteExpired(ctx, s.batch, s.deleteBatch)
}

// deleteBatch deletes at most s.batch expired sessions, their values with
// them (ON DELETE CASCADE).
func (s *Store) deleteBatch(ctx context.Context) (int64, error) {
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.stmt.clean.ExecContext(octx, time.Now().UnixNano(), s.batch)
	if err != nil {
		return 0, s.classify(ctx, "sessionmw: sqlitestore: delete expired sessions in "+s.path, err)
	}
	return res.RowsAffected()
}

package pgstore

import (
	"context"
	"time"
)

// clean deletes expired sessions every interval until ctx is done.
func (s *Store) clean(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.deleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("sessionmw: pgstore: deleting expired sessions failed; trying again later",
				"table", s.sql.table, "server", s.addr, "error", err)
		}
	}
}

// deleteExpired deletes expired sessions in batches of at most s.batch,
// each bounded by the timeout, until a batch is short. It returns how
// many it deleted.
func (s *Store) deleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.deleteBatch(ctx)
		total += n
		if err != nil || n < int64(s.batch) {
			return total, err
		}
	}
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
